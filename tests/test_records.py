import dataclasses
import pickle

import pytest
from apache_beam.coders import coders
from hypothesis import given
from hypothesis import strategies as st

from transforms.dedup.decide import Unit
from transforms.records import Document, count_words, words_up_to


@given(st.text(alphabet=st.sampled_from("ab \t\n\u00a0\u3000\u2028x.")), st.integers(0, 20))
def test_words_up_to_is_the_word_count_capped_past_the_limit(text, limit):
    assert words_up_to(text, limit) == min(count_words(text), limit + 1)


_ASCII_PIECES = st.lists(st.sampled_from(["word", "ab", " ", "  ", "\n", "\t", "\x1c", "\x1f", "\x0b", ".", "x1"]), max_size=40)
_OTHER_PIECES = st.lists(
    st.sampled_from(["word", " ", "\n", "\u00a0", "\u3000", "\u2028", "\x85", "é", "\U0001f600"]), max_size=40
)


@given(st.tuples(_ASCII_PIECES | _OTHER_PIECES, st.integers(1, 200)).map(lambda drawn: "".join(drawn[0]) * drawn[1]))
def test_count_words_is_the_split_count_short_and_long_ascii_or_not(text):
    # From 400 characters on, words are counted on a whitespace mask instead of split.
    assert count_words(text) == len(text.split())


_OPTIONAL_TEXT = st.none() | st.text(max_size=20)
_DOCUMENTS = st.builds(
    Document,
    doc_key=st.integers(-(1 << 63), (1 << 63) - 1),
    id=st.text(max_size=10),
    source=st.text(max_size=10),
    record=st.integers(0, 1 << 40),
    text=st.text(max_size=200),
    url=_OPTIONAL_TEXT,
    title=_OPTIONAL_TEXT,
    lang_score=st.none() | st.floats(allow_nan=False),
    cluster_id=st.none() | st.integers(-(1 << 63), (1 << 63) - 1),
    is_duplicate=st.booleans(),
)


@given(_DOCUMENTS)
def test_documents_pickle_and_code_back_to_equal_documents(doc):
    assert pickle.loads(pickle.dumps(doc, pickle.HIGHEST_PROTOCOL)) == doc
    coder = coders.FastPrimitivesCoder()
    assert coder.decode(coder.encode(doc)) == doc


@given(_DOCUMENTS, st.lists(_DOCUMENTS, max_size=3), st.none() | st.integers(-(1 << 63), (1 << 63) - 1))
def test_units_pickle_and_code_back_to_equal_units(doc, copies, text_key):
    unit = Unit(doc, tuple(copies), None, text_key)
    assert pickle.loads(pickle.dumps(unit, pickle.HIGHEST_PROTOCOL)) == unit
    coder = coders.FastPrimitivesCoder()
    assert coder.decode(coder.encode((7, unit))) == (7, unit)


@given(_DOCUMENTS, st.dictionaries(st.sampled_from([f.name for f in dataclasses.fields(Document)]), _OPTIONAL_TEXT))
def test_replace_is_dataclasses_replace(doc, changes):
    assert doc.replace(**changes) == dataclasses.replace(doc, **changes)


def test_replace_refuses_a_field_a_document_does_not_have():
    doc = Document.read_at("s", 0, "a", "text")
    with pytest.raises(TypeError, match="no field colour"):
        doc.replace(colour="red")
