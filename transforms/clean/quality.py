"""Document quality filters: Gopher quality and repetition rules (Rae et al. 2021), C4's page rules
(Raffel et al. 2020) and FineWeb's line ratios (Penedo et al. 2024), with the definitions datatrove
uses. `quality_reason` returns the name of the first rule a cleaned document fails, which becomes
its `rejected/` reason; thresholds are `quality.*` in the config.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from itertools import islice

import numpy as np

from transforms.clean.boilerplate import paragraphs
from transforms.config import QualityConfig
from transforms.records import Document
from transforms.tokens import ASCII_SPACE, BMP, SPACE_CLASS, WORD_PLANES, code_point_table, code_points, run_bounds

__all__ = ["assess", "quality_reason", "quality_score", "stop_word_counts", "word_counts"]

_LETTER_CLASS = r"[^\W\d_]"
# The classes over ASCII bytes as `bytes.translate` tables (1: in the class); tests check them against
# the regex classes.
_ASCII_WORD = bytes(1 - space for space in ASCII_SPACE)
_ASCII_LETTER = bytes(b < 128 and chr(b).isalpha() for b in range(256))
_STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
_STOP_MIN, _STOP_MAX = min(map(len, _STOP_WORDS)), 4  # the longest, and the bytes of a uint32
assert max(map(len, _STOP_WORDS)) == _STOP_MAX
# A short word's key: its first four code points as the bytes of a little-endian uint32, lower-
# cased (255 beyond ASCII), masked to the word's length.
_STOP_KEYS = np.array([int.from_bytes(word.encode(), "little") for word in _STOP_WORDS], dtype=np.uint32)
_STOP_LENGTH_MASKS = np.array([(1 << 8 * n) - 1 for n in range(_STOP_MAX + 1)], dtype=np.uint32)


def _stop_slots(keys: np.ndarray) -> np.ndarray:
    """A table with each key at index key % size, for the smallest size that holds them apart, and at
    every free index s the value s + 1, which no key at s can equal (its remainder would be s + 1):
    a key is a stop word's exactly when the table holds it at its remainder."""
    size = next(n for n in range(len(keys), 1 << 16) if len(set((keys % n).tolist())) == len(keys))
    slots = np.arange(1, size + 1, dtype=np.uint32)
    slots[keys % size] = keys
    return slots


_STOP_SLOTS = _stop_slots(_STOP_KEYS)
_ASCII_LOWER = np.array([ord(chr(c).lower()) if c < 128 else 255 for c in range(256)], dtype=np.uint8)
_BULLETS = ("•", "●", "○", "▪", "◦", "‣", "⁃", "-", "*", "–", "—")
# A sentence ends at terminal punctuation followed by a space or the end of the text.
# Only at the start of a run of end marks, and possessive: the plain form retried from every mark of
# a run that no space follows, quadratic time (17 s on 20,000 question marks).
_SENTENCE_END_RE = re.compile(r"(?<![.!?…。！？])[.!?…。！？]++[\"'”’»)]*+(?=\s|$)")
_LINE_END_PUNCT = (".", "!", "?", '"', "'", "…", "。", "！", "？", "”", "’")


def word_counts(text: str) -> tuple[int, int, int]:
    """(words, characters in words, words without a letter) of `text`, its words being those of
    `text.split()` and a letter `[^\\W\\d_]`: counted on the code points with two tables, instead of
    splitting the text into strings and running a regex over it (0.14 -> 0.03 ms a page)."""
    return _word_measures(text, stop_words=False)[:3]


def stop_word_counts(text: str) -> tuple[int, int]:
    """(words of `text.lower().split()` in _STOP_WORDS, distinct ones among them)."""
    return _word_measures(text, stop_words=True)[3:]


