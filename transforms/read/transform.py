"""Beam composites of the read stage: raw shards (JSONL, WARC/WET/ARC, plain text; gzip, zstd...)
and the `index/` files of earlier runs, through FileSystems.

Everything goes through `apache_beam.io` so `gs://`, `s3://` and local paths behave the same on
every runner. This module opens files, frames records and resynchronises after damage; parsing a
record is in the pure modules beside it (`jsonl`, `text_files`, `warc`, `limits`).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from warcio.archiveiterator import ArchiveIterator

from transforms.config import ReadConfig
from transforms.dedup.index import PriorDoc, prior_from_row
from transforms.failures import internal_error
from transforms.metrics import get_counter_inc_fn
from transforms.read.compressed import (
    ZSTD_MAGIC,
    DamagedFrame,
    TruncatedStream,
    compression_of,
    decompressing_reader,
    zstd_frame_reads,
)
from transforms.read.formats import input_format
from transforms.read.jsonl import parse_jsonl_line
from transforms.read.limits import within_limits
from transforms.read.text_files import parse_text_file
from transforms.read.warc import CONTENT_RECORD_TYPES, arc_headers, iter_lenient_records, record_to_document
from transforms.records import REJECTED_TAG, REJECTED_TEXT_LIMIT, Document, Rejected

__all__ = ["ReadRawShards", "ReadPriorIndex", "FILE_COUNTS_TAG"]

logger = logging.getLogger(__name__)

FILE_COUNTS_TAG = "file_counts"
_READ_CHUNK = 1 << 20


def _iter_lines(handle, max_bytes: int) -> Iterator[tuple[bytes, int]]:
    """(line, its length) of a binary handle, without newlines; the last line may lack one.

    A line longer than `max_bytes` is never held whole: only its first bytes are kept, and its
    length is counted as the rest streams past, so a 50 MB line costs 100 KB of memory.
    """
    pending, oversized = b"", 0  # oversized > 0: inside a too-long line, bytes seen so far
    while chunk := handle.read(_READ_CHUNK):
        pieces = chunk.split(b"\n")
        for piece in pieces[:-1]:
            if oversized:
                yield pending, oversized + len(piece)
            else:
                line = pending + piece if pending else piece
                yield line, len(line)
            pending, oversized = b"", 0
        last = pieces[-1]
        if oversized:
            oversized += len(last)
        elif len(pending) + len(last) > max_bytes:
            oversized = len(pending) + len(last)
            pending = (pending + last)[:REJECTED_TEXT_LIMIT]
        else:
            pending += last
    if oversized or pending:
        yield pending, oversized or len(pending)


class _Framed:
    """How many records the framing of one file delimited (lines, archive records, the whole
    file), counted where each is cut out and before it is parsed: the run's accounting checks that
    as many rows come out, so a record lost anywhere after the framing fails the run."""

    __slots__ = ("count", "last_offset")

    def __init__(self) -> None:
        self.count = 0
        self.last_offset = 0  # of the last archive record read whole, of any type: damage lies after it


class _ReadShardFn(beam.DoFn):
    """Reads the files of a `_SpreadFiles` group; yields Documents, tagged Rejected rows and each
    file's record count.

    The count is the records framed, plus one row for a stream that could not be read to its end
    (`truncated_file`, `read_error`) and one for a file with no record (`empty_file`).
    """

    def __init__(self, config: ReadConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._inc = get_counter_inc_fn()

    def process(self, element: tuple[int, Iterable[str]]) -> Iterator[object]:
        for path in element[1]:
            yield from self._read_file(path)

    def _read_file(self, path: str) -> Iterator[object]:
        fmt = input_format(path)
        framed = _Framed()
        records = 0  # records yielded, each a document or a rejected row
        location = 0  # of the last record: 1-based line, byte offset in an archive, 0 for a whole file
        start: int | None = 0  # byte where reading starts: after damage, the next archive record or zstd frame
        next_line = 1  # of a JSONL file: after damage, lines are numbered on from the damaged part's row
        # warcio undoes the per-record gzip of WARC files itself; other files are decompressed here,
        # by readers that raise at a cut instead of ending quietly (transforms.read.compressed).
        kind = None if fmt == "warc" else compression_of(path)
        while start is not None:
            stopped_at = None
            try:
                with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
                    if start:
                        raw.seek(start)
                    try:
                        handle = decompressing_reader(raw, kind, start)
                        for item_location, item in self._records(handle, path, fmt, framed, next_line):
                            location = item_location
                            records += 1
                            yield self._route(item)
                    except Exception:
                        stopped_at = _tell(raw)
                        raise
                start = None
            except Exception as err:  # noqa: BLE001 - a broken shard must not stop the run
                recovered = self._reread_archive(path) if fmt == "warc" and records == 0 and start == 0 else []
                if recovered:
                    logger.warning(
                        "%s: %s; read again as a whole: %d records", path, str(err).strip().split("\n")[0], len(recovered)
                    )
                    framed.count = len(recovered)  # framed again, by the second reader
                    for item in recovered:
                        records += 1
                        yield self._route(item)
                    break
                framed.count += 1  # the row that stands for the damaged or unread part of the file
                if fmt == "warc":
                    damaged = max(location, start, framed.last_offset) + 1
                    magic = _GZIP_MEMBER if path.lower().endswith(".gz") else _WARC_RECORD
                    start = _next_start(path, damaged, magic, _reads_a_record)
                else:
                    damaged = max(location + 1, next_line)
                    start = (
                        _next_start(path, err.frame_start + 1, ZSTD_MAGIC, _reads_zstd) if isinstance(err, DamagedFrame) else None
                    )
                    next_line = damaged + 1
                lost = f"records after {location} are lost" if start is None else f"reading resumed at byte {start}"
                where = "" if stopped_at is None else f"; stopped at byte {stopped_at} of the file"
                logger.warning("reading %s failed after record %d%s: %s; %s", path, location, where, err, lost)
                reason = "truncated_file" if isinstance(err, TruncatedStream) else "read_error"
                yield self._route(Rejected(path, damaged, reason, None, detail=f"{type(err).__name__}: {err}{where}; {lost}"))
        if framed.count == 0:
            # Nothing to read is worth a row too: an empty shard is often a failed upstream copy.
            framed.count = 1
            yield self._route(Rejected(path, 0, "empty_file", None, detail=f"no {fmt} records in the file"))
        self._inc("files-read")
        yield beam.pvalue.TaggedOutput(FILE_COUNTS_TAG, (path, framed.count))

    def _records(
        self, handle, path: str, fmt: str, framed: _Framed, first_line: int = 1
    ) -> Iterator[tuple[int, Document | Rejected]]:
        """(location, Document or Rejected) for every record of one open file, from where its handle
        is positioned; JSONL lines are numbered from `first_line`."""
        limit = self._config.max_doc_bytes
        if fmt == "jsonl":
            for line, (raw, size) in enumerate(_iter_lines(handle, limit), start=first_line):
                if size > limit or raw.strip():  # a blank line holds no record
                    framed.count += 1
                    yield line, _parsed((path, line), raw, parse_jsonl_line, raw.rstrip(b"\r"), path, line, self._config, size)
        elif fmt == "warc":
            yield from self._archive_records(handle, path, framed)
        else:
            raw, size = _read_at_most(handle, limit)
            framed.count += 1
            yield 0, _parsed((path, 0), raw, parse_text_file, raw, size, path, self._config)

    def _archive_records(self, handle, path: str, framed: _Framed) -> Iterator[tuple[int, Document | Rejected]]:
        limit = self._config.max_doc_bytes
        archive = ArchiveIterator(handle)
        for record in archive:
            if record.rec_type not in CONTENT_RECORD_TYPES:
                record.content_stream().read()  # to its end, so that its offset is known
                framed.last_offset = archive.get_record_offset()
                self._inc("warc-records-skipped")
                continue
            payload = record.content_stream().read(limit + 1)
            # Known once the content is read; warcio counts it from the handle's tell(): the file's offset.
            offset = framed.last_offset = archive.get_record_offset()
            framed.count += 1  # a stream error before here ends the file: no record was framed
            cut = _cut_short(record, payload, limit)
            if cut:
                # The archive ends inside this record (warcio itself ends quietly there).
                detail = f"the archive ends inside the record at offset {offset}: {cut}"
                yield (
                    offset,
                    Rejected(
                        path, offset, "truncated_file", None, id=record.rec_headers.get_header("WARC-Record-ID"), detail=detail
                    ),
                )
                return
            headers = dict(record.rec_headers.headers)
            if record.format == "arc":
                headers = arc_headers(headers)
            content_type = record.http_headers.get_header("Content-Type") if record.http_headers else headers.get("Content-Type")
            yield offset, self._archive_document((path, offset), record.rec_type, headers, content_type, payload)

    def _lenient_records(self, handle, path: str, framed: _Framed) -> Iterator[tuple[int, Document | Rejected]]:
        for offset, kind, headers, payload in iter_lenient_records(iter(handle.readline, b"")):
            if kind in CONTENT_RECORD_TYPES:
                framed.count += 1
                yield offset, self._archive_document((path, offset), kind, headers, headers.get("Content-Type"), payload)

    def _archive_document(self, where: tuple[str, int], kind: str, headers: dict, content_type, payload: bytes):
        doc = _parsed(
            where, payload, record_to_document, kind, headers, content_type, payload, *where, self._config.max_doc_bytes
        )
        return within_limits(doc, self._config) if isinstance(doc, Document) else doc

    def _reread_archive(self, path: str) -> list[Document | Rejected]:
        """An archive the strict reader failed on before its first page, read again as one stream.

        Two kinds of valid archives fail there: one gzip over the whole file instead of one per
        record (warcio cannot seek in it), and WET files whose Content-Length values are wrong
        (cc_net's). The first is read by warcio after decompressing the whole file, the second by
        WARC/1.x lines; offsets are then positions in the decompressed stream. [] when neither
        finds a page, so the strict reader's error stands.
        """
        self._inc("warc-files-reread")
        kind = compression_of(path)
        for reader in (self._archive_records, self._lenient_records):
            try:
                with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
                    # Buffered here: the line reader needs readline, and a cut fails the whole re-read.
                    handle = io.BufferedReader(decompressing_reader(raw, kind)) if kind else raw
                    items = [item for _, item in reader(handle, path, _Framed())]
            except Exception:  # noqa: BLE001 - not readable this way: try the next, or keep the error
                continue
            if items:
                return items
        return []

    def _route(self, item: Document | Rejected) -> object:
        self._inc("input-records")
        if isinstance(item, Rejected):
            self._inc(f"filtered:{item.reason}")
            return beam.pvalue.TaggedOutput(REJECTED_TAG, item)
        self._inc("records-read")
        return item


def _parsed(where: tuple[str, int], raw: bytes, parse, *args) -> Document | Rejected:
    """`parse(*args)`, or the record's `internal_error:read` row: a parser that raises on one record
    must not end the reading of its file."""
    try:
        return parse(*args)
    except Exception as err:  # noqa: BLE001 - the next record is read all the same
        return internal_error("read", where, err, raw[:REJECTED_TEXT_LIMIT].decode("utf-8", "replace"))


_GZIP_MEMBER = b"\x1f\x8b\x08"  # a gzipped WARC compresses each record as its own member
_WARC_RECORD = b"WARC/1."
_RESYNC_TRIES = 1000  # candidate record starts tried after one damaged place


def _next_start(path: str, after: int, magic: bytes, reads: Callable[[object], bool]) -> int | None:
    """The byte offset, at or after `after`, of the next place where `magic` begins a unit that
    `reads(handle)` decodes from a handle positioned there (an archive record, a zstd frame). None: no more."""
    with (
        FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw,
        FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as probe,
    ):
        raw.seek(after)
        position, tail, tries = after, b"", 0
        while chunk := raw.read(_READ_CHUNK):
            data = tail + chunk
            at = data.find(magic)
            while at >= 0:
                tries += 1
                if tries > _RESYNC_TRIES:
                    return None
                candidate = position - len(tail) + at
                probe.seek(candidate)
                if reads(probe):
                    return candidate
                at = data.find(magic, at + 1)
            tail = data[-(len(magic) - 1) :]
            position += len(chunk)
    return None


def _reads_a_record(handle) -> bool:
    try:
        next(iter(ArchiveIterator(handle))).content_stream().read()
    except Exception:  # noqa: BLE001 - not a record start: the caller tries the next one
        return False
    return True


def _reads_zstd(handle) -> bool:
    return zstd_frame_reads(handle.read(_READ_CHUNK))


def _tell(handle) -> int | None:
    try:
        return handle.tell()
    except (OSError, ValueError, AttributeError):
        return None


def _read_at_most(handle, limit: int) -> tuple[bytes, int]:
    """(the file's bytes, its size), keeping only the first 100 KB of a file larger than `limit`."""
    data = handle.read(limit + 1)
    if len(data) <= limit:
        return data, len(data)
    size = len(data)
    data = data[:REJECTED_TEXT_LIMIT]
    while chunk := handle.read(_READ_CHUNK):
        size += len(chunk)
    return data, size


def _cut_short(record, payload: bytes, limit: int) -> str | None:
    """Why a record read from an archive is incomplete, or None when it is whole."""
    if record.length is None:
        return "its headers end before its Content-Length"
    remaining = getattr(record.raw_stream, "limit", 0)
    if len(payload) <= limit and remaining > 0 and not record.raw_stream.read(1):
        return f"{remaining} bytes of its content are missing"
    return None


def _match_files(_: bytes, patterns: list[str]) -> Iterator[tuple[int, str]]:
    """Each file the patterns match, once, keyed by its place in path order."""
    paths = sorted({m.path for result in FileSystems.match(patterns) for m in result.metadata_list})
    yield from enumerate(paths)


class _SpreadFiles(beam.PTransform):
    """File patterns -> (key, [path]) groups, a file a group: matched once, on one worker, then
    shuffled so that the reads spread over the workers.

    Two steps and a shuffle where `Create`, `MatchAll` and `Reshuffle` take seven steps (each step
    costs every run about 5 ms of CPU in the FnApiRunner, to build, translate and run). Impulse +
    FlatMap rather than Create: Beam 2.77's FnApiRunner loses elements of a Create (an SDF read) when
    it runs more than one local worker (bench/fnapi_gbk_repro.py). The driver has checked that each
    pattern matches a file; a file that two patterns match is read once.
    """

    def __init__(self, patterns: list[str]) -> None:
        super().__init__()
        self._patterns = list(patterns)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "Start" >> beam.Impulse()
            | "MatchFiles" >> beam.FlatMap(_match_files, self._patterns)
            | "SpreadFiles" >> beam.GroupByKey()
        )


class ReadRawShards(beam.PTransform):
    """File patterns -> Documents (main output), `rejected` rows and per-file `file_counts`.

    Formats by file name: `.jsonl`/`.json`/`.ndjson` (one JSON object per line, optionally `.gz`
    or `.zst`), `.warc`/`.wet`/`.arc` (optionally `.gz`; conversion records as text, HTML responses
    through a main-content extractor), and anything else as one plain-text document per file.
    """

    def __init__(self, patterns: list[str], config: ReadConfig) -> None:
        super().__init__()
        self._patterns = list(patterns)
        self._config = config

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple:
        return (
            pbegin
            | "Files" >> _SpreadFiles(self._patterns)
            | "ReadShards" >> beam.ParDo(_ReadShardFn(self._config)).with_outputs(REJECTED_TAG, FILE_COUNTS_TAG, main="documents")
        )


class _ReadIndexFileFn(beam.DoFn):
    """The `index/` Parquet files of an earlier run, a `_SpreadFiles` group -> their rows as
    PriorDocs, a record batch at a time."""

    def setup(self) -> None:
        self._inc = get_counter_inc_fn()

    def process(self, element: tuple[int, Iterable[str]]) -> Iterator[PriorDoc]:
        for path in element[1]:
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
                for batch in pq.ParquetFile(handle).iter_batches(batch_size=4096):
                    rows = batch.to_pylist()
                    self._inc("prior-index-rows", len(rows))
                    yield from map(prior_from_row, rows)


class ReadPriorIndex(beam.PTransform):
    """Index files written by earlier runs (paths checked by the driver) -> PriorDocs."""

    def __init__(self, files: list[str]) -> None:
        super().__init__()
        self._files = list(files)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return pbegin | "IndexFiles" >> _SpreadFiles(self._files) | "ReadIndexFiles" >> beam.ParDo(_ReadIndexFileFn())
