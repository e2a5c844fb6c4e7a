"""Page metadata that is not in the record's fields: the site of a URL, and the publication date from
the URL path or from a dateline near the top of the text.

A crawl's `WARC-Date` says when a page was fetched, not when it was written, so it is kept in its own
column (`crawl_date`) and never used as `date`. Pure functions; every regex is linear.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from transforms.records import words_up_to

__all__ = ["site_of", "normalise_date", "date_from_url", "date_from_text", "crawl_timestamp"]

_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")

# Years outside this range in a URL or a dateline are ids, prices or history, not a publication date.
_MIN_YEAR, _MAX_YEAR = 1990, 2100
# /2019/11/19/, /2019-11-19-, /20191119/ in the path. A path with only a month (/2019/11/slug) gives
# no date: inventing its day would put a wrong value in the column.
_URL_DATE_RE = re.compile(r"(?<![\d])((?:19|20)\d\d)([/_-]?)(0?[1-9]|1[0-2])\2(0?[1-9]|[12]\d|3[01])(?![\d])")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_TEXT_DATE_RE = re.compile(
    rf"\b{_MONTH} (\d{{1,2}})(?:st|nd|rd|th)?,? ((?:19|20)\d\d)\b"  # November 19, 2019
    rf"|\b(\d{{1,2}})(?:st|nd|rd|th)? {_MONTH},? ((?:19|20)\d\d)\b"  # 19 November 2019
    r"|\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b",  # 2019-11-19
    re.IGNORECASE,
)
# A dateline is a short line near the top ("By Jane Doe | November 19, 2019, 7:47 PM"); a date inside
# a sentence of the article ("As of 29 November 2018, ...") is about something else.
_DATELINE_MAX_WORDS = 15
_DATELINE_MAX_LINES = 40


def site_of(url: str | None) -> str | None:
    """The host of a URL, lower-cased, without `www.` and port: pages of one site share it."""
    if not url:
        return None
    try:
        host = urlsplit(url if "://" in url else f"//{url}").hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www.") or None


def _iso(year: int, month: int, day: int) -> str | None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def date_from_url(url: str | None) -> str | None:
    """Publication date written in a URL path (`/2019/11/19/slug`), as YYYY-MM-DD, else None."""
    if not url:
        return None
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    for match in _URL_DATE_RE.finditer(path):
        year, sep, month, day = match[1], match[2], match[3], match[4]
        if not sep and (len(month) != 2 or len(day) != 2):
            continue  # "2019118" could be any of several dates
        date = _iso(int(year), int(month), int(day))
        if date is not None:
            return date
    return None


def date_from_text(text: str) -> str | None:
    """The date of the first short dateline among the first lines of a page, as YYYY-MM-DD, else None."""
    lines = text.split("\n", _DATELINE_MAX_LINES)[:_DATELINE_MAX_LINES]
    for line in lines:
        if not line or words_up_to(line, _DATELINE_MAX_WORDS) > _DATELINE_MAX_WORDS:
            continue
        match = _TEXT_DATE_RE.search(line)
        if match is None:
            continue
        if match[1]:
            date = _iso(int(match[3]), _MONTHS[match[1].lower()], int(match[2]))
        elif match[4]:
            date = _iso(int(match[6]), _MONTHS[match[5].lower()], int(match[4]))
        else:
            date = _iso(int(match[7]), int(match[8]), int(match[9]))
        if date is not None:
            return date
    return None


def crawl_timestamp(value: str | None) -> str | None:
    """A WARC-Date (`2020-08-03T12:34:56Z`) as an ISO 8601 UTC timestamp string, else None."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc).isoformat()


def normalise_date(value: object) -> str | None:
    """ISO date (YYYY-MM-DD) from an ISO-like date or timestamp string, else None."""
    if not isinstance(value, str):
        return None
    match = _ISO_DATE_RE.match(value.strip())
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None
