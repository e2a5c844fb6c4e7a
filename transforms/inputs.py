"""Turn raw input records (JSONL lines, whole text files) into `Document`s or `Rejected` rows.

Pure functions over bytes: the Beam reader in `transforms.io` only opens files and calls these,
so every malformed-input case is tested here without a pipeline.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from transforms.records import Document, Rejected

__all__ = ["COMPRESSION_SUFFIXES", "input_format", "parse_jsonl_line", "parse_text_file", "normalise_date"]

COMPRESSION_SUFFIXES = (".gz", ".zst", ".zstd", ".bz2", ".xz")
_JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
_WARC_SUFFIXES = (".warc", ".wet", ".arc")
_REJECTED_TEXT_LIMIT = 100_000  # characters of a too-large record kept in `rejected/`

_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def input_format(path: str) -> str:
    """`jsonl`, `warc` or `text`, from the file name with its compression suffix removed."""
    name = path.lower()
    for suffix in COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name.endswith(_WARC_SUFFIXES):
        return "warc"
    return "jsonl" if name.endswith(_JSONL_SUFFIXES) else "text"


def normalise_date(value: object) -> str | None:
    """ISO date (YYYY-MM-DD) from an ISO-like date or timestamp string, else None."""
    if not isinstance(value, str):
        return None
    match = _DATE_RE.match(value.strip())
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None


def _decode(raw: bytes, source: str, record: int) -> str | Rejected:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return Rejected(source, record, "invalid_utf8", raw.decode("utf-8", "replace"), detail=str(err))


def _too_large(raw: bytes, source: str, record: int, max_doc_bytes: int, size: int | None = None) -> Rejected | None:
    size = len(raw) if size is None else size
    if size <= max_doc_bytes:
        return None
    prefix = raw[:_REJECTED_TEXT_LIMIT].decode("utf-8", "replace")
    return Rejected(source, record, "too_large", prefix, detail=f"{size} bytes > read.max_doc_bytes={max_doc_bytes}")


def _binary(raw: bytes, source: str, record: int) -> Rejected | None:
    """A NUL byte never occurs in text: the record is binary data (an image, a database page)."""
    if b"\x00" not in raw:
        return None
    offset = raw.index(b"\x00")
    prefix = raw[:_REJECTED_TEXT_LIMIT].replace(b"\x00", b"").decode("utf-8", "replace")
    return Rejected(source, record, "binary_content", prefix, detail=f"NUL byte at offset {offset}")


def parse_jsonl_line(raw: bytes, source: str, record: int, max_doc_bytes: int, size: int | None = None) -> Document | Rejected:
    """One JSONL line -> Document. Fields: `id`, `text`, optional `url`, `date`; the rest is `metadata`.

    Args:
        raw: the line's bytes without its newline.
        source: the file it came from.
        record: 1-based line number, so a rejected row points at the line.
        max_doc_bytes: larger lines are rejected as `too_large` before they are parsed.
        size: the line's full length when `raw` is only its start (a reader that did not keep an
            oversized line whole).
    """
    rejected = _too_large(raw, source, record, max_doc_bytes, size) or _binary(raw, source, record)
    if rejected is not None:
        return rejected
    line = _decode(raw, source, record)
    if isinstance(line, Rejected):
        return line
    try:
        obj = json.loads(line)
    except ValueError as err:
        return Rejected(source, record, "malformed_json", line, detail=str(err))
    if not isinstance(obj, dict):
        return Rejected(source, record, "malformed_json", line, detail=f"expected an object, got {type(obj).__name__}")
    raw_id = obj.pop("id", None)
    doc_id = str(raw_id) if raw_id not in (None, "") else f"{source}#{record}"
    if "text" not in obj:
        return Rejected(source, record, "missing_text", line, id=doc_id)
    text = obj.pop("text")
    if not isinstance(text, str):
        return Rejected(source, record, "bad_text_type", line, id=doc_id, detail=type(text).__name__)
    if not text.strip():
        return Rejected(source, record, "empty_text", text, id=doc_id)
    url = obj.pop("url", None)
    date = normalise_date(obj.get("date"))
    if date is not None:
        obj.pop("date")
    metadata = json.dumps(obj, ensure_ascii=False, sort_keys=True) if obj else None
    return Document.read_at(
        source, record, doc_id, text, url=url if isinstance(url, str) and url else None, date=date, metadata=metadata
    )


def parse_text_file(raw: bytes, size: int, source: str, max_doc_bytes: int) -> Document | Rejected:
    """A whole plain-text file is one document; its path is its id and its record number is 0.

    `size` is the file's length: a reader keeps only the start of a file over `max_doc_bytes`.
    """
    rejected = _too_large(raw, source, 0, max_doc_bytes, size) or _binary(raw, source, 0)
    if rejected is not None:
        return rejected
    text = _decode(raw, source, 0)
    if isinstance(text, Rejected):
        return text
    if not text.strip():
        return Rejected(source, 0, "empty_text", text, id=source)
    return Document.read_at(source, 0, source, text)
