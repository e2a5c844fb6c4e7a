import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.clean.quality import _STOP_WORDS, quality_reason, stop_word_counts, word_counts
from transforms.config import QualityConfig
from transforms.records import Document

SENTENCE = "The council agreed to repair the old bridge and to open a footpath with new lights."
GOOD = " ".join([SENTENCE.replace("old", f"old{i}") for i in range(6)])
LATIN = " ".join(f"Gallia est omnis divisa in partes {i}, quarum unam incolunt Belgae." for i in range(8))
LINES = [SENTENCE.replace("old", f"old{i}") for i in range(10)]
# Many one-word lines between long ones: more than 0.3 newlines per word, fewer than 67% short lines.
CHOPPY = "\n".join(f"Yes{i}.\nCouncillors inspected crumbling bridge{i}." if i < 20 else f"Yes{i}." for i in range(30))


def doc(text: str, lang: str | None = "en") -> Document:
    return Document(doc_key=1, id="d", source="s", record=1, text=text, lang=lang)


def test_ordinary_prose_passes():
    assert quality_reason(doc(GOOD), QualityConfig()) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Too short to keep.", "gopher_word_count"),
        (" ".join(["a b c"] * 40), "gopher_mean_word_length"),
        (" ".join(["incomprehensibilities"] * 60), "gopher_mean_word_length"),
        (GOOD + " #tag" * 20, "gopher_symbol_ratio"),
        ("\n".join(f"- item number {i} in this long list of things" for i in range(20)), "gopher_bullet_lines"),
        ("\n".join(f"{SENTENCE} and then..." for _ in range(4)) + "\n" + GOOD, "gopher_ellipsis_lines"),
        (" ".join(["1234 5678 90 --"] * 30) + " " + GOOD[:200], "gopher_alpha_words"),
        (LATIN, "gopher_stop_words"),
        ("\n".join([SENTENCE] * 10 + [GOOD]), "gopher_duplicate_lines"),
        (GOOD + " Lorem ipsum dolor sit amet.", "c4_lorem_ipsum"),
        (GOOD + " The code if (x) { y(); } ran.", "c4_curly_bracket"),
        (GOOD.replace(".", ";"), "c4_too_few_sentences"),
        ("\n".join(f"{line} Then line {i} ends without a stop" for i, line in enumerate(LINES)), "fineweb_line_punct"),
        ("\n".join([f"Short line number {i} here." for i in range(25)] + [GOOD]), "fineweb_short_lines"),
        ("\n".join([*LINES, LINES[0]]), "fineweb_char_duplicates"),
    ],
    ids=[
        "few-words",
        "short-words",
        "long-words",
        "symbols",
        "bullets",
        "ellipses",
        "non-alpha",
        "no-stop-words",
        "repeated-lines",
        "lorem-ipsum",
        "curly-bracket",
        "few-sentences",
        "line-punctuation",
        "short-lines",
        "duplicated-characters",
    ],
)
def test_each_rule_names_itself(text, reason):
    assert quality_reason(doc(text), QualityConfig()) == reason


def test_newline_ratio_rule_for_text_that_is_mostly_line_breaks():
    assert quality_reason(doc(CHOPPY, lang=None), QualityConfig()) == "fineweb_newline_ratio"
    relaxed = dataclasses.replace(QualityConfig(), fineweb_max_newline_ratio=0.5)
    assert quality_reason(doc(CHOPPY, lang=None), relaxed) is None


def test_stop_words_rule_applies_to_english_only():
    assert quality_reason(doc(LATIN, lang="la"), QualityConfig()) is None


def test_c4_page_rules_can_be_turned_off():
    code = GOOD + " The code if (x) { y(); } ran."
    assert quality_reason(doc(code), dataclasses.replace(QualityConfig(), c4_curly_bracket=False)) is None


def test_thresholds_come_from_config():
    config = dataclasses.replace(QualityConfig(), min_words=1, c4_min_sentences=1)
    assert quality_reason(doc("Too short to keep, said the fox to the hen."), config) is None


def test_fineweb_ratios_count_paragraphs_of_hard_wrapped_text():
    # A book's lines break inside sentences (few end in punctuation); its paragraphs are what count.
    import textwrap

    paragraph = " ".join(LINES[:8])
    wrapped = "\n\n".join(textwrap.fill(paragraph.replace("old", f"old{p}-"), width=70) for p in range(3))
    assert sum(line.endswith(".") for line in wrapped.split("\n") if line) < 0.12 * wrapped.count("\n")
    assert quality_reason(doc(wrapped), QualityConfig()) is None


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(["en", "de", None]))
def test_quality_rules_never_crash(text, lang):
    reason = quality_reason(doc(text, lang=lang), QualityConfig())
    assert reason is None or reason.startswith(("gopher_", "c4_", "fineweb_"))


def test_quality_score_ranks_prose_above_list_like_text():
    from transforms.clean.quality import quality_score

    prose = quality_score(doc(GOOD))
    listing = quality_score(doc("\n".join(f"item {i} 12 34" for i in range(30))))
    assert 0.0 <= listing < prose <= 1.0
    assert quality_score(doc("")) == 0.0


def test_the_ascii_tables_are_the_regex_classes():
    from transforms.clean.quality import _ASCII_LETTER, _ASCII_WORD, _LETTER_CLASS
    from transforms.tokens import SPACE_CLASS, code_point_table

    assert list(_ASCII_WORD[:128]) == [int(not v) for v in code_point_table(SPACE_CLASS)[:128]]
    assert list(_ASCII_LETTER[:128]) == [int(v) for v in code_point_table(_LETTER_CLASS)[:128]]


# The rule as a regex: a whitespace-delimited word none of whose characters is a letter.
_NO_LETTER_WORD_RE = re.compile(r"(?<!\S)(?:(?![^\W\d_])\S)+(?!\S)")


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet=st.characters(exclude_categories=()), max_size=60)
    | st.text(alphabet=st.characters(max_codepoint=127, exclude_categories=()), max_size=60)
    | st.lists(
        st.sampled_from(["word", "42", "_", "3.5%", "é", "٣", "Ⅻ", " ", "\n", "\u00a0", "\u2028", "\x1c", "\u3000", "--", "x1"]),
        max_size=30,
    ).map("".join)
)
def test_word_counts_equal_split_and_the_no_letter_regex(text):
    words = text.split()
    assert word_counts(text) == (len(words), sum(map(len, words)), len(_NO_LETTER_WORD_RE.findall(text)))


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.sampled_from(["the", "The", "THE", "tHe", "and", "That", "with", "WITH", "be", "to", "of", "have", "theme"])
        | st.sampled_from(
            ["the,", "(of", "w\u0130th", "\u0130", "\u212a", "t\u0301he", "th\u00e9", "\u0174he", "a", "b", "abcd", "x1"]
        )
        | st.sampled_from([" ", "\n", "  ", "\u00a0", "\u3000", "\x1c", "\t"]),
        max_size=40,
    ).map("".join)
    | st.text(max_size=40)
    | st.text(alphabet=st.characters(max_codepoint=127, exclude_categories=()), max_size=40)
)
def test_stop_words_equal_those_of_lower_split(text):
    words = text.lower().split()
    assert stop_word_counts(text) == (sum(word in _STOP_WORDS for word in words), len(_STOP_WORDS.intersection(words)))
