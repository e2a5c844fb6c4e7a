"""What every input format checks on a raw record, before and after parsing it: its size, a NUL
byte (binary data), UTF-8, and the line and word lengths of `read` limits. Each check is a named
`Rejected` row, never an exception."""

from __future__ import annotations

from transforms.config import ReadConfig
from transforms.records import REJECTED_TEXT_LIMIT, Document, Rejected

__all__ = ["decode_text", "too_large", "binary_content", "within_limits"]


def decode_text(raw: bytes, source: str, record: int) -> str | Rejected:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return Rejected(source, record, "invalid_utf8", raw.decode("utf-8", "replace"), detail=str(err))


def too_large(raw: bytes, source: str, record: int, max_doc_bytes: int, size: int | None = None) -> Rejected | None:
    size = len(raw) if size is None else size
    if size <= max_doc_bytes:
        return None
    prefix = raw[:REJECTED_TEXT_LIMIT].decode("utf-8", "replace")
    return Rejected(source, record, "too_large", prefix, detail=f"{size} bytes > read.max_doc_bytes={max_doc_bytes}")


def binary_content(raw: bytes, source: str, record: int) -> Rejected | None:
    """A NUL byte never occurs in text: the record is binary data (an image, a database page)."""
    if b"\x00" not in raw:
        return None
    offset = raw.index(b"\x00")
    prefix = raw[:REJECTED_TEXT_LIMIT].replace(b"\x00", b"").decode("utf-8", "replace")
    return Rejected(source, record, "binary_content", prefix, detail=f"NUL byte at offset {offset}")


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
