"""Document quality filters (Gopher quality and repetition rules, Rae et al. 2021, as datatrove applies
them): each returns the name of the first rule a cleaned document fails, which becomes its
`rejected/` reason. Thresholds are `quality.*` in the config.
"""

from __future__ import annotations

import re
from collections import Counter

from transforms.config import QualityConfig
from transforms.records import Document

__all__ = ["quality_reason"]

_STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
# A whitespace-delimited word none of whose characters is a letter ([^\W\d_] is a Unicode letter).
_NO_LETTER_WORD_RE = re.compile(r"(?<!\S)(?:(?![^\W\d_])\S)+(?!\S)")
_BULLETS = ("•", "●", "○", "▪", "◦", "‣", "⁃", "-", "*", "–", "—")


def quality_reason(doc: Document, config: QualityConfig) -> str | None:
    """`None` when the document passes every enabled rule, else the failed rule's name."""
    words = doc.text.split()
    n_words = len(words)
    if n_words < config.min_words or n_words > config.max_words:
        return "gopher_word_count"
    mean_length = sum(map(len, words)) / n_words
    if not config.min_mean_word_length <= mean_length <= config.max_mean_word_length:
        return "gopher_mean_word_length"
    symbols = doc.text.count("#") + doc.text.count("...") + doc.text.count("…")
    if symbols / n_words > config.max_symbol_word_ratio:
        return "gopher_symbol_ratio"
    lines = [line for line in doc.text.split("\n") if line.strip()]
    if sum(line.lstrip().startswith(_BULLETS) for line in lines) > config.max_bullet_lines * len(lines):
        return "gopher_bullet_lines"
    if sum(line.rstrip().endswith(("...", "…")) for line in lines) > config.max_ellipsis_lines * len(lines):
        return "gopher_ellipsis_lines"
    if n_words - len(_NO_LETTER_WORD_RE.findall(doc.text)) < config.min_alpha_words * n_words:
        return "gopher_alpha_words"
    if doc.lang == "en" and len(_STOP_WORDS.intersection(doc.text.lower().split())) < config.min_stop_words:
        return "gopher_stop_words"
    repeated = sum(count - 1 for count in Counter(lines).values() if count > 1)
    if repeated > config.max_duplicate_lines * len(lines):
        return "gopher_duplicate_lines"
    return None