def _word_measures(text: str, stop_words: bool) -> tuple[int, int, int, int, int]:
    """`word_counts` and, with `stop_words`, `stop_word_counts` (else 0, 0) from one pass over the
    code points: the stop words are told by the first four code points of each word of 2-4, lower-
    cased (only A-Z lower to ASCII letters; U+0130 and U+212A to other letters), packed
    into a uint32 (0.05 -> 0.01 ms a page against lower-casing and splitting the text).

    ASCII text (47% of the planted benchmark's pages) is read as bytes: its classes are
    `bytes.translate` tables and its lower case `bytes.lower`, instead of look-ups per code point
    (3.4 KB: 31 against 49 us)."""
    ascii_text = text.isascii()
    if ascii_text:
        raw = text.encode("ascii")
        in_word = np.frombuffer(raw.translate(_ASCII_WORD), dtype=np.bool_)
        letter = np.frombuffer(raw.translate(_ASCII_LETTER), dtype=np.bool_)
    else:
        points = code_points(text)
        in_word = ~code_point_table(SPACE_CLASS, BMP).take(points)
        letter = code_point_table(_LETTER_CLASS, WORD_PLANES).take(points)
    starts, ends = run_bounds(in_word)
    if not starts.size:
        return 0, 0, 0, 0, 0
    has_letter = np.logical_or.reduceat(letter, starts)  # a word's run and the spaces after it
    counts = int(starts.size), int(np.count_nonzero(in_word)), int(starts.size - np.count_nonzero(has_letter))
    if not stop_words:
        return (*counts, 0, 0)
    lengths = ends - starts
    short = (lengths >= _STOP_MIN) & (lengths <= _STOP_MAX)
    # Lower-cased code points as bytes, padded so that four bytes can be read from every one of them.
    if ascii_text:
        low = raw.lower() + bytes(_STOP_MAX - 1)
    else:
        low = np.zeros(points.size + _STOP_MAX - 1, dtype=np.uint8)
        _ASCII_LOWER.take(np.minimum(points, 255), out=low[: points.size])
    quads = np.ndarray((len(text),), dtype="<u4", buffer=low, strides=(1,))  # the four bytes from each place
    keys = quads[starts[short]] & _STOP_LENGTH_MASKS.take(lengths[short])  # what follows the word: 0
    slots = keys % _STOP_SLOTS.size
    slots = slots[_STOP_SLOTS[slots] == keys]
    each = np.bincount(slots, minlength=_STOP_SLOTS.size)  # how often each stop word stands
    return (*counts, int(each.sum()), int(np.count_nonzero(each)))


@dataclass(frozen=True, slots=True)
class _Measures:
    """What the rules and the score both need, computed once per document."""

    n_words: int  # whitespace-separated, as str.split()
    word_chars: int  # characters in words (not whitespace)
    no_letter_words: int
    lines: list[str]  # non-blank lines
    paragraphs: list[str]  # lines, or joined paragraphs of a hard-wrapped text
    paragraphs_ending_sentence: int
    repeated_paragraph_chars: int  # characters of paragraphs that repeat an earlier one
    stop_words: int | None  # words among _STOP_WORDS, for English text only
    distinct_stop_words: int | None

    @classmethod
    def of(cls, doc: Document) -> _Measures:
        text = doc.text
        paras = paragraphs(text)
        english = doc.lang == "en"
        n_words, word_chars, no_letter, stop, distinct = _word_measures(text, stop_words=english)
        return cls(
            n_words=n_words,
            word_chars=word_chars,
            no_letter_words=no_letter,
            lines=[line for line in text.split("\n") if line.strip()],
            paragraphs=paras,
            paragraphs_ending_sentence=sum(para.endswith(_LINE_END_PUNCT) for para in paras),
            repeated_paragraph_chars=sum(len(para) * (n - 1) for para, n in Counter(paras).items() if n > 1),
            stop_words=stop if english else None,
            distinct_stop_words=distinct if english else None,
        )


def assess(doc: Document, config: QualityConfig) -> tuple[str | None, float | None]:
    """(failed rule or None, `quality_score` of a document that passes), measuring the text once."""
    measures = _Measures.of(doc)
    reason = quality_reason(doc, config, measures)
    return reason, quality_score(doc, measures) if reason is None else None


