"""Site template lines: the pure key and removal (tier 1) and the corpus-wide Beam count (tier 2)."""

import re

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.clean.site_lines import drop_lines, line_key, line_keys, page_line_keys
from transforms.clean.transform import DropSiteTemplateLines
from transforms.config import CleanConfig
from transforms.records import Document, stable_key


def test_line_key_ignores_case_digits_punctuation_and_is_per_site():
    assert line_key("a.example", "Posted 3 hours ago") == line_key("a.example", "posted 12 hours ago!")
    assert line_key("a.example", "Posted 3 hours ago") != line_key("b.example", "Posted 3 hours ago")
    assert line_key("a.example", " -- ") is None
    assert page_line_keys("a.example", "Menu\n\nMenu\nBody text.") == {
        line_key("a.example", "Menu"),
        line_key("a.example", "Body text."),
    }


def test_drop_lines_removes_only_template_lines():
    text = "Menu\nHome | News\n\nA long article body line that the template does not have.\nDonate today"
    keys = {line_key("s", "Menu"), line_key("s", "Home | News"), line_key("s", "Donate today")}
    assert drop_lines("s", text, keys, 0.5) == ("A long article body line that the template does not have.", 3)
    assert drop_lines("s", text, set(), 0.5) == (text, 0)


def test_a_page_that_is_mostly_template_lines_is_kept_whole():
    text = "Shared paragraph one of a syndicated article.\nShared paragraph two.\nOwn line."
    keys = {line_key("s", "Shared paragraph one of a syndicated article."), line_key("s", "Shared paragraph two.")}
    assert drop_lines("s", text, keys, 0.5) == (text, 0)
    assert drop_lines("s", text, keys, 0.95)[1] == 2


NAV = "Home\nPolitics | Sport | Weather\nSubscribe to the Daily Courier for only 1 dollar a week"
FOOTER = "The Daily Courier is published by Courier Media Group. Contact the newsroom at any time."


def page(key: int, body: str, site: str | None = "courier.example", extra: str = "") -> Document:
    url = f"https://{site}/story/{key}" if site else None
    text = f"{NAV}\n{body}\n{extra}\n{FOOTER}".replace("\n\n", "\n")
    return Document(doc_key=key, id=f"p{key}", source="mem", record=key, text=text, url=url, site=site)


TOPICS = ("the harbour", "a school play", "the bridge repairs", "an orchard", "the library fire", "a marathon")
BODIES = [f"This article tells its own story about {topic}, in words no other page of the site uses." for topic in TOPICS]


def test_template_lines_are_removed_across_a_site(test_pipeline):
    pages = [page(i, BODIES[i]) for i in range(5)]
    pages[0] = page(0, BODIES[0], extra="Related: a line two pages share")
    pages[1] = page(1, BODIES[1], extra="Related: a line two pages share")
    pages.append(page(10, BODIES[5], site="other.example"))  # its site has one page: nothing repeats
    pages.append(page(11, BODIES[5], site=None))  # no URL: passes around the joins
    config = CleanConfig(site_lines_min_pages=3, site_lines_min_share=0.0)
    expected = [(f"p{i}", BODIES[i]) for i in range(2, 5)]
    expected += [(f"p{i}", f"{BODIES[i]}\nRelated: a line two pages share") for i in (0, 1)]
    expected += [(d.id, d.text) for d in pages[-2:]]
    with test_pipeline as p:
        out = (p | beam.Create(pages) | DropSiteTemplateLines(config))["documents"] | beam.Map(lambda d: (d.id, d.text))
        assert_that(out, equal_to(expected))


@pytest.mark.parametrize(("share", "kept"), [(0.1, True), (0.05, False)])
def test_min_share_of_the_site_pages_is_required(test_pipeline, share, kept):
    # 40 pages of a site, a line on 3 of them (7.5% of its pages): a 10% share keeps it, 5% drops it.
    line = "A sentence three stories quote."
    pages = [page(i, f"Story {i} about the town council and its long meeting on the budget.") for i in range(40)]
    pages = [d.replace(text=d.text.replace("Story", f"Story {'ab' * (d.doc_key + 1)}")) for d in pages]
    pages = [d.replace(text=f"{d.text}\n{line}") if d.doc_key < 3 else d for d in pages]
    config = CleanConfig(site_lines_min_pages=3, site_lines_min_share=share)
    with test_pipeline as p:
        out = (p | beam.Create(pages) | DropSiteTemplateLines(config))["documents"] | beam.Filter(lambda d: d.doc_key < 3)
        assert_that(out | beam.Map(lambda d: line in d.text), equal_to([kept] * 3))


def test_copies_of_one_article_on_a_site_are_not_emptied(test_pipeline):
    # The same article at three URLs of a site (canonical, print, AMP): its lines are on 3 pages, but
    # they are most of each page, so the pages stay whole and dedup decides between them.
    pages = [page(i, BODIES[0] + "\n" + BODIES[1]) for i in range(3)] + [page(i, BODIES[i]) for i in range(3, 6)]
    config = CleanConfig(site_lines_min_pages=3, site_lines_min_share=0.0, site_lines_max_fraction=0.9)
    with test_pipeline as p:
        out = (p | beam.Create(pages) | DropSiteTemplateLines(config))["documents"]
        assert_that(
            out | beam.Map(lambda d: (d.id, BODIES[0] in d.text, NAV in d.text)),
            equal_to([(f"p{i}", True, True) for i in range(3)] + [(f"p{i}", False, False) for i in range(3, 6)]),
        )


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(max_size=40))
def test_any_text_and_site_never_crash_and_removal_is_idempotent(text, site):
    keys = page_line_keys(site, text)
    some = set(list(keys)[::2])
    once, _ = drop_lines(site, text, some, 1.0)
    assert drop_lines(site, once, some, 1.0)[0] == once


# Characters where a vectorised normal form could part from the regexes': digits of other scripts
# (Arabic-Indic, Devanagari, supplementary-plane mathematical ones), the final sigma, a capital
# that lower-cases to two characters, underscores, line breaks that `str.split` knows and "\n" does
# not split on, non-word letters' neighbours, and lone surrogates.
_TRICKY = st.sampled_from(
    [
        "Menu",
        "a1",
        "12",
        "٣٤",
        "४",
        "\U0001d7ce",
        "ΟΔΟΣ",
        "Σ",
        "İ",
        "_",
        " ",
        "\n",
        "\r",
        "\x0b",
        "\x1c",
        "\x85",
        "\u2028",
        "\u00a0",
        "—",
        "!",
        ".",
        "\ud800",
        "é",
        "\U0001f600",
        "ß",
        "ǅ",
    ]
)


def _ccnet_key(site: str, line: str) -> int | None:
    """The normal form as CCNet's regexes make it, line by line: what the vectorised one must equal."""
    normal = re.sub(r"[^\w]+", " ", re.sub(r"\d+", "0", line.lower())).strip()
    return stable_key(site, normal) if normal else None


@settings(max_examples=500, deadline=None)
@given(st.lists(_TRICKY, max_size=30).map("".join) | st.text(), st.text(max_size=10))
def test_line_keys_are_each_lines_line_key(text, site):
    assert line_keys(site, text) == [_ccnet_key(site, line) for line in text.split("\n")]
