"""A plain-text file (any name that is not JSONL or WARC) is one document."""

from __future__ import annotations

from transforms.config import ReadConfig
from transforms.read.limits import binary_content, decode_text, too_large, within_limits
from transforms.records import Document, Rejected

__all__ = ["parse_text_file"]


def parse_text_file(raw: bytes, size: int, source: str, limits: ReadConfig) -> Document | Rejected:
    """A whole plain-text file is one document; its path is its id and its record number is 0.

    `size` is the file's length: a reader keeps only the start of a file over `max_doc_bytes`.
    """
    rejected = too_large(raw, source, 0, limits.max_doc_bytes, size) or binary_content(raw, source, 0)
    if rejected is not None:
        return rejected
    text = decode_text(raw, source, 0)
    if isinstance(text, Rejected):
        return text
    if not text.strip():
        return Rejected(source, 0, "empty_text", text, id=source)
    return within_limits(Document.read_at(source, 0, source, text), limits)
