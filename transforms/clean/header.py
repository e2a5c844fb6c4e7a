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


# Lines near a headline that are not one: a byline, a photo caption or credit, a date or time
# line, a reading time. In the common forms of several languages.
_NOT_HEADLINE_RE = re.compile(
    r"^(by|von|par|por|di|door|автор|written by|posted|published|updated|photo|image|picture|foto|bild|video|credit"
    r"|source|file photo|watch|listen)\b"
    r"|\((photo|image|credit|picture|foto|getty|ap|reuters|afp|file)\b[^)]*\)$|\b(getty images|shutterstock|istock)\b"
    r"|\b\d+ min(ute)?s? read\b|^\W*\d{1,4}([./:-]\d{1,4})+\b",
    re.IGNORECASE,
)


def _reads_as_headline(line: str) -> bool:
    words = count_words(line)
    if not 1 <= words <= _TITLE_MAX_WORDS or line.endswith((".", ",", ";")) or _NOT_HEADLINE_RE.search(line):
        return False
    return not (words <= 3 and line.isupper())  # a section label ("WORLD NEWS")


def headline(text: str) -> str | None:
    """The first line when it reads as a headline: at most 25 words, no final full stop, a blank line after
    it, and not a byline, caption, date or section label. Appeals, sign-ups and navigation never get
    here: the line rules removed them from `text`."""
    first, sep, rest = text.partition("\n")
    if sep and rest.startswith("\n") and _reads_as_headline(first):
        return first
    return None
