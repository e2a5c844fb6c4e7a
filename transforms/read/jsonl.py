"""A JSONL line -> a `Document` or a `Rejected` row naming what is wrong with it. Pure functions over
bytes: the Beam reader (`transforms.read.transform`) only opens files and calls these, so every
malformed-input case is tested here without a pipeline.
"""

from __future__ import annotations

import json
import re

from transforms.config import ReadConfig
from transforms.metadata import normalise_date
from transforms.read.limits import binary_content, decode_text, too_large, within_limits
from transforms.records import Document, Rejected, without_surrogates

__all__ = ["json_depth_over", "parse_jsonl_line"]

_JSON_SPECIAL = re.compile(r'[\[\]{}"\\]')
_BOM = b"\xef\xbb\xbf"


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
    rejected = too_large(raw, source, record, limits.max_doc_bytes, size) or binary_content(raw, source, record)
    if rejected is not None:
        return rejected
    line = decode_text(raw, source, record)
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
