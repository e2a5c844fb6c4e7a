"""Text cleaning: Unicode repair, normalisation, a leading metadata header, boilerplate lines, and
the article body (the main block of prose lines, ending at a comment section).

Pure functions in the style of C4's `clean_page`: each rule counts what it removes through the
injected `counter_inc_fn`, and a document with nothing left is rejected with a named reason.
Every regex here is linear (no nested quantifiers), so a 10 MB line costs what its length costs.
Cleaning is idempotent: cleaning a cleaned text changes nothing (a property test checks it).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import ftfy
from ftfy.badness import is_bad

from transforms.config import CleanConfig
from transforms.inputs import normalise_date
from transforms.metadata import date_from_text, date_from_url, site_of
from transforms.metrics import CounterIncFn, noop_counter
from transforms.records import Document, Rejected

__all__ = [
    "CleanRules",
    "prepare_document",
    "clean_body",
    "clean_document",
    "normalise_text",
    "count_words",
    "is_hard_wrapped",
    "paragraphs",
]

# C0 controls except tab and newline, zero-width characters and the BOM go before the repair (they
# can split mojibake that ftfy would otherwise see); C1 controls go after it, because ftfy needs
# them to undo text decoded as cp1252/Latin-1.
_C0_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
_C1_CONTROL_RE = re.compile("[\x80-\x9f]")
# Whitespace other than newline that is not already a single space (so clean text matches nothing).
_HSPACE_RE = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_LINE_EDGE_SPACE_RE = re.compile(r" \n ?|\n ")  # after runs of spaces became one space
# `date 2025-03-13 09:15`, `url https://...`, `title: ...` at the very top of a record. A title
# needs its colon (a headline may start with "Title"); a date must parse and a url must look like one.
_HEADER_RE = re.compile(r"(date|published|url)\b[ \t]*[:=]?[ \t]*(\S[^\n]*)|(title)[ \t]*[:=][ \t]*(\S[^\n]*)", re.IGNORECASE)
_URL_RE = re.compile(r"(https?://|www\.)\S+$", re.IGNORECASE)
_HEADER_MAX_LINES = 6

# Lines that are page furniture rather than text: (reason, pattern). Each pattern runs once over the
# whole text (MULTILINE, so ^ and $ are line edges) and a matched line is dropped only if it is
# short (see `_BOILERPLATE_MAX_WORDS`): an article paragraph that mentions cookies stays. Gaps
# inside a line are bounded (`.{0,200}`), so a long line costs linear time, never quadratic.
_GAP = ".{0,200}"
_BOILERPLATE_RULES = (
    # (reason, keywords of which one must occur in the lower-cased text, pattern)
    (
        "cookie",
        ("cookie",),
        rf"\bcookies?\b{_GAP}\b(use|uses|using|accept|policy|consent|settings|preferences)\b"
        rf"|\b(use|uses|using|accept|allow|reject)\b{_GAP}\bcookies?\b",
    ),
    (
        "read_more",
        ("read", "see", "view", "show", "load", "continue", "click"),
        r"^(read|see|view|show|load) (more|full|all|the full)\b|^continue reading\b|^click here\b",
    ),
    (
        "newsletter",
        ("newsletter", "sign up", "subscribe"),
        rf"\b(sign up|subscribe)\b{_GAP}\b(newsletter|updates|inbox|email)\b|\bnewsletter\b",
    ),
    (
        "share",
        ("share", "tweet", "pin", "email", "print"),
        r"^(share|tweet|pin|email|print)( (this|on|via) [\w ]{1,60})?$|^share (this|on)\b",
    ),
    (
        "javascript",
        ("javascript",),
        rf"\b(enable|requires?|turn on)\b{_GAP}\bjavascript\b|\bjavascript\b{_GAP}\b(disabled|enable)\b",
    ),
    ("copyright", ("©", "(c)", "copyright", "rights reserved"), r"^(©|\(c\)|copyright\b)|\ball rights reserved\b"),
    # C4's policy lines: links to the legal pages of the site.
    ("policy", ("terms", "privacy", "policy"), r"\b(terms of (use|service)|privacy (policy|notice)|cookie policy)\b"),
    (
        "navigation",
        ("skip", "back", "next", "previous", "advertisement", "sponsored", "log", "sign", "subscribe", "menu", "search", "home"),
        r"^(skip to (main )?content|back to top|next article|previous article|advertisement|"
        r"sponsored|log ?in|sign ?in|sign up|subscribe|menu|search|home)$",
    ),
)
_BOILERPLATE_MAX_WORDS = 15
# Short lines without an end of sentence at the top or bottom of a page are menus, section names
# and bylines of the page template (jusText's observation: boilerplate clusters at the edges).
_EDGE_MAX_WORDS = 3
_SENTENCE_END = tuple(".!?:;\"'”’»)…。！？」』")
_TITLE_MAX_WORDS = 25
_HEADER_MAX_WORDS = 12
# Main block: a line that reads as prose (>= 10 words ending a sentence, or >= 25 words) adds its
# words, any other line subtracts 1.5x its words; the contiguous run of lines with the largest sum
# is the article body (Finn et al.'s body text extraction, on lines instead of HTML tokens).
_PROSE_MIN_WORDS = 10
_LONG_LINE_WORDS = 25
_SHORT_LINE_COST = 1.5
_WRAP_MAX_CHARS = 100
_WRAP_MAX_SENTENCE_ENDS = 0.8
# Scripts written without spaces (Chinese, Japanese, Thai...): about two characters make a word.
_UNSPACED_RE = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# A line ending in a bare count, "Week 12 power rankings (133)", lists a link with its comments.
_COUNTER_END_RE = re.compile(r"\(\d+\)$")
# The heading of a comment section ("12 Comments", "Leave a reply", "Join the discussion"): the body
# ends there. Only short lines count, and only inside the main block, never at its first line.
_COMMENTS_RE = re.compile(
    r"^(\d+ )?(comments?|responses?|replies|reader comments|discussion)( \(\d+\))?:?$"
    r"|^(leave|post|add|write) a (comment|reply|response)\b|^join the (discussion|conversation)\b"
    r"|^\d+ (comments?|responses?|replies)\b|^show comments\b|^comments are closed\b",
    re.IGNORECASE,
)
_COMMENTS_MAX_WORDS = 8


@dataclass(frozen=True)
class CleanRules:
    """Compiled rules of one configuration; built once per worker in `DoFn.setup()`."""

    config: CleanConfig
    boilerplate: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...]

    @classmethod
    def build(cls, config: CleanConfig) -> CleanRules:
        flags = re.IGNORECASE | re.MULTILINE
        rules = tuple((name, keys, re.compile(p, flags)) for name, keys, p in _BOILERPLATE_RULES)
        return cls(config=config, boilerplate=rules)


def count_words(text: str) -> int:
    return len(text.split())


_ENTITY_RE = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+\d*);", re.IGNORECASE)
_FTFY_TARGETS_RE = re.compile("[\ufb00-\ufb06\uff01-\uff5e\u2028\u2029\x80-\x9f\ufffd]")
# UTF-8 read as Latin-1/cp1252 leaves a lead byte character (Â..ô) before a continuation-byte one.
_MOJIBAKE_HINT_RE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)


def _needs_ftfy(text: str) -> bool:
    """Whether ftfy has anything to repair: mojibake, HTML entities, ligatures, full-width forms.

    ftfy walks the text segment by segment, which costs ~1 ms per KB on clean text; this linear
    pre-check lets the (vast) clean majority skip it. Idempotence is unaffected: ftfy's output
    passes the same check.
    """
    if text.isascii():
        return "&" in text and _ENTITY_RE.search(text) is not None
    if _MOJIBAKE_HINT_RE.search(text) is not None and is_bad(text):
        return True
    return _ENTITY_RE.search(text) is not None or _FTFY_TARGETS_RE.search(text) is not None


def _normalise_once(text: str, repair: bool) -> str:
    if repair:
        # A repair can produce a zero-width character or a C0 control ("â\x81 " becomes U+2060).
        text = _C0_CONTROL_RE.sub("", ftfy.fix_text(text, normalization="NFC"))
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _C1_CONTROL_RE.sub("", text)  # C0 controls are gone before the first pass
    text = _LINE_EDGE_SPACE_RE.sub("\n", _HSPACE_RE.sub(" ", text))
    text = _BLANK_LINES_RE.sub("\n\n", text).strip()
    # Removing characters can create new NFC compositions; one more pass makes it a fixed point.
    return unicodedata.normalize("NFC", text)


_MAX_REPAIR_PASSES = 3


def normalise_text(text: str, fix_unicode: bool = True) -> str:
    """Unicode repair (ftfy), NFC, no control characters, single spaces, at most one blank line.

    Idempotent: normalising a normalised text returns it unchanged. Without a repair the steps are
    idempotent; a repair can expose more mojibake once C1 controls are gone (ftfy sees "Þ¤" only
    after a stray U+008D is removed), so repairs repeat until nothing changes.
    """
    text = _C0_CONTROL_RE.sub("", text)
    for _ in range(_MAX_REPAIR_PASSES):
        repair = fix_unicode and _needs_ftfy(text)
        result = _normalise_once(text, repair)
        if not repair or result == text:
            return result
        text = result
    return text


def _split_header(text: str) -> tuple[dict[str, str], str]:
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


def _drop_boilerplate(text: str, rules: CleanRules, counter_inc_fn: CounterIncFn) -> str:
    flagged: dict[int, str] = {}  # line start offset -> reason
    low = text.lower()  # only to skip rules whose keywords are absent; matching runs on `text`
    for name, keys, pattern in rules.boilerplate:
        if not any(key in low for key in keys):
            continue
        for match in pattern.finditer(text):
            flagged.setdefault(text.rfind("\n", 0, match.start()) + 1, name)
    if not flagged:
        return text
    pieces, cursor = [], 0
    for start in sorted(flagged):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if count_words(text[start:end]) > _BOILERPLATE_MAX_WORDS:
            continue
        counter_inc_fn(f"line-filtered:{flagged[start]}")
        pieces.append(text[cursor:start])
        cursor = end + 1
    pieces.append(text[cursor:])
    return _BLANK_LINES_RE.sub("\n\n", "".join(pieces)).strip()


def _is_edge_furniture(line: str) -> bool:
    return not line or (count_words(line) <= _EDGE_MAX_WORDS and not line.endswith(_SENTENCE_END))


def _trim_edges(text: str, counter_inc_fn: CounterIncFn) -> str:
    lines = text.split("\n")
    start, end = 0, len(lines)
    while start < end and _is_edge_furniture(lines[start]):
        if lines[start]:
            counter_inc_fn("line-filtered:edge_short")
        start += 1
    while end > start and _is_edge_furniture(lines[end - 1]):
        if lines[end - 1]:
            counter_inc_fn("line-filtered:edge_short")
        end -= 1
    return "\n".join(lines[start:end])


def _headline(text: str) -> str | None:
    """The first line when it reads as a headline: short, no final full stop, a blank line after it."""
    first, sep, rest = text.partition("\n")
    if sep and rest.startswith("\n") and 1 <= count_words(first) <= _TITLE_MAX_WORDS and not first.endswith("."):
        return first
    return None


def _line_score(line: str) -> float:
    words = count_words(line)
    if words == 0:
        return 0.0
    if not line.isascii():
        words += len(_UNSPACED_RE.findall(line)) // 2
    if words >= _PROSE_MIN_WORDS and line.endswith(_SENTENCE_END) and not _COUNTER_END_RE.search(line):
        return float(words)
    if words >= _LONG_LINE_WORDS:
        return 0.5 * words
    return -_SHORT_LINE_COST * words


def is_hard_wrapped(lines: list[str]) -> bool:
    """Whether line breaks fall inside sentences: no line over 100 characters, most over 40, and not
    (nearly) every line ending a sentence.

    Web text has a paragraph per line; a hard-wrapped text (books, e-mail) breaks sentences across
    lines, so there a paragraph is a run of non-blank lines. Short web paragraphs also fit in 100
    characters, but each of them ends a sentence; wrapped lines (even verse and dialogue) mostly do not.
    """
    filled = [line for line in lines if line]
    if not filled or max(map(len, filled)) > _WRAP_MAX_CHARS or sum(len(line) >= 40 for line in filled) * 2 < len(filled):
        return False
    return sum(line.endswith(_SENTENCE_END) for line in filled) < _WRAP_MAX_SENTENCE_ENDS * len(filled)


def _units(lines: list[str]) -> list[tuple[int, int]]:
    """Line ranges scored as one unit: each line, or each paragraph when the text is hard-wrapped."""
    if not is_hard_wrapped(lines):
        return [(i, i + 1) for i in range(len(lines))]
    units, start = [], 0
    for i, line in enumerate(lines):
        if not line:
            if start < i:
                units.append((start, i))
            units.append((i, i + 1))
            start = i + 1
    if start < len(lines):
        units.append((start, len(lines)))
    return units


def paragraphs(text: str) -> list[str]:
    """The non-blank lines of a text, or its paragraphs joined into one line each when it is hard-wrapped."""
    lines = text.split("\n")
    return [joined for first, last in _units(lines) if (joined := " ".join(lines[first:last]).strip())]


def _main_block(text: str, counter_inc_fn: CounterIncFn) -> str:
    """The run of lines with the largest prose score; lines outside it are page furniture.

    A text with no prose line at all is kept whole: there is nothing to anchor a body on.
    Idempotent: every prefix and suffix of the chosen run has a positive score, so the run is its
    own best run.
    """
    lines = text.split("\n")
    units = _units(lines)
    best = current = 0.0
    start = best_start = best_end = 0
    for i, (first, last) in enumerate(units):
        if current <= 0:
            current, start = 0.0, i
        current += _line_score(" ".join(lines[first:last]))
        if current > best:
            best, best_start, best_end = current, start, i + 1
    if best <= 0:
        return text
    keep_from, keep_to = units[best_start][0], units[best_end - 1][1]
    for line in (*lines[:keep_from], *lines[keep_to:]):
        if line:
            counter_inc_fn("line-filtered:outside_main_block")
    return "\n".join(lines[keep_from:keep_to])


def _cut_comments(text: str, counter_inc_fn: CounterIncFn) -> str:
    """The text up to the heading of a comment section, if it has one."""
    lines = text.split("\n")
    for i, line in enumerate(lines[1:], start=1):
        if count_words(line) <= _COMMENTS_MAX_WORDS and _COMMENTS_RE.search(line):
            for dropped in lines[i:]:
                if dropped:
                    counter_inc_fn("line-filtered:comments")
            return "\n".join(lines[:i])
    return text


def prepare_document(doc: Document, rules: CleanRules) -> Document:
    """Normalised text and the metadata read before any line is removed: a leading header, the site,
    and the publication date (the record's, the header's, the URL path's, or a dateline's).

    Site-level template lines are counted on prepared documents, so every page of a site is
    compared in the same normal form. With `clean.enabled: false` the text is left as it is.
    """
    config = rules.config
    if not config.enabled:
        return doc.replace(site=site_of(doc.url))
    text = normalise_text(doc.text, fix_unicode=config.fix_unicode)
    header: dict[str, str] = {}
    if config.parse_header:
        header, text = _split_header(text)
    url = doc.url or header.get("url")
    date = doc.date or normalise_date(header.get("date"))
    if date is None and config.infer_date:
        date = date_from_url(url) or date_from_text(text)
    return doc.replace(text=text, url=url, date=date, title=header.get("title", doc.title), site=site_of(url))


def clean_body(doc: Document, rules: CleanRules, counter_inc_fn: CounterIncFn = noop_counter) -> Document | Rejected:
    """The article body of a prepared document (`prepare_document`), or a `Rejected` with the reason
    nothing usable is left. With `clean.enabled: false` only `n_words` is set."""
    config = rules.config
    if not config.enabled:
        counter_inc_fn("passed")
        return doc.replace(n_words=count_words(doc.text))
    text = doc.text
    if config.boilerplate_lines:
        text = _trim_edges(_drop_boilerplate(text, rules, counter_inc_fn), counter_inc_fn)
    title = doc.title if doc.title is not None else _headline(text)
    if config.main_block:
        text = _main_block(text, counter_inc_fn)
        cut = _cut_comments(text, counter_inc_fn)
        if cut != text:
            # The lines just before a comment section ("Posted in ...", "Share") may now end the
            # block; selecting again keeps the result a fixed point of cleaning.
            text = _main_block(cut, counter_inc_fn)
    n_words = count_words(text)
    if n_words == 0:
        counter_inc_fn("filtered:empty_after_cleaning")
        return Rejected(doc.source, doc.record, "empty_after_cleaning", doc.text, id=doc.id)
    if n_words < config.min_words:
        counter_inc_fn("filtered:too_short")
        return Rejected(doc.source, doc.record, "too_short", doc.text, id=doc.id, detail=f"{n_words} words")
    counter_inc_fn("passed")
    return doc.replace(text=text, n_words=n_words, title=title)


def clean_document(doc: Document, rules: CleanRules, counter_inc_fn: CounterIncFn = noop_counter) -> Document | Rejected:
    """Prepare and clean one document on its own (no site-level template lines: those need the corpus)."""
    return clean_body(prepare_document(doc, rules), rules, counter_inc_fn)
