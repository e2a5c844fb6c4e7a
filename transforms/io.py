"""Beam IO composites: read raw shards through FileSystems, write the Parquet outputs.

Everything goes through `apache_beam.io` so `gs://`, `s3://` and local paths behave the same on
every runner; the per-record parsing is in `transforms.inputs`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.parquetio import WriteToParquet

from transforms.config import OutputConfig, ReadConfig
from transforms.inputs import input_format, parse_jsonl_line, parse_text_file
from transforms.metrics import get_counter_inc_fn
from transforms.records import Document, Rejected

__all__ = ["ReadRawShards", "WriteParquetRows", "REJECTED_TAG", "FILE_COUNTS_TAG"]

logger = logging.getLogger(__name__)

REJECTED_TAG = "rejected"
FILE_COUNTS_TAG = "file_counts"
_READ_CHUNK = 1 << 20


def _iter_lines(handle) -> Iterator[bytes]:
    """Lines of a binary handle without their newline; the last line may lack one."""
    pending = b""
    while True:
        chunk = handle.read(_READ_CHUNK)
        if not chunk:
            break
        pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()
        yield from lines
    if pending:
        yield pending


class _ReadShardFn(beam.DoFn):
    """Reads one matched file; yields Documents, tagged Rejected rows and the file's record count."""

    def __init__(self, config: ReadConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._inc = get_counter_inc_fn()

    def process(self, metadata: fileio.FileMetadata) -> Iterator[object]:
        path = metadata.path
        records = 0  # records yielded, each a document or a rejected row
        line = 0  # location of the current record: 1-based line number, 0 for a whole file
        try:
            with FileSystems.open(path, compression_type=CompressionTypes.AUTO) as handle:
                if input_format(path) == "jsonl":
                    for line, raw in enumerate(_iter_lines(handle), start=1):
                        if not raw.strip():
                            continue  # a blank line holds no record
                        records += 1
                        yield self._route(parse_jsonl_line(raw.rstrip(b"\r"), path, line, self._config.max_doc_bytes))
                else:
                    raw = handle.read()
                    records += 1
                    yield self._route(parse_text_file(raw, path, self._config.max_doc_bytes))
        except Exception as err:  # noqa: BLE001 - a broken shard must not stop the run
            records += 1
            logger.warning("reading %s stopped after line %d: %s", path, line, err)
            error = Rejected(path, line + 1, "read_error", None, detail=f"{type(err).__name__}: {err}")
            yield self._route(error)
        self._inc("files-read")
        yield beam.pvalue.TaggedOutput(FILE_COUNTS_TAG, (path, records))

    def _route(self, item: Document | Rejected) -> object:
        if isinstance(item, Rejected):
            self._inc(f"filtered:{item.reason}")
            return beam.pvalue.TaggedOutput(REJECTED_TAG, item)
        self._inc("records-read")
        return item


class ReadRawShards(beam.PTransform):
    """File patterns -> Documents (main output), `rejected` rows and per-file `file_counts`.

    Formats by file name: `.jsonl`/`.json`/`.ndjson` (one JSON object per line, optionally `.gz`
    or `.zst`) and anything else as one plain-text document per file.
    """

    def __init__(self, patterns: list[str], config: ReadConfig) -> None:
        super().__init__()
        self._patterns = list(patterns)
        self._config = config

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple:
        return (
            pbegin
            | "InputPatterns" >> beam.Create(self._patterns)
            | "MatchFiles" >> fileio.MatchAll()
            # One element per file: spread files over workers before the expensive read.
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadShards" >> beam.ParDo(_ReadShardFn(self._config)).with_outputs(REJECTED_TAG, FILE_COUNTS_TAG, main="documents")
        )


class WriteParquetRows(beam.PTransform):
    """Rows (dicts matching `schema`) -> `<prefix>-SSSSS-of-NNNNN.parquet` with the configured codec."""

    def __init__(self, file_path_prefix: str, schema, config: OutputConfig) -> None:
        super().__init__()
        self._prefix = file_path_prefix
        self._schema = schema
        self._config = config

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        return rows | "WriteParquet" >> WriteToParquet(
            self._prefix,
            self._schema,
            codec=self._config.codec,
            row_group_buffer_size=self._config.row_group_mb * 1024 * 1024,
            file_name_suffix=".parquet",
            num_shards=self._config.num_shards,
        )
