from hypothesis import given
from hypothesis import strategies as st

from transforms.records import count_words, words_up_to


@given(st.text(alphabet=st.sampled_from("ab \t\n\u00a0\u3000\u2028x.")), st.integers(0, 20))
def test_words_up_to_is_the_word_count_capped_past_the_limit(text, limit):
    assert words_up_to(text, limit) == min(count_words(text), limit + 1)
