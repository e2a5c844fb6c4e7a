import dataclasses

import pytest

from transforms.config import QualityConfig
from transforms.quality import quality_reason
from transforms.records import Document

SENTENCE = "The council agreed to repair the old bridge and to open a footpath with new lights."
GOOD = " ".join([SENTENCE.replace("old", f"old{i}") for i in range(6)])


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
        (" ".join(["Lorem ipsum dolor sit amet consectetur adipiscing elit sed do"] * 8), "gopher_stop_words"),
        ("\n".join([SENTENCE] * 10 + [GOOD]), "gopher_duplicate_lines"),
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
    ],
)
def test_each_rule_names_itself(text, reason):
    assert quality_reason(doc(text), QualityConfig()) == reason


def test_stop_words_rule_applies_to_english_only():
    latin = " ".join(["Lorem ipsum dolor sit amet consectetur adipiscing elit sed do"] * 8)
    assert quality_reason(doc(latin, lang="la"), QualityConfig()) is None


def test_thresholds_come_from_config():
    config = dataclasses.replace(QualityConfig(), min_words=1)
    assert quality_reason(doc("Too short to keep, said the fox to the hen."), config) is None
