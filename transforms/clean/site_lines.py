"""Lines that a site's template repeats on many of its pages (menus, footers, appeals, bylines), found
across the corpus as CCNet and C4 do, and removed from every page that carries them.

The counting is a Beam aggregation (`transforms.clean.transform.DropSiteTemplateLines`); these are the pure
parts: the stable key of a line on a site, and the removal from one page.
"""

from __future__ import annotations

import re

import numpy as np

from transforms.records import stable_key
from transforms.tokens import WORD_PLANES, code_point_table, code_points

__all__ = ["line_key", "line_keys", "page_line_keys", "drop_lines"]

_NEWLINE, _SPACE, _ZERO = ord("\n"), ord(" "), ord("0")


def _normal_lines(text: str) -> list[str]:
    """Every line of `text.split("\\n")` in the normal form lines are compared in, as CCNet
    normalises them: lower-cased, each run of digits as "0" ("Posted 3 hours ago" = "Posted 5 hours
    ago"), each run of non-word characters (`[^\\w]+`) as one space, stripped. Computed over the whole
    text's code points at once: the two regex substitutions per line it replaces cost about 160 us
    for a 3.4 KB page, this about 40.

    Lower-casing the text is lower-casing each line (no case mapping looks across a line break).
    Each digit becomes "0" and each other non-word character except a line break a space; then a
    digit after a digit goes, and a space after a space, a line break or the start. What is left of
    a line's trailing spaces is one space before its break.
    """
    points = code_points(text.lower())
    is_digit = code_point_table(r"\d", WORD_PLANES).take(points)
    newline = points == _NEWLINE
    normal = np.where(code_point_table(r"\w", WORD_PLANES).take(points), points, _SPACE)
    normal[is_digit] = _ZERO
    normal[newline] = _NEWLINE
    is_space = normal == _SPACE
    keep = np.empty(points.size, dtype=bool)
    keep[:1] = ~is_space[:1]
    keep[1:] = ~((is_digit[1:] & is_digit[:-1]) | (is_space[1:] & (is_space[:-1] | newline[:-1])))
    joined = normal[keep].astype(np.uint32).tobytes().decode("utf-32-le").replace(" \n", "\n")
    return (joined[:-1] if joined.endswith(" ") else joined).split("\n")


def line_key(site: str, line: str) -> int | None:
    """Signed 64-bit key of one line (without a line break) on a site: xxh3 of the site and the
    line's normal form, or None for a line with no words."""
    (key,) = line_keys(site, line)
    return key


def line_keys(site: str, text: str) -> list[int | None]:
    """`line_key(site, line)` of every line of `text.split("\\n")`, in order."""
    return [stable_key(site, normal) if normal else None for normal in _normal_lines(text)]


def page_line_keys(site: str, text: str) -> set[int]:
    """The distinct line keys of one page: each page counts once per line, however often it repeats it."""
    keys = set(line_keys(site, text))
    keys.discard(None)
    return keys  # type: ignore[return-value]


def drop_lines(site: str, text: str, template_keys: set[int], max_fraction: float) -> tuple[str, int]:
    """`text` without its lines whose key is in `template_keys`, and how many lines went.

    When those lines hold more than `max_fraction` of the page's characters, the page is mostly
    shared with other pages of the site (a copy at a second URL, a print version): nothing is
    removed, so the copy stays whole for near-duplicate detection instead of being emptied.
    """
    if not template_keys:
        return text, 0
    lines = text.split("\n")
    drop = [key is not None and key in template_keys for key in line_keys(site, text)]
    removed_chars = sum(len(line) for line, gone in zip(lines, drop, strict=True) if gone)
    if not removed_chars or removed_chars > max_fraction * len(text):
        return text, 0
    kept = "\n".join(line for line, gone in zip(lines, drop, strict=True) if not gone)
    return re.sub(r"\n{3,}", "\n\n", kept).strip(), sum(drop)
