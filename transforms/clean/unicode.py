"""Unicode repair and normalisation of a record's text: the first cleaning step, before any line
is judged. Idempotent: normalising a normalised text returns it unchanged (a property test checks it).
"""

from __future__ import annotations

import functools
import re
import unicodedata

import ftfy
import numpy as np
from ftfy.badness import is_bad

from transforms.tokens import BMP, code_point_table, code_points

__all__ = ["normalise_text", "is_normalised", "BLANK_LINES_RE"]

# C0 controls except tab and newline, zero-width characters and the BOM go before the repair (they
# can split mojibake that ftfy would otherwise see); C1 controls go after it, because ftfy needs
# them to undo text decoded as cp1252/Latin-1.
_C0_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff"
_C1_CONTROLS = "\x80-\x9f"
_C0_CONTROL_RE = re.compile(f"[{_C0_CONTROLS}]")
_C1_CONTROL_RE = re.compile(f"[{_C1_CONTROLS}]")
# Whitespace other than newline that is not already a single space (so clean text matches nothing).
_HSPACE_RE = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
_OTHER_HSPACE = r"[^\S\n ]"
_OTHER_HSPACE_RE = re.compile(_OTHER_HSPACE)  # one character class: a search is 4x cheaper than the sub
BLANK_LINES_RE = re.compile(r"\n{3,}")
_LINE_EDGE_SPACE_RE = re.compile(r" \n ?|\n ")  # after runs of spaces became one space

_ENTITY_RE = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+\d*);", re.IGNORECASE)
_FTFY_TARGETS = "\ufb00-\ufb06\uff01-\uff5e\u2028\u2029\x80-\x9f\ufffd"
_FTFY_TARGETS_RE = re.compile(f"[{_FTFY_TARGETS}]")
# UTF-8 read as Latin-1/cp1252 leaves a lead byte character (Â..ô) before a continuation-byte one.
_MOJIBAKE_LEAD = "\u00c2-\u00f4"
_MOJIBAKE_CONTINUATION = "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122"
_MOJIBAKE_HINT_RE = re.compile(f"[{_MOJIBAKE_LEAD}][{_MOJIBAKE_CONTINUATION}]")
_SPACE, _NEWLINE = ord(" "), ord("\n")
# `is_normalised`'s classes, all in the first plane: what makes a step of `normalise_text` more than
# NFC and spacing, and the two characters of a mojibake hint.
BMP_CLASSES = (
    f"[{_C0_CONTROLS}{_C1_CONTROLS}{_FTFY_TARGETS}]|{_OTHER_HSPACE}",
    f"[{_MOJIBAKE_LEAD}]",
    f"[{_MOJIBAKE_CONTINUATION}]",
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
    # Each substitution runs only where a cheap check finds something to change: most text is clean.
    if not text.isascii():
        text = _C1_CONTROL_RE.sub("", text)  # C0 controls are gone before the first pass
    if "  " in text or _OTHER_HSPACE_RE.search(text) is not None:
        text = _HSPACE_RE.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _LINE_EDGE_SPACE_RE.sub("\n", text)
    if "\n\n\n" in text:
        text = BLANK_LINES_RE.sub("\n\n", text)
    text = text.strip()
    # Removing characters can create new NFC compositions; one more pass makes it a fixed point.
    return unicodedata.normalize("NFC", text)


_MAX_REPAIR_PASSES = 3


@functools.cache
def _unusual_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """bool tables of code points: those that make a step of `normalise_text` more than NFC and
    spacing (controls, whitespace but space and newline, ftfy's targets), and the two classes of
    `_MOJIBAKE_HINT_RE`. Built once per process from the same classes as the regexes."""
    unusual, lead, continuation = (code_point_table(pattern, BMP) for pattern in BMP_CLASSES)
    unusual = unusual.copy()
    unusual[0] = True  # a C0 control, which `code_point_table` never marks
    return unusual, lead, continuation


def is_normalised(text: str) -> bool:
    """Whether `normalise_text` returns `text` as it is: nothing to remove or repair, single spaces,
    no space at a line's edge, at most one blank line, NFC.

    Told with table look-ups over the code points (about 13 us for a 3.4 KB page) instead of the
    regex scans and substring searches of the full pass (about 60 us), which a text with nothing to
    normalise (most text) then skips.
    """
    points = code_points(text)
    if not points.size:
        return True
    unusual, lead, continuation = _unusual_tables()
    if unusual.take(points).any():
        return False
    if not text.isascii() and (lead.take(points[:-1]) & continuation.take(points[1:])).any():
        return False
    if "&" in text and _ENTITY_RE.search(text) is not None:
        return False
    newline = points == _NEWLINE
    blank = newline | (points == _SPACE)
    if blank[0] or blank[-1]:
        return False
    pairs = blank[1:] & blank[:-1]
    # Of two blanks in a row only a blank line ("\n\n") may stand, and never three in a row.
    if pairs.any() and ((pairs & ~(newline[1:] & newline[:-1])).any() or (pairs[1:] & pairs[:-1]).any()):
        return False
    return unicodedata.is_normalized("NFC", text)


def normalise_text(text: str, fix_unicode: bool = True) -> str:
    """Unicode repair (ftfy), NFC, no control characters, single spaces, at most one blank line.

    Idempotent: normalising a normalised text returns it unchanged. Without a repair the steps are
    idempotent; a repair can expose more mojibake once C1 controls are gone (ftfy sees "Þ¤" only
    after a stray U+008D is removed), so repairs repeat until nothing changes.
    """
    if is_normalised(text):
        return text
    return _normalise_fully(text, fix_unicode)


def _normalise_fully(text: str, fix_unicode: bool) -> str:
    """`normalise_text` by running its steps: each substitution where a search finds something for it."""
    text = _C0_CONTROL_RE.sub("", text)
    for _ in range(_MAX_REPAIR_PASSES):
        repair = fix_unicode and _needs_ftfy(text)
        result = _normalise_once(text, repair)
        if not repair or result == text:
            return result
        text = result
    return text
