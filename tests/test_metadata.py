"""Tier 1: site, publication date (URL path, dateline, header) and crawl date."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.clean.document import CleanRules, prepare_document
from transforms.config import CleanConfig
from transforms.metadata import crawl_timestamp, date_from_text, date_from_url, site_of
from transforms.records import Document


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("https://WWW.Example.com:8080/a/b", "example.com"),
        ("http://news.example.co.uk/x", "news.example.co.uk"),
        ("example.org/path", "example.org"),
        ("http://[not-an-ip/x", None),
        ("", None),
        (None, None),
    ],
)
def test_site_of(url, site):
    assert site_of(url) == site


@pytest.mark.parametrize(
    ("url", "date"),
    [
        ("https://x.example/2019/11/19/opinion/slug.html", "2019-11-19"),
        ("https://x.example/news/2019-11-8-slug", "2019-11-08"),
        ("https://x.example/a/20191119/slug", "2019-11-19"),
        ("https://x.example/2018/10/slug", None),  # a month only: no day is invented
        ("https://x.example/a/201911181077343476-slug", None),  # an id, not a date
        ("https://x.example/2019/13/45/slug", None),
        ("https://x.example/1850/01/02/history", None),  # out of the plausible range
        ("https://x.example/slug?d=2019/11/19", None),  # the query is not the path
        (None, None),
    ],
)
def test_date_from_url(url, date):
    assert date_from_url(url) == date


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Menu\nBy Jane Roe - Nov 19, 2019, 10:31 pm CST\nThe body.", "2019-11-19"),
        ("14:53 GMT +3 20 November 2019", "2019-11-20"),
        ("Posted Sept. 3rd, 2020 by admin", "2020-09-03"),
        ("Updated: 2021-02-28 08:00", "2021-02-28"),
        ("18 NOV 2019", "2019-11-18"),
        # Inside a sentence of the article, a date is about something else.
        ("As of 29 November 2018, thirty artworks will light up the city centre for the winter season.", None),
        ("February 30, 2020", None),
        ("no date here", None),
    ],
)
def test_date_from_text(text, date):
    assert date_from_text(text) == date


def test_date_from_text_looks_only_at_the_top_of_the_page():
    assert date_from_text("line\n" * 50 + "March 3, 2020") is None


def test_crawl_timestamp_is_utc_iso():
    assert crawl_timestamp("2020-08-03T12:34:56Z") == "2020-08-03T12:34:56+00:00"
    assert crawl_timestamp("2020-08-03T14:34:56+02:00") == "2020-08-03T12:34:56+00:00"
    assert crawl_timestamp("not a date") is None and crawl_timestamp(None) is None


def prepare(text: str, **fields) -> Document:
    doc = Document(doc_key=1, id="d", source="mem", record=1, text=text, **fields)
    return prepare_document(doc, CleanRules.build(CleanConfig()))


def test_date_precedence_record_header_url_dateline():
    url = "https://www.x.example/2019/11/19/slug"
    assert prepare("date 2020-01-02\nBody.", url=url, date="2018-05-06").date == "2018-05-06"
    assert prepare("date 2020-01-02\nBody.", url=url).date == "2020-01-02"
    assert prepare("March 3, 2021\nBody.", url=url).date == "2019-11-19"
    assert prepare("March 3, 2021\nBody.", url="https://x.example/slug").date == "2021-03-03"
    assert prepare("Body.", url="https://x.example/slug").date is None


def test_prepare_sets_site_from_a_header_url_and_can_leave_dates_alone():
    doc = prepare("url https://www.courier.example/a\nMarch 3, 2021\nBody.")
    assert (doc.url, doc.site, doc.date) == ("https://www.courier.example/a", "courier.example", "2021-03-03")
    rules = CleanRules.build(CleanConfig(infer_date=False))
    plain = prepare_document(Document(doc_key=1, id="d", source="m", record=1, text="March 3, 2021\nBody."), rules)
    assert plain.date is None


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_metadata_parsers_never_crash(url, text):
    for date in (date_from_url(url), date_from_text(text)):
        assert date is None or 1990 <= int(date[:4]) <= 2100
    site_of(url)
    crawl_timestamp(text)
