"""Beam composites of the write stage: Parquet tables (Hive-partitioned or sharded), the last
check of each document row, and the run's `stats.json`.

Everything goes through `apache_beam.io`, so `gs://`, `s3://` and local paths behave the same on
every runner.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.parquetio import WriteToParquet

from transforms.config import OutputConfig
from transforms.guarded import guarded
from transforms.metrics import get_counter_inc_fn
from transforms.records import REJECTED_TAG, Document, document_row
from transforms.write.parquet import check_row, hive_folder, row_groups
from transforms.write.stats import cluster_items, document_items, file_items, rejected_items, render_stats

__all__ = ["WriteParquetRows", "CheckDocumentRows", "ComputeRunStats", "WriteTextFile"]


def _partitioned(row: dict, columns: tuple[str, ...], shards: int) -> tuple[tuple[str, int], dict]:
    return (hive_folder(columns, row), row["doc_key"] % shards), row


class _WritePartitionFileFn(beam.DoFn):
    """((folder, shard), rows) -> one Parquet file `<root>/<folder>/part-SSSSS-of-NNNNN.parquet`.

    The name depends only on the key, so a retried bundle rewrites the same file; rows are written
    in row groups of about `row_group_mb` (estimated from Arrow buffer sizes), never all in memory.
    """

    def __init__(self, root: str, schema: pa.Schema, config: OutputConfig, shards: int) -> None:
        self._root = root.rstrip("/")
        self._schema = schema
        self._config = config
        self._shards = shards

    def process(self, element: tuple[tuple[str, int], Iterable[dict]]) -> Iterator[str]:
        (folder, shard), rows = element
        path = f"{self._root}/{folder}/part-{shard:05d}-of-{self._shards:05d}.parquet"
        limit = self._config.row_group_mb * 1024 * 1024
        with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            with pq.ParquetWriter(handle, self._schema, compression=self._config.codec) as writer:
                for group in row_groups(rows, self._schema, limit):
                    writer.write_table(group, row_group_size=group.num_rows)
        yield path


class WriteParquetRows(beam.PTransform):
    """Rows (dicts matching `schema`) -> `<folder>/part-SSSSS-of-NNNNN.parquet` with the configured codec.

    With `partitioned`, files go to Hive-style folders of `output.partition_by`
    (`<folder>/lang=en/part-...`); the partition columns are then in the folder names, not in the
    files, as Hive, Spark, DuckDB and pyarrow datasets expect. Each partition is written as
    `num_shards` files (1 when 0), split by `doc_key`. Rows are counted as `written:<folder name>`.
    """

    def __init__(self, folder: str, schema: pa.Schema, config: OutputConfig, partitioned: bool = False) -> None:
        super().__init__()
        self._folder = folder.rstrip("/")
        self._schema = schema
        self._config = config
        self._partition_by = config.partition_columns if partitioned else ()

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        counted = rows | "Count" >> beam.Map(_counted, f"written:{self._folder.rsplit('/', 1)[-1]}")
        if not self._partition_by:
            return counted | "WriteParquet" >> WriteToParquet(
                f"{self._folder}/part",
                self._schema,
                codec=self._config.codec,
                row_group_buffer_size=self._config.row_group_mb * 1024 * 1024,
                file_name_suffix=".parquet",
                num_shards=self._config.num_shards,
            )
        shards = self._config.num_shards or 1
        schema = pa.schema([f for f in self._schema if f.name not in self._partition_by], metadata=self._schema.metadata)
        return (
            counted
            | "KeyByPartition" >> beam.Map(_partitioned, self._partition_by, shards)
            | "GroupPartitions" >> beam.GroupByKey()
            | "WritePartitionFiles" >> beam.ParDo(_WritePartitionFileFn(self._folder, schema, self._config, shards))
        )


_count = get_counter_inc_fn()


def _counted(row: dict, name: str) -> dict:
    _count(name)
    return row


class _CheckRowFn(beam.DoFn):
    @guarded("row")
    def process(self, doc: Document) -> Iterator[Document]:
        check_row(document_row(doc))
        yield doc


class CheckDocumentRows(beam.PTransform):
    """Finished Documents -> those whose row builds (main) and `rejected` rows for the others."""

    def expand(self, documents: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return documents | "CheckRow" >> beam.ParDo(_CheckRowFn()).with_outputs(REJECTED_TAG, main="documents")


class _StatsFn(beam.CombineFn):
    """((kind, name), count) pairs -> the text of `stats.json`. Each bundle sums its pairs into one
    dict before the shuffle, so the stage shuffles a dict per bundle, not a pair per record."""

    def create_accumulator(self) -> dict[tuple[str, str], int]:
        return {}

    def add_input(self, sums: dict[tuple[str, str], int], item: tuple[tuple[str, str], int]) -> dict:
        key, count = item
        sums[key] = sums.get(key, 0) + count
        return sums

    def merge_accumulators(self, accumulators: Iterable[dict[tuple[str, str], int]]) -> dict:
        merged: dict[tuple[str, str], int] = {}
        for sums in accumulators:
            for key, count in sums.items():
                merged[key] = merged.get(key, 0) + count
        return merged

    def extract_output(self, sums: dict[tuple[str, str], int]) -> str:
        return render_stats(list(sums.items()))  # build_stats orders what it outputs


class ComputeRunStats(beam.PTransform):
    """{file_counts, documents, rejected, clusters} -> one JSON string (the run's `stats.json`).

    Every input file yields a count (an empty one too), so the input is never empty and the combine
    needs no default value (whose side-input stages would cost every run's start-up).
    """

    def expand(self, pcolls: dict[str, beam.PCollection]) -> beam.PCollection:
        items = (
            pcolls["file_counts"] | "FileItems" >> beam.FlatMap(file_items),
            pcolls["documents"] | "DocumentItems" >> beam.FlatMap(document_items),
            pcolls["rejected"] | "RejectedItems" >> beam.FlatMap(rejected_items),
            pcolls["clusters"] | "ClusterItems" >> beam.FlatMap(cluster_items),
        )
        return items | "AllItems" >> beam.Flatten() | "Sum" >> beam.CombineGlobally(_StatsFn()).without_defaults()


class _WriteTextFileFn(beam.DoFn):
    def __init__(self, path: str) -> None:
        self._path = path

    def process(self, text: str) -> Iterator[str]:
        with FileSystems.create(self._path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            handle.write(text.encode("utf-8") + b"\n")
        yield self._path


class WriteTextFile(beam.PTransform):
    """A PCollection of one string -> the file `path` holding it, through Beam's FileSystems.

    For the run's one small file (`stats.json`) instead of `WriteToText`, whose temporary-file
    protocol is eleven transforms and three stages: the run already writes into a staging folder
    that the driver publishes only after checking it, and a retried bundle rewrites the same file.
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def expand(self, text: beam.PCollection) -> beam.PCollection:
        return text | "Write" >> beam.ParDo(_WriteTextFileFn(self._path))
