"""The top of a record: a leading header of `key value` lines as dump tools write them, and the
headline that opens the body."""

from __future__ import annotations

import re

from transforms.metadata import normalise_date
from transforms.records import count_words

__all__ = ["split_header", "headline"]

# `date 2025-03-13 09:15`, `url https://...`, `title: ...` at the very top of a record. A title
# needs its colon (a headline may start with "Title"); a date must parse and a url must look like one.
_HEADER_RE = re.compile(r"(date|published|url)\b[ \t]*[:=]?[ \t]*(\S[^\n]*)|(title)[ \t]*[:=][ \t]*(\S[^\n]*)", re.IGNORECASE)
_URL_RE = re.compile(r"(https?://|www\.)\S+$", re.IGNORECASE)
_HEADER_MAX_LINES = 6
_HEADER_MAX_WORDS = 12
_TITLE_MAX_WORDS = 25


def split_header(text: str) -> tuple[dict[str, str], str]:
    """Leading `key value` lines (date, published, url, title) -> fields, and the text after them."""
    fields: dict[str, str] = {}
    lines = text.split("\n")
    consumed = 0
    for line in lines[:_HEADER_MAX_LINES]:
        match = _HEADER_RE.fullmatch(line)
        if not match or count_words(line) > _HEADER_MAX_WORDS:
            break
        key = (match[1] or match[3]).lower()
        value = (match[2] or match[4]).strip()
        key = "date" if key == "published" else key
        if key in fields:
            break
        if key == "date" and normalise_date(value) is None:
            break
        if key == "url" and not _URL_RE.match(value):
            break
        fields[key] = value
        consumed += 1
    if not consumed:
        return {}, text
    return fields, "\n".join(lines[consumed:]).strip()


def headline(text: str) -> str | None:
    """The first line when it reads as a headline: short, no final full stop, a blank line after it."""
    first, sep, rest = text.partition("\n")
    if sep and rest.startswith("\n") and 1 <= count_words(first) <= _TITLE_MAX_WORDS and not first.endswith("."):
        return first
    return None
