import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.clean import unicode
from transforms.clean.boilerplate import is_hard_wrapped, paragraphs
from transforms.clean.document import CleanRules, clean_body, clean_document, prepare_document
from transforms.clean.quality import quality_reason
from transforms.clean.site_lines import page_line_keys
from transforms.clean.unicode import is_normalised, normalise_text
from transforms.config import CleanConfig, QualityConfig
from transforms.records import Document, Rejected

RULES = CleanRules.build(CleanConfig())


def doc(text: str, **kw) -> Document:
    return Document(doc_key=1, id="d", source="s", record=1, text=text, **kw)


def counted(text: str, rules: CleanRules = RULES):
    counters: dict[str, int] = {}

    def inc(name: str) -> None:
        counters[name] = counters.get(name, 0) + 1

    return clean_document(doc(text), rules, inc), counters


def test_page_furniture_is_dropped_and_counted():
    page = "\n".join(
        [
            "Home",
            "News",
            "Skip to content",
            "Harbor Board Approves the Pier Plan",
            "",
            "The board voted on Tuesday to restore the pier, which has been closed for four years.",
            "We use cookies to improve your experience. Accept all",
            "Read more",
            "Sign up for our newsletter to get the latest news.",
            "Share this",
            "Read our Privacy Policy and Terms of Use",
            "The work starts in spring and will take fourteen months to finish.",
            "© 2025 Valley Courier. All rights reserved.",
        ]
    )
    cleaned, counters = counted(page)
    assert cleaned.text == (
        "The board voted on Tuesday to restore the pier, which has been closed for four years.\n"
        "The work starts in spring and will take fourteen months to finish."
    )
    assert cleaned.title == "Harbor Board Approves the Pier Plan"
    assert counters == {
        "line-filtered:navigation": 2,  # Home, Skip to content
        "line-filtered:edge_short": 1,  # News
        "line-filtered:cookie": 1,
        "line-filtered:read_more": 1,
        "line-filtered:newsletter": 1,
        "line-filtered:share": 1,
        "line-filtered:copyright": 1,
        "line-filtered:policy": 1,
        "line-filtered:outside_main_block": 1,  # the headline: it goes to the title column
        "passed": 1,
    }


def test_long_paragraph_mentioning_cookies_is_kept():
    text = (
        "The bakery's cookies use a recipe that the owner's grandmother brought from the old country, "
        "and the shop still accepts orders by letter."
    )
    cleaned, _ = counted(text)
    assert cleaned.text == text


def test_main_block_keeps_the_body_between_page_furniture():
    body = [
        "The council met on Monday evening and agreed to repair the bridge before the winter storms arrive.",
        "Engineers said the work would take four months and cost less than the council had feared.",
        "Residents who spoke at the meeting asked for a temporary footpath while the bridge is closed.",
    ]
    page = "\n".join(
        [
            "Main menu",
            "Local news",
            "Sport",
            "Weather",
            "",
            *body,
            "",
            "Related stories",
            "Five things to do this weekend",
            "Council tax explained",
            "Contact us",
        ]
    )
    cleaned, counters = counted(page)
    assert cleaned.text == "\n".join(body)
    assert counters["line-filtered:outside_main_block"] + counters.get("line-filtered:edge_short", 0) == 8


def test_text_without_prose_is_kept_whole():
    notes = "Bring the blue folder\nCall the plumber about the sink\nBuy milk eggs and flour"
    cleaned, counters = counted(notes)
    assert isinstance(cleaned, Document) and cleaned.text == notes
    assert "line-filtered:outside_main_block" not in counters


def test_leading_header_becomes_fields():
    cleaned, _ = counted("date 2025-03-13 09:15\nurl https://news.example/a\ntitle: A Title\nBody text of the article.")
    assert (cleaned.date, cleaned.url, cleaned.title, cleaned.text) == (
        "2025-03-13",
        "https://news.example/a",
        "A Title",
        "Body text of the article.",
    )


def test_headline_starting_with_title_is_not_a_header():
    cleaned, _ = counted("Title IX rules change again\n\nThe department said on Monday that the rules will change.")
    assert cleaned.title == "Title IX rules change again"  # as a header it would read "IX rules change again"


def test_unicode_repair_and_whitespace():
    cleaned, _ = counted("The caf\u00c3\u00a9 opened\u00a0 today.\r\n\r\n\r\n\x00Second\tline\u200b here.")
    assert cleaned.text == "The café opened today.\n\nSecond line here."


def test_empty_after_cleaning_is_rejected():
    result, counters = counted("Home\nMenu\nRead more\n")
    assert isinstance(result, Rejected) and result.reason == "empty_after_cleaning"
    assert counters["filtered:empty_after_cleaning"] == 1


