import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms import tokens
from transforms.clean import quality, unicode
from transforms.tokens import TokenHasher, tokenize

HASHER = TokenHasher(11)


def _tokens_hashed_one_by_one(text: str, hasher: TokenHasher = HASHER) -> np.ndarray:
    hashes = [hasher.hashes(token) for token in tokenize(text)]
    assert all(h.size == 1 for h in hashes)
    return np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)


def test_tokens_are_lowercased_re_words():
    assert tokenize("Hello, WORLD! it's") == ["hello", "world", "it", "s"]


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(exclude_categories=()), max_size=200)
    | st.from_regex(r"(\w{1,8}[ .,;'\n-]{1,3}){0,30}", fullmatch=True)
)
def test_token_hashes_are_the_hashes_of_the_re_tokens(text):
    """The code-point hashing finds exactly `re`'s \\w+ tokens of the lower-cased text (surrogates,
    combining marks, digits and underscores included), and a token hashes the same wherever it stands."""
    assert np.array_equal(HASHER.hashes(text), _tokens_hashed_one_by_one(text))
    hashes, lines = HASHER.hashes_by_line(text)
    per_line = [len(tokenize(line)) for line in text.lower().split("\n")]
    assert np.array_equal(lines, np.repeat(np.arange(len(per_line)), per_line))


def test_equal_tokens_hash_equal_and_distinct_tokens_differ():
    words = sorted({f"{a}{b}" for a in "abcdefghijklmnopqrstuvwxyzé" for b in "0123456789xyzß_ü"} | {"ǅ", "ﬁ", "x" * 40})
    hashes = HASHER.hashes(" ".join(words))
    assert len(set(hashes.tolist())) == len(words)
    assert np.array_equal(HASHER.hashes(" ".join(words[::-1])), hashes[::-1])
    assert not np.array_equal(TokenHasher(12).hashes("same words"), HASHER.hashes("same words"))


def test_a_text_longer_than_a_span_hashes_as_its_tokens(monkeypatch):
    monkeypatch.setattr(tokens, "_SPAN", 64)  # spans of 64 code points, cut at a non-word character
    hasher = TokenHasher(11)
    text = "\n".join(f"word{i}, ünïcode{i}." for i in range(300))
    assert np.array_equal(hasher.hashes(text), _tokens_hashed_one_by_one(text, hasher))
    _, lines = hasher.hashes_by_line(text)
    assert np.array_equal(lines, np.repeat(np.arange(300), 2))
    long_word = "y" * 150  # no non-word character in a span: cut into tokens of at most 64
    assert hasher.hashes(f"a {long_word} b").size == 5


@pytest.mark.parametrize(
    "pattern, bound",
    [
        *((pattern, tokens.BMP) for pattern in [*unicode.BMP_CLASSES, quality.SPACE_CLASS]),
        *((pattern, tokens.WORD_PLANES) for pattern in [r"\w", r"\d", quality._LETTER_CLASS]),
    ],
)
def test_tables_built_below_a_bound_are_whole(pattern, bound):
    """A class whose table the steps build below a bound matches nothing above it: the table equals
    the one built over all of Unicode."""
    full = tokens.code_point_table(pattern)
    assert full[:bound].any() and not full[bound:].any()
    assert np.array_equal(tokens.code_point_table(pattern, bound), full)


def test_a_remembering_hasher_gives_a_texts_hashes_again_read_only_and_forgets_the_oldest():
    hasher = tokens.TokenHasher(5, remember=3)
    first = hasher.hashes_and_starts("one two three")[0]
    again = hasher.hashes("".join(["one two ", "three"]))  # an equal text, not the same object
    assert again is first and not again.flags.writeable
    assert np.array_equal(again, tokens.TokenHasher(5).hashes("one two three"))
    for text in ("a b", "c d", "e f"):
        hasher.hashes(text)
    assert "one two three" not in hasher._remembered and len(hasher._remembered) == 3
    small = tokens.TokenHasher(5, remember=100, remember_chars=10)
    for text in ("abcd", "efgh", "ijkl", "a much longer text than ten characters"):
        small.hashes(text)
    assert list(small._remembered) == ["efgh", "ijkl"]  # at most ten characters in all; a longer text never
    plain = tokens.TokenHasher(5)
    assert plain.hashes("one two").flags.writeable and not plain._remembered  # a plain hasher keeps nothing


def test_cleaning_and_minhash_share_one_hasher_with_the_default_seed():
    from transforms.clean.document import CleanRules
    from transforms.config import CleanConfig, DedupConfig
    from transforms.dedup.minhash import MinHasher

    seed = DedupConfig().seed
    assert CleanRules.build(CleanConfig()).tokens is MinHasher(128, 5, seed)._tokens is tokens.shared_hasher(seed)
    assert MinHasher(128, 5, seed + 1)._tokens is not tokens.shared_hasher(seed)


def test_the_ascii_whitespace_table_is_the_regex_class():
    table = tokens.code_point_table(tokens.SPACE_CLASS)
    for b in range(128):
        assert tokens.whitespace(chr(b))[0] == table[b] == chr(b).isspace()
    assert tokens.whitespace("a\u00a0b").tolist() == [False, True, False]  # the non-ASCII path
