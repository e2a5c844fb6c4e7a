"""Turn raw input records (JSONL lines, whole text files) into `Document`s or `Rejected` rows.

Pure functions over bytes: the Beam reader in `transforms.io` only opens files and calls these,
so every malformed-input case is tested here without a pipeline.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from transforms.config import ReadConfig
from transforms.records import REJECTED_TEXT_LIMIT, Document, Rejected, without_surrogates

__all__ = [
    "COMPRESSION_SUFFIXES",
    "input_format",
    "json_depth_over",
    "parse_jsonl_line",
    "parse_text_file",
    "normalise_date",
    "within_limits",
]

COMPRESSION_SUFFIXES = (".gz", ".zst", ".zstd", ".bz2", ".xz")
_JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
_WARC_SUFFIXES = (".warc", ".wet", ".arc")

_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_JSON_SPECIAL = re.compile(r'[\[\]{}"\\]')
_BOM = b"\xef\xbb\xbf"


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
    prefix = raw[:REJECTED_TEXT_LIMIT].decode("utf-8", "replace")
    return Rejected(source, record, "too_large", prefix, detail=f"{size} bytes > read.max_doc_bytes={max_doc_bytes}")


def _binary(raw: bytes, source: str, record: int) -> Rejected | None:
    """A NUL byte never occurs in text: the record is binary data (an image, a database page)."""
    if b"\x00" not in raw:
        return None
    offset = raw.index(b"\x00")
    prefix = raw[:REJECTED_TEXT_LIMIT].replace(b"\x00", b"").decode("utf-8", "replace")
    return Rejected(source, record, "binary_content", prefix, detail=f"NUL byte at offset {offset}")


def json_depth_over(line: str, limit: int) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit`, in one linear scan (brackets
    inside strings do not count). Python's parser recurses once per level: a line 10,000 levels
    deep raised RecursionError, which ended the reading of its file."""
    if line.count("[") + line.count("{") <= limit:
        return False
    depth, in_string, escaped = 0, False, -1
    for match in _JSON_SPECIAL.finditer(line):
        at, char = match.start(), match.group()
        if at == escaped:
            continue
        if in_string:
            if char == "\\":
                escaped = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def within_limits(doc: Document, limits: ReadConfig) -> Document | Rejected:
    """The document, or a rejected row naming the first of `limits` its text goes over.

    Each check is linear and costs nothing on a text shorter than its limit.
    """
    text = doc.text
    problem = None
    if len(text) > limits.max_lines and (lines := text.count("\n") + 1) > limits.max_lines:
        problem = "too_many_lines", f"{lines} lines > read.max_lines={limits.max_lines}"
    elif len(text) > limits.max_line_chars and (longest := max(map(len, text.split("\n")))) > limits.max_line_chars:
        problem = "too_long_line", f"a line of {longest} characters > read.max_line_chars={limits.max_line_chars}"
    elif len(text) > limits.max_word_chars and (longest := max(map(len, text.split()), default=0)) > limits.max_word_chars:
        problem = "too_long_word", f"a word of {longest} characters > read.max_word_chars={limits.max_word_chars}"
    if problem is None:
        return doc
    return Rejected(doc.source, doc.record, problem[0], text[:REJECTED_TEXT_LIMIT], id=doc.id, detail=problem[1])


def parse_jsonl_line(raw: bytes, source: str, record: int, limits: ReadConfig, size: int | None = None) -> Document | Rejected:
    """One JSONL line -> Document. Fields: `id`, `text`, optional `url`, `date`; the rest is `metadata`.

    Args:
        raw: the line's bytes without its newline.
        source: the file it came from.
        record: 1-based line number, so a rejected row points at the line.
        limits: a line over `max_doc_bytes` is rejected as `too_large` and one nested deeper than
            `max_json_depth` as `too_deep_json`, both before they are parsed; then `within_limits`.
        size: the line's full length when `raw` is only its start (a reader that did not keep an
            oversized line whole).

    JSON may escape a lone surrogate (`"\\ud800"`), which no UTF-8 writer or model accepts: in every
    string field it becomes U+FFFD. A byte-order mark before the line is ignored.
    """
    raw = raw.removeprefix(_BOM)
    rejected = _too_large(raw, source, record, limits.max_doc_bytes, size) or _binary(raw, source, record)
    if rejected is not None:
        return rejected
    line = _decode(raw, source, record)
    if isinstance(line, Rejected):
        return line
    if json_depth_over(line, limits.max_json_depth):
        return Rejected(
            source, record, "too_deep_json", line, detail=f"nested deeper than read.max_json_depth={limits.max_json_depth}"
        )
    try:
        obj = json.loads(line)
    except ValueError as err:
        return Rejected(source, record, "malformed_json", line, detail=str(err))
    except RecursionError:  # only with read.max_json_depth above Python's recursion limit
        return Rejected(source, record, "too_deep_json", line, detail="nested deeper than Python's parser recurses")
    if not isinstance(obj, dict):
        return Rejected(source, record, "malformed_json", line, detail=f"expected an object, got {type(obj).__name__}")
    raw_id = obj.pop("id", None)
    doc_id = without_surrogates(str(raw_id)) if raw_id not in (None, "") else f"{source}#{record}"
    if "text" not in obj:
        return Rejected(source, record, "missing_text", line, id=doc_id)
    text = obj.pop("text")
    if not isinstance(text, str):
        return Rejected(source, record, "bad_text_type", line, id=doc_id, detail=type(text).__name__)
    text = without_surrogates(text)
    if not text.strip():
        return Rejected(source, record, "empty_text", text, id=doc_id)
    url = obj.pop("url", None)
    date = normalise_date(obj.get("date"))
    if date is not None:
        obj.pop("date")
    metadata = without_surrogates(json.dumps(obj, ensure_ascii=False, sort_keys=True)) if obj else None
    doc = Document.read_at(
        source,
        record,
        doc_id,
        text,
        url=without_surrogates(url) if isinstance(url, str) and url else None,
        date=date,
        metadata=metadata,
    )
    return within_limits(doc, limits)


def parse_text_file(raw: bytes, size: int, source: str, limits: ReadConfig) -> Document | Rejected:
    """A whole plain-text file is one document; its path is its id and its record number is 0.

    `size` is the file's length: a reader keeps only the start of a file over `max_doc_bytes`.
    """
    rejected = _too_large(raw, source, 0, limits.max_doc_bytes, size) or _binary(raw, source, 0)
    if rejected is not None:
        return rejected
    text = _decode(raw, source, 0)
    if isinstance(text, Rejected):
        return text
    if not text.strip():
        return Rejected(source, 0, "empty_text", text, id=source)
    return within_limits(Document.read_at(source, 0, source, text), limits)
