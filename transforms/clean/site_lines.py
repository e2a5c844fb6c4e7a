"""Lines that a site's template repeats on many of its pages (menus, footers, appeals, bylines), found
across the corpus as CCNet and C4 do, and removed from every page that carries them.

The counting is a Beam aggregation (`transforms.clean.transform.DropSiteTemplateLines`); these are the pure
parts: the stable key of a line on a site, and the removal from one page.
"""

from __future__ import annotations

import re

from transforms.records import stable_key

__all__ = ["line_key", "page_line_keys", "drop_lines"]

# Lines compare after lower-casing, digits as 0 ("Posted 3 hours ago" = "Posted 5 hours ago"), and
# punctuation and spacing dropped, as CCNet normalises them.
_DIGIT_RE = re.compile(r"\d+")
_NON_WORD_RE = re.compile(r"[^\w]+")


def _normalise_line(line: str) -> str:
    return _NON_WORD_RE.sub(" ", _DIGIT_RE.sub("0", line.lower())).strip()


def line_key(site: str, line: str) -> int | None:
    """Signed 64-bit key of a line on a site (xxh3, seeded by nothing), or None for a line with no words."""
    normal = _normalise_line(line)
    if not normal:
        return None
    return stable_key(site, normal)


def page_line_keys(site: str, text: str) -> set[int]:
    """The distinct line keys of one page: each page counts once per line, however often it repeats it."""
    keys = {line_key(site, line) for line in text.split("\n") if line}
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
    drop = [bool(line) and line_key(site, line) in template_keys for line in lines]
    removed_chars = sum(len(line) for line, gone in zip(lines, drop, strict=True) if gone)
    if not removed_chars or removed_chars > max_fraction * len(text):
        return text, 0
    kept = "\n".join(line for line, gone in zip(lines, drop, strict=True) if not gone)
    return re.sub(r"\n{3,}", "\n\n", kept).strip(), sum(drop)