def quality_reason(doc: Document, config: QualityConfig, measures: _Measures | None = None) -> str | None:
    """`None` when the document passes every enabled rule, else the failed rule's name."""
    m = measures or _Measures.of(doc)
    lines = m.lines
    n_words = m.n_words
    if n_words < config.min_words or n_words > config.max_words:
        return "gopher_word_count"
    mean_length = m.word_chars / n_words
    if not config.min_mean_word_length <= mean_length <= config.max_mean_word_length:
        return "gopher_mean_word_length"
    symbols = doc.text.count("#") + doc.text.count("...") + doc.text.count("…")
    if symbols / n_words > config.max_symbol_word_ratio:
        return "gopher_symbol_ratio"
    if sum(line.lstrip().startswith(_BULLETS) for line in lines) > config.max_bullet_lines * len(lines):
        return "gopher_bullet_lines"
    if sum(line.rstrip().endswith(("...", "…")) for line in lines) > config.max_ellipsis_lines * len(lines):
        return "gopher_ellipsis_lines"
    if n_words - m.no_letter_words < config.min_alpha_words * n_words:
        return "gopher_alpha_words"
    if m.distinct_stop_words is not None and m.distinct_stop_words < config.min_stop_words:
        return "gopher_stop_words"
    repeated = sum(count - 1 for count in Counter(lines).values() if count > 1)
    if repeated > config.max_duplicate_lines * len(lines):
        return "gopher_duplicate_lines"
    return _c4_reason(doc.text, config) or _fineweb_reason(doc.text, m, n_words, config)


def quality_score(doc: Document, measures: _Measures | None = None) -> float:
    """A score in [0, 1] for choosing a cluster's representative (`dedup.keep: quality`): the mean of
    the share of words with a letter, of paragraphs ending a sentence, of characters not in repeated
    paragraphs, a length term (log10 of the words / 3, so 1,000 words score 1) and, for English, the
    share of stop words against the 30% of ordinary prose. Higher is better; it ranks, it does not filter.
    """
    m = measures or _Measures.of(doc)
    n_words = m.n_words
    if not n_words:
        return 0.0
    alpha = 1.0 - m.no_letter_words / n_words
    punct = m.paragraphs_ending_sentence / max(len(m.paragraphs), 1)
    unique = 1.0 - m.repeated_paragraph_chars / max(len(doc.text), 1)
    length = min(1.0, math.log10(n_words) / 3.0)
    signals = [alpha, punct, unique, length]
    if m.stop_words is not None:
        signals.append(min(1.0, m.stop_words / n_words / 0.3))
    return round(sum(signals) / len(signals), 6)


def _c4_reason(text: str, config: QualityConfig) -> str | None:
    if config.c4_lorem_ipsum and "lorem ipsum" in text.lower():
        return "c4_lorem_ipsum"
    if config.c4_curly_bracket and "{" in text:
        return "c4_curly_bracket"
    # Enough sentences: counting stops at the minimum instead of scanning the whole text.
    sentences = islice(_SENTENCE_END_RE.finditer(text), config.c4_min_sentences)
    if config.c4_min_sentences and sum(1 for _ in sentences) < config.c4_min_sentences:
        return "c4_too_few_sentences"
    return None


def _fineweb_reason(text: str, m: _Measures, n_words: int, config: QualityConfig) -> str | None:
    """FineWeb's ratios: ending punctuation, short lines, duplicated characters, newlines.

    FineWeb counts lines of web text, where a line is a paragraph; in a hard-wrapped text (a book)
    the lines break inside sentences, so its paragraphs are counted instead.
    """
    lines = m.paragraphs
    if not lines:
        return None
    if m.paragraphs_ending_sentence < config.fineweb_min_line_punct * len(lines):
        return "fineweb_line_punct"
    short = sum(len(line) <= config.fineweb_short_line_chars for line in lines)
    if short > config.fineweb_max_short_lines * len(lines):
        return "fineweb_short_lines"
    if m.repeated_paragraph_chars > config.fineweb_max_char_duplicates * len(text):
        return "fineweb_char_duplicates"
    if text.count("\n") > config.fineweb_max_newline_ratio * n_words:
        return "fineweb_newline_ratio"
    return None
