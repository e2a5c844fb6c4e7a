"""Beam composites of the write stage: Parquet tables (Hive-partitioned or sharded), the last
check of each document row, and the run's `stats.json`.

Everything goes through `apache_beam.io`, so `gs://`, `s3://` and local paths behave the same on
every runner.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

from transforms.config import OutputConfig
from transforms.files import delete_folder
from transforms.guarded import guarded
from transforms.metrics import get_counter_inc_fn
from transforms.records import REJECTED_TAG, Document, document_row
from transforms.write.parquet import ParquetRowWriter, check_row, hive_folder
from transforms.write.stats import document_items, render_stats, stats_items

__all__ = ["ParquetTable", "WriteParquetTables", "WriteParquetRows", "CheckDocumentRows", "ComputeRunStats", "WriteTextFile"]


_count = get_counter_inc_fn()  # rows written, `written:<table>`


def _as_is(row: dict) -> dict:
    return row


def _partitioned(
    record: object, to_row: Callable[[Any], dict], columns: tuple[str, ...], shards: int, counter: str
) -> tuple[tuple[str, int], dict]:
    _count(counter)
    row = to_row(record)
    return (hive_folder(columns, row), row["doc_key"] % shards), row


def _open_writer(path: str, schema: pa.Schema, config: OutputConfig) -> tuple[BinaryIO, ParquetRowWriter]:
    handle = FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED)
    return handle, ParquetRowWriter(handle, schema, config.codec, config.row_group_mb * 1024 * 1024)


def _write_file(path: str, rows: Iterable[dict], schema: pa.Schema, config: OutputConfig) -> str:
    """`rows` as the Parquet file `path` (a file of the schema alone when there are none)."""
    handle, writer = _open_writer(path, schema, config)
    with handle:
        for row in rows:
            writer.write(row)
        writer.close()
    return path


class _WritePartitionFileFn(beam.DoFn):
    """((folder, shard), rows) -> one Parquet file `<root>/<folder>/part-SSSSS-of-NNNNN.parquet`.

    The name depends only on the key, so a retried bundle rewrites the same file.
    """

    def __init__(self, root: str, schema: pa.Schema, config: OutputConfig, shards: int) -> None:
        self._root = root
        self._schema = schema
        self._config = config
        self._shards = shards

    def process(self, element: tuple[tuple[str, int], Iterable[dict]]) -> Iterator[str]:
        (folder, shard), rows = element
        yield _write_file(
            f"{self._root}/{folder}/part-{shard:05d}-of-{self._shards:05d}.parquet", rows, self._schema, self._config
        )


class _WriteBundleFileFn(beam.DoFn):
    """Records -> their rows in one temporary Parquet file per bundle that has rows, whose path comes
    out, keyed by its table for `_PublishFilesFn`, when the bundle ends. Each attempt writes a new
    file: only the paths of committed bundles reach `_PublishFilesFn`, so a retried bundle's rows are
    published once."""

    def __init__(self, name: str, table: ParquetTable, temp_folder: str, config: OutputConfig) -> None:
        self._name = name
        self._to_row = table.to_row
        self._temp_folder = temp_folder
        self._schema = table.schema
        self._config = config
        self._counter = _counter_name(table)

    def start_bundle(self) -> None:
        self._path = ""
        self._handle: BinaryIO | None = None
        self._writer: ParquetRowWriter | None = None

    def process(self, record: object) -> None:
        if self._writer is None:
            self._path = f"{self._temp_folder}/{uuid.uuid4().hex}.parquet"
            self._handle, self._writer = _open_writer(self._path, self._schema, self._config)
        self._writer.write(self._to_row(record))
        _count(self._counter)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        if self._writer is not None:
            with self._handle:
                self._writer.close()
            yield GlobalWindows.windowed_value((self._name, self._path))


class _WriteShardFileFn(beam.DoFn):
    """(shard, rows) -> the rows as one temporary Parquet file, its path (keyed as above)."""

    def __init__(self, name: str, table: ParquetTable, temp_folder: str, config: OutputConfig) -> None:
        self._name = name
        self._schema = table.schema
        self._temp_folder = temp_folder
        self._config = config

    def process(self, element: tuple[int, Iterable[dict]]) -> Iterator[tuple[str, str]]:
        path = _write_file(f"{self._temp_folder}/{uuid.uuid4().hex}.parquet", element[1], self._schema, self._config)
        yield self._name, path


class _RoundRobinFn(beam.DoFn):
    """Record -> (shard, its row), the shards taken in turn from a random one per bundle (as Beam's
    own sharded writes do), each row counted."""

    def __init__(self, table: ParquetTable, shards: int) -> None:
        self._to_row = table.to_row
        self._shards = shards
        self._counter = _counter_name(table)

    def start_bundle(self) -> None:
        self._next = random.randrange(self._shards)

    def process(self, record: object) -> Iterator[tuple[int, dict]]:
        _count(self._counter)
        self._next = (self._next + 1) % self._shards
        yield self._next, self._to_row(record)


@dataclass(frozen=True)
class ParquetTable:
    """One table of `WriteParquetTables`: its folder, its schema, whether its files go to the
    Hive-style folders of `output.partition_by`, and the function that makes each of its records a
    row (applied by the writing step itself, not by a step of its own before it)."""

    folder: str
    schema: pa.Schema
    partitioned: bool = False
    to_row: Callable[[Any], dict] = _as_is


class _PublishFilesFn(beam.DoFn):
    """(table, its temporary paths and one "") -> the table's files: the temporary files renamed
    `part-SSSSS-of-NNNNN.parquet` in the order of their names, files of the schema alone up to
    `num_shards` (so a table without rows still has its schema), the temporary folder removed.
    A retried publish finds the files it renamed already in place."""

    def __init__(self, tables: dict[str, tuple[ParquetTable, str]], config: OutputConfig) -> None:
        self._tables = tables  # name -> (table, its temporary folder)
        self._config = config

    def process(self, element: tuple[str, Iterable[str]]) -> Iterator[str]:
        name, paths = element
        table, temp_folder = self._tables[name]
        folder = table.folder
        temporary = sorted(path for path in paths if path)
        shards = max(len(temporary), self._config.num_shards, 1)
        finals = [f"{folder}/part-{i:05d}-of-{shards:05d}.parquet" for i in range(shards)]
        moves = [(src, dst) for src, dst in zip(temporary, finals) if FileSystems.exists(src)]
        if moves:
            FileSystems.rename([src for src, _ in moves], [dst for _, dst in moves])
        for path in finals[len(temporary) :]:
            _write_file(path, (), table.schema, self._config)
        delete_folder(temp_folder)  # with the files of failed attempts
        yield from finals


def _no_paths(_: bytes, tables: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    for name in tables:
        yield name, ""


class _WriteTemporaryFiles(beam.PTransform):
    """A table's records -> (table, path) of each temporary file their rows were written to: a file
    per bundle, or `num_shards` files (the rows then shuffled to them)."""

    def __init__(self, name: str, table: ParquetTable, temp_folder: str, config: OutputConfig) -> None:
        super().__init__()
        self._name = name
        self._table = table
        self._temp_folder = temp_folder
        self._config = config

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        shards = self._config.num_shards
        if shards:
            return (
                records
                | "KeyByShard" >> beam.ParDo(_RoundRobinFn(self._table, shards))
                | "GroupShards" >> beam.GroupByKey()
                | "WriteShardFiles" >> beam.ParDo(_WriteShardFileFn(self._name, self._table, self._temp_folder, self._config))
            )
        return records | "WriteBundleFiles" >> beam.ParDo(
            _WriteBundleFileFn(self._name, self._table, self._temp_folder, self._config)
        )


class _WritePartitionFiles(beam.PTransform):
    """A table's records -> their rows' files in the Hive-style folders of `output.partition_by`:
    `num_shards` files (1 when 0) a partition, split by `doc_key`, each named by its key alone."""

    def __init__(self, table: ParquetTable, config: OutputConfig) -> None:
        super().__init__()
        self._table = table
        self._config = config

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        columns, shards = self._config.partition_columns, self._config.num_shards or 1
        # the partition columns are in the folder names, not in the files
        schema = pa.schema([f for f in self._table.schema if f.name not in columns], metadata=self._table.schema.metadata)
        return (
            records
            | "KeyByPartition" >> beam.Map(_partitioned, self._table.to_row, columns, shards, _counter_name(self._table))
            | "GroupPartitions" >> beam.GroupByKey()
            | "WritePartitionFiles" >> beam.ParDo(_WritePartitionFileFn(self._table.folder, schema, self._config, shards))
        )


def _counter_name(table: ParquetTable) -> str:
    return f"written:{table.folder.rsplit('/', 1)[-1]}"


class WriteParquetTables(beam.PTransform):
    """{name: records} -> the paths of the tables' files, each table under its folder as
    `part-SSSSS-of-NNNNN.parquet` with the configured codec, each record made a row (a dict matching
    the table's schema) by the table's `to_row`: dicts as they are by default.

    Each bundle writes its rows to a temporary file, and one step renames the committed ones into
    place at the end, or `num_shards` files when that is set. That step publishes every table at
    once: one shuffle and one stage for all tables rather than one of each a table (with three
    tables, a 100-document run spends 0.04 s less CPU, and a Spark run is two jobs, not four).
    A table with `partitioned` goes to Hive-style folders of `output.partition_by`
    (`<folder>/lang=en/part-...`), its files named by their keys, so it needs no renaming; the
    partition columns are then in the folder names, not in the files, as Hive, Spark, DuckDB and
    pyarrow datasets expect. Rows are counted as `written:<folder name>`.

    Beam's `WriteToParquet` does the same for one table with nine steps and four more stages.
    """

    def __init__(self, tables: dict[str, ParquetTable], config: OutputConfig) -> None:
        super().__init__()
        self._tables = {name: replace(table, folder=table.folder.rstrip("/")) for name, table in tables.items()}
        self._config = config

    def expand(self, records: dict[str, beam.PCollection]) -> beam.PCollection:
        files, temporary, to_publish = [], [], {}
        for name, table in self._tables.items():
            if table.partitioned and self._config.partition_columns:
                files.append(records[name] | f"Write{name}" >> _WritePartitionFiles(table, self._config))
                continue
            temp_folder = f"{table.folder}/_temporary-{uuid.uuid4().hex}"
            to_publish[name] = (table, temp_folder)
            temporary.append(records[name] | f"Write{name}" >> _WriteTemporaryFiles(name, table, temp_folder, self._config))
        if to_publish:
            pipeline = next(iter(records.values())).pipeline
            always = pipeline | "Start" >> beam.Impulse() | "NoPaths" >> beam.FlatMap(_no_paths, tuple(to_publish))
            files.append(
                (*temporary, always)
                | "AllPaths" >> beam.Flatten()
                | "GroupPaths" >> beam.GroupByKey()
                | "Publish" >> beam.ParDo(_PublishFilesFn(to_publish, self._config))
            )
        return files[0] if len(files) == 1 else tuple(files) | "AllFiles" >> beam.Flatten()


class WriteParquetRows(beam.PTransform):
    """Rows -> one Parquet table in `folder`: `WriteParquetTables` of that table alone."""

    def __init__(self, folder: str, schema: pa.Schema, config: OutputConfig, partitioned: bool = False) -> None:
        super().__init__()
        self._table = ParquetTable(folder, schema, partitioned)
        self._config = config

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        return {"Rows": rows} | "WriteTable" >> WriteParquetTables({"Rows": self._table}, self._config)


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
    """Records of every kind (`stats_items`) -> the text of `stats.json`. Each bundle sums their
    ((kind, name), count) items into one dict before the shuffle, so the stage shuffles a dict per
    bundle, not a pair per record."""

    def create_accumulator(self) -> dict[tuple[str, str], int]:
        return {}

    def add_input(self, sums: dict[tuple[str, str], int], record: object) -> dict:
        for key, count in stats_items(record):
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
    needs no default value (whose side-input stages would cost every run's start-up). File counts,
    rejected rows and clusters go to the combine as they are, told apart by type, rather than through
    a step each that turns them into items (a step costs every run about 5 ms of CPU in the
    FnApiRunner); the documents give their items where they are, since the FnApiRunner writes every
    input of a Flatten to a buffer, and a document costs 7 us to encode and decode there.
    """

    def expand(self, pcolls: dict[str, beam.PCollection]) -> beam.PCollection:
        records = (
            pcolls["file_counts"],
            pcolls["documents"] | "DocumentItems" >> beam.FlatMap(document_items),
            pcolls["rejected"],
            pcolls["clusters"],
        )
        return records | "AllRecords" >> beam.Flatten() | "Sum" >> beam.CombineGlobally(_StatsFn()).without_defaults()


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
