"""Text cleaning: Unicode repair, normalisation, a leading metadata header, boilerplate lines.

Pure functions in the style of C4's `clean_page`: each rule counts what it removes through the
injected `counter_inc_fn`, and a document with nothing left is rejected with a named reason.
Every regex here is linear (no nested quantifiers), so a 10 MB line costs what its length costs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import ftfy

from transforms.config import CleanConfig
from transforms.inputs import normalise_date
from transforms.metrics import CounterIncFn, noop_counter
from transforms.records import Document, Rejected

__all__ = ["CleanRules", "clean_document", "normalise_text", "count_words"]

# C0/C1 controls except tab and newline, plus zero-width characters and the BOM.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]")
_HSPACE_RE = re.compile(r"[^\S\n]+")  # any whitespace but newline
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_HEADER_RE = re.compile(r"(date|published|url|title)\b[ \t]*[:=]?[ \t]*(\S[^\n]*)", re.IGNORECASE)
_HEADER_MAX_LINES = 6

# Lines that are page furniture rather than text; only short lines (see `_BOILERPLATE_MAX_WORDS`)
# are tested, so an article paragraph that mentions cookies is never dropped for it.
_BOILERPLATE_PATTERNS = {
    "cookie": r"\bcookies?\b.*\b(use|uses|using|accept|policy|consent|settings|preferences)\b"
    r"|\b(accept|allow|reject)\b.*\bcookies?\b",
    "read_more": r"^(read|see|view|show|load) (more|full|all|the full)\b|^continue reading\b|^click here\b",
    "newsletter": r"\b(sign up|subscribe)\b.*\b(newsletter|updates|inbox|email)\b|\bnewsletter\b",
    "share": r"^(share|tweet|pin|email|print)( (this|on|via) [\w ]+)?$|^share (this|on)\b",
    "javascript": r"\b(enable|requires?|turn on)\b.*\bjavascript\b|\bjavascript\b.*\b(disabled|enable)\b",
    "copyright": r"^(©|\(c\)|copyright\b).*|\ball rights reserved\b",
    "navigation": r"^(skip to (main )?content|back to top|next article|previous article|advertisement|"
    r"sponsored|log ?in|sign ?in|sign up|subscribe|menu|search|home)$",
}
_BOILERPLATE_MAX_WORDS = 15


@dataclass(frozen=True)
class CleanRules:
    """Compiled rules of one configuration; built once per worker in `DoFn.setup()`."""

    config: CleanConfig
    boilerplate: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    def build(cls, config: CleanConfig) -> CleanRules:
        patterns = tuple((name, re.compile(p, re.IGNORECASE)) for name, p in _BOILERPLATE_PATTERNS.items())
        return cls(config=config, boilerplate=patterns)


def count_words(text: str) -> int:
    return len(text.split())


def normalise_text(text: str, fix_unicode: bool = True) -> str:
    """Unicode repair (ftfy), NFC, no control characters, single spaces, at most one blank line.

    Idempotent: normalising a normalised text returns it unchanged.
    """
    if fix_unicode:
        text = ftfy.fix_text(text, normalization="NFC")
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_RE.sub("", text)
    lines = [_HSPACE_RE.sub(" ", line).strip() for line in text.split("\n")]
    text = _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()
    # Removing characters can create new NFC compositions; one more pass makes it a fixed point.
    return unicodedata.normalize("NFC", text)


def _split_header(text: str) -> tuple[dict[str, str], str]:
    """Leading `key value` lines (date, published, url, title) -> fields, and the text after them."""
    fields: dict[str, str] = {}
    lines = text.split("\n")
    consumed = 0
    for line in lines[:_HEADER_MAX_LINES]:
        match = _HEADER_RE.fullmatch(line)
        if not match:
            break
        key = match[1].lower()
        key = "date" if key == "published" else key
        if key in fields:
            break
        if key == "date" and normalise_date(match[2]) is None:
            break
        fields[key] = match[2].strip()
        consumed += 1
    if not consumed:
        return {}, text
    return fields, "\n".join(lines[consumed:]).strip()


def _drop_boilerplate(text: str, rules: CleanRules, counter_inc_fn: CounterIncFn) -> str:
    kept = []
    for line in text.split("\n"):
        if line and count_words(line) <= _BOILERPLATE_MAX_WORDS:
            reason = next((name for name, pattern in rules.boilerplate if pattern.search(line)), None)
            if reason is not None:
                counter_inc_fn(f"line-filtered:{reason}")
                continue
        kept.append(line)
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(kept)).strip()


def clean_document(doc: Document, rules: CleanRules, counter_inc_fn: CounterIncFn = noop_counter) -> Document | Rejected:
    """Clean one document; returns it updated, or a `Rejected` with the reason it was dropped.

    With `clean.enabled: false` the text passes through unchanged and only `n_words` is set.
    """
    config = rules.config
    if not config.enabled:
        counter_inc_fn("passed")
        return doc.replace(n_words=count_words(doc.text))
    text = normalise_text(doc.text, fix_unicode=config.fix_unicode)
    updates: dict[str, object] = {}
    if config.parse_header:
        header, text = _split_header(text)
        if "date" in header and doc.date is None:
            updates["date"] = normalise_date(header["date"])
        if "url" in header and doc.url is None:
            updates["url"] = header["url"]
        if "title" in header:
            updates["title"] = header["title"]
    if config.boilerplate_lines:
        text = _drop_boilerplate(text, rules, counter_inc_fn)
    n_words = count_words(text)
    if n_words == 0:
        counter_inc_fn("filtered:empty_after_cleaning")
        return Rejected(doc.source, doc.record, "empty_after_cleaning", doc.text, id=doc.id)
    if n_words < config.min_words:
        counter_inc_fn("filtered:too_short")
        return Rejected(doc.source, doc.record, "too_short", doc.text, id=doc.id, detail=f"{n_words} words")
    counter_inc_fn("passed")
    return doc.replace(text=text, n_words=n_words, **updates)