def test_min_words_rejects_short_documents():
    rules = CleanRules.build(CleanConfig(min_words=5))
    result, counters = counted("Only three words.", rules)
    assert isinstance(result, Rejected) and result.reason == "too_short"
    assert counters == {"filtered:too_short": 1}


def test_disabled_cleaning_passes_text_through():
    rules = CleanRules.build(CleanConfig(enabled=False))
    text = "Home\n  raw\u00a0text, unchanged  \n"
    result, counters = counted(text, rules)
    assert result.text == text and result.n_words == 4 and counters == {"passed": 1}


def _every_substitution(text: str) -> str:
    """The whitespace steps of `normalise_text` with every substitution run, checked or not."""
    from transforms.clean import unicode

    text = unicodedata.normalize("NFC", unicode._C0_CONTROL_RE.sub("", text))
    text = unicode._C1_CONTROL_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = unicode._LINE_EDGE_SPACE_RE.sub("\n", unicode._HSPACE_RE.sub(" ", text))
    return unicode.BLANK_LINES_RE.sub("\n\n", text).strip()


_SPACES = st.text(alphabet=" \n\t\r\x0b\x0c\x1c\x1f\xa0\u2000\u3000\x85\x9d\x80abé", max_size=40)


@settings(max_examples=1000, deadline=None)
@given(_SPACES)
def test_the_cheap_checks_skip_only_substitutions_that_change_nothing(text):
    assert normalise_text(text, fix_unicode=False) == unicodedata.normalize("NFC", _every_substitution(text))


@pytest.mark.parametrize(
    "text",
    [" a", "a\n", "a  b", "a \nb", "a\n b", "a\n\n\nb", "a\tb", "a\rb", "a\u00a0b", "a\u3000b", "a\x00b", "a\x85b"]
    + ["a\u200bb", "\ufeffa", "caf\u00c3\u00a9", "Tom &amp; Jerry", "\ufb01ne", "\uff21", "e\u0301", "a\u2028b"],
)
def test_text_with_something_to_normalise_is_not_taken_as_normalised(text):
    assert not is_normalised(text)
    assert is_normalised(normalise_text(text))


# Words and separators, mostly plain, sometimes with what a check of `is_normalised` is about: the
# table look-ups must agree with the regex scans of the full pass on any mix of them.
_WORDS = ["word", "word", "caf\u00e9", "\u00e9\u2019", "\u00c3\u00a9", "\u00c3", "Tom&amp;", "&c.", "e\u0301", "\ufb01"]
_WORDS += ["\x00", "\x1f", "\x85", "\u200b", "\ufeff", "\uff21", "\ufffd", "\ud800", "\u2028"]
_SEPARATORS = [" ", " ", "\n", "\n\n", "\n\n\n", "  ", " \n", "\n ", "\t", "\r\n", "\u00a0", "\u3000"]
_TRICKY = st.tuples(
    st.sampled_from(["", " ", "\n"]),
    st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_SEPARATORS)), max_size=8),
    st.sampled_from(_WORDS),
    st.sampled_from(["", " ", "\n"]),
).map(lambda parts: parts[0] + "".join(w + sep for w, sep in parts[1]) + parts[2] + parts[3])


@settings(max_examples=2000, deadline=None)
@given(_TRICKY | st.text())
def test_the_table_check_agrees_with_the_full_pass(text):
    for fix_unicode in (True, False):
        assert normalise_text(text, fix_unicode) == unicode._normalise_fully(text, fix_unicode)
    if is_normalised(text):
        assert unicode._normalise_fully(text, True) == text


@settings(max_examples=1000, deadline=None)
@given(st.text())
def test_normalise_is_idempotent(text):
    once = normalise_text(text)
    assert normalise_text(once) == once


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Home",
                "Read more",
                "A real sentence here.",
                "",
                "Share this",
                "title: x",
                "We use cookies.",
                "date 2024-01-01",
                "Ünïcödé wörds",
                "\u00a0",
                "x" * 30,
            ]
        ),
        max_size=12,
    ).map("\n".join)
    | st.text()
)
def test_cleaning_never_crashes_and_is_idempotent(text):
    result, _ = counted(text)
    if isinstance(result, Document):
        again, _ = counted(result.text)
        assert isinstance(again, Document) and again.text == result.text


MB = 1_000_000


def every_per_document_step(text: str) -> None:
    """What a worker does to one document: prepare, site line keys, clean, quality rules."""
    rules = CleanRules.build(CleanConfig())
    prepared = prepare_document(doc(text).replace(url="https://x.example/2019/11/19/a"), rules)
    page_line_keys("x.example", prepared.text)
    cleaned = clean_body(prepared, rules)
    if isinstance(cleaned, Document):
        quality_reason(cleaned, QualityConfig())


