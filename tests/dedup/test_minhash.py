import numpy as np
import pytest
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from transforms.dedup.minhash import (
    MinHasher,
    affine32_permutations,
    band_keys,
    candidate_probability,
    containment_from_jaccard,
    estimated_jaccard,
    exact_jaccard,
    lsh_parameters,
    optimal_bands_rows,
    tokenize,
)

WORDS = [f"w{i}" for i in range(400)]


def text_of(indices) -> str:
    return " ".join(WORDS[i] for i in indices)


def test_signature_equals_datasketch_minhash():
    hasher = MinHasher(num_perm=128, ngram=5, seed=7)
    shingles = hasher.shingle_hashes("The quick brown fox jumps over the lazy dog while the cat sleeps in the sun.")
    reference = MinHash(num_perm=128, seed=7, hashfunc=int)
    reference.update_batch(MinHasher.datasketch_input(shingles))
    assert np.array_equal(reference.hashvalues, hasher.signature(shingles))


@pytest.mark.parametrize("num_perm, seed", [(1, 0), (64, 1), (128, 7), (256, 12345)])
def test_permutations_are_datasketchs(num_perm, seed):
    a, b = affine32_permutations(num_perm, seed)
    reference = MinHash(num_perm=num_perm, seed=seed)
    assert reference.scheme == "affine32"
    assert np.array_equal(a, reference.permutations[0]) and np.array_equal(b, reference.permutations[1])
    assert a.dtype == b.dtype == np.uint32 and np.all(a % 2 == 1)


def test_same_seed_same_signature_other_seed_differs():
    text = text_of(range(100))
    a, b, c = MinHasher(64, 5, 1), MinHasher(64, 5, 1), MinHasher(64, 5, 2)
    assert np.array_equal(a.signature(a.shingle_hashes(text)), b.signature(b.shingle_hashes(text)))
    assert not np.array_equal(a.signature(a.shingle_hashes(text)), c.signature(c.shingle_hashes(text)))


def test_shingles_are_word_ngrams_of_lowercased_tokens():
    hasher = MinHasher(32, 3, 1)
    assert tokenize("Hello, WORLD! it's") == ["hello", "world", "it", "s"]
    assert hasher.shingle_hashes("a b c d").size == 2
    assert np.array_equal(hasher.shingle_hashes("A b C d"), hasher.shingle_hashes("a, b; c. d"))
    assert hasher.shingle_hashes("a b").size == 1  # shorter than n: one shingle of the whole text
    assert hasher.shingle_hashes("  ...  ").size == 0
    assert not np.array_equal(hasher.shingle_hashes("a b c"), hasher.shingle_hashes("c b a"))


@pytest.mark.parametrize("overlap", [0.3, 0.6, 0.8, 0.95])
def test_estimate_tracks_true_jaccard(overlap):
    rng = np.random.default_rng(0)
    hasher = MinHasher(256, 1, 3)
    base = rng.permutation(400)[:200]
    keep = int(len(base) * overlap)
    other = np.concatenate([base[:keep], rng.permutation(np.setdiff1d(np.arange(400), base))[: len(base) - keep]])
    a, b = hasher.shingle_hashes(text_of(base)), hasher.shingle_hashes(text_of(other))
    true = exact_jaccard(a, b)
    est = estimated_jaccard(hasher.signature(a), hasher.signature(b))
    assert abs(est - true) < 4 * np.sqrt(true * (1 - true) / 256) + 0.01


def test_band_keys_are_deterministic_and_band_specific():
    sig = np.arange(16, dtype=np.uint32)
    keys = band_keys(sig, 4, 4)
    assert keys == band_keys(sig.copy(), 4, 4)
    assert len(set(keys)) == 4
    same_rows = np.tile(np.arange(4, dtype=np.uint32), 4)
    assert len(set(band_keys(same_rows, 4, 4))) == 4  # equal rows in two bands never share a key


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.8, 128), (0.7, 128), (0.5, 64), (0.9, 256)])
def test_optimal_bands_rows_matches_datasketch(threshold, num_perm):
    assert optimal_bands_rows(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.8, 128), (0.72, 128), (0.9, 128), (0.8, 256)])
def test_lsh_parameters_reach_recall_target(threshold, num_perm):
    bands, rows = lsh_parameters(threshold, num_perm)
    assert bands * rows <= num_perm
    assert candidate_probability(threshold, bands, rows) >= 0.99


def test_containment_from_jaccard():
    # A (50) inside B (100): intersection 50, union 100, Jaccard 0.5 -> A is fully contained.
    assert containment_from_jaccard(0.5, 50, 100) == pytest.approx(1.0)
    assert containment_from_jaccard(0.5, 100, 50) == pytest.approx(0.5)


def test_shingles_are_sorted_and_unique():
    hasher = MinHasher(32, 2, 3)
    shingles = hasher.shingle_hashes("a b a b a b c d c d " * 20 + "e")
    assert np.array_equal(shingles, np.unique(shingles)) and shingles.size == 7  # ab ba bc cd dc da de