@pytest.mark.parametrize(
    "make",
    [
        lambda m: "a" * 10 * m,
        lambda m: " " * (m // 10) + "word " * (2 * m),
        lambda m: "!?." * (3 * m),
        lambda m: "cookie " * (m + m // 2),
        lambda m: ("subscribe " + "x" * 150 + " ") * (m * 6 // 100),
        lambda m: "Home\n" * (2 * m),
        lambda m: "November 19, " * (m // 2) + "\n" + "2019/11/19 " * (m // 2),
        lambda m: "{[(" * (3 * m),
        lambda m: ("word " * 20 + "\n\n") * (m // 10),
    ],
    ids=[
        "long-run",
        "spaces",
        "punctuation",
        "cookie-words",
        "subscribe-gaps",
        "many-short-lines",
        "date-like",
        "brackets",
        "many-paragraphs",
    ],
)
def test_adversarial_texts_cost_linear_time(make):
    """About 1 MB and 10 MB of the same pattern: ten times the text costs about ten times the time.
    Both are built alike (not a prefix of the larger), so that a pattern of parts, such as two long
    lines, has the same parts at both sizes."""
    small, text = make(MB // 10), make(MB)
    assert len(text) >= 8 * MB
    started = time.perf_counter()
    every_per_document_step(small)
    small_time = time.perf_counter() - started
    started = time.perf_counter()
    every_per_document_step(text)
    full_time = time.perf_counter() - started
    # Linear with generous noise would be ~10x; quadratic would be ~100x.
    assert full_time < max(25 * small_time, 1.0)


def test_language_is_identified_offline():
    from transforms.clean.language import LanguageIdentifier, with_language

    identifier = LanguageIdentifier()
    samples = {
        "en": "The harbor board voted on Tuesday evening to restore the old wooden ferry pier.",
        "fr": "Le conseil municipal a voté mardi soir pour restaurer la vieille jetée en bois.",
        "de": "Der Stadtrat hat am Dienstagabend beschlossen, den alten Holzsteg zu restaurieren.",
        "es": "El consejo municipal votó el martes por la noche para restaurar el viejo muelle de madera.",
    }
    for lang, text in samples.items():
        found = with_language(doc(text), identifier)
        assert found.lang == lang and found.lang_score > 0.5
    assert identifier.identify("12345 !!! ---") == (None, 0.0)


def test_comment_section_ends_the_body():
    # Web text: one paragraph per line, longer than a hard-wrapped line could be.
    body = [
        "The council met on Monday evening and agreed, after a long debate, to repair the old bridge before the winter storms arrive.",
        "Engineers said the work would take four months and cost less than the council had feared when the cracks were first found.",
    ]
    comments = [
        "Posted in Local news",
        "12 Comments",
        "Jane on May 3 said:",
        "I have waited for this repair for years and I am very glad the council finally agreed to it.",
    ]
    cleaned, counters = counted("\n".join(body + comments))
    assert cleaned.text == "\n".join(body)
    assert counters["line-filtered:comments"] == 3
    again, _ = counted(cleaned.text)
    assert again.text == cleaned.text


def test_unspaced_scripts_count_as_prose():
    body = "今回はそのデスクトップアプリに関する話です。起動の方法と設定の手順を順番に説明していきますので、参考にしてください。"
    page = "\n".join(["ホーム", "カテゴリー", "2019年11月 2019年4月 2019年1月", body, "関連記事"])
    cleaned, _ = counted(page)
    assert cleaned.text == body


def test_link_lists_with_counts_are_not_prose():
    links = [f"Week {i} power rankings and what the coaches said after the game ({100 + i})" for i in range(5)]
    body = (
        "The coach said after the game that the team still believes it can reach the playoffs this season, "
        "although the loss on Monday night made the path much harder than it was a week ago."
    )
    cleaned, _ = counted("\n".join([*links, body]))
    assert cleaned.text == body


def test_hard_wrapped_text_is_told_from_short_web_paragraphs():
    import textwrap

    sentences = [f"Paragraph {i} of the page says one short thing about the harbour and ends." for i in range(12)]
    assert not is_hard_wrapped(sentences)  # each line ends a sentence: web paragraphs, not wrapped lines
    wrapped = textwrap.fill(" ".join(sentences[:6]), width=70) + "\n\n" + textwrap.fill(" ".join(sentences[6:]), width=70)
    assert is_hard_wrapped(wrapped.split("\n"))
    assert paragraphs(wrapped) == [" ".join(sentences[:6]), " ".join(sentences[6:])]
    assert paragraphs("\n".join(sentences)) == sentences
