"""Word n-gram shingles, MinHash signatures and LSH band keys, vectorised with numpy.

Signatures are datasketch's: the permutations are those of `datasketch.MinHash(num_perm, seed)`
(scheme `affine32`, drawn here the same way, because importing datasketch costs 0.4 s of every
run's start-up: it imports scipy) and each shingle's 32-bit hash goes through the same fmix32 +
affine map, so `MinHash(..., hashfunc=...)` over the same shingle hashes gives identical hash
values (tests check this for several sizes and seeds). What we do instead of datasketch's
per-shingle Python loop is hash all tokens of a text at once (`transforms.tokens`) and combine them
into n-gram hashes and signatures as whole arrays. SCHEME names the way shingles and exact keys are
hashed: an index written by another scheme does not compare and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xxhash

from transforms.tokens import fmix, fmix64, shared_hasher, tokenize

__all__ = [
    "MinHasher",
    "affine32_permutations",
    "tokenize",
    "optimal_bands_rows",
    "candidate_probability",
    "estimated_jaccard",
    "exact_jaccard",
    "containment_from_jaccard",
    "band_keys",
    "lsh_parameters",
    "SCHEME",
]

# Version of the text hashing (shingles and exact keys): part of an index's parameters
# (`transforms.dedup.index`). 1: xxh3 of each `re` token; 2: `transforms.tokens` code-point polynomial
# hashes; 3: exact keys of the token hashes instead of the normalised characters.
SCHEME = 3

_U64 = np.uint64
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
_MAX32 = np.uint32(0xFFFFFFFF)
_CHUNK = 4096  # shingles per permutation block: bounds memory at num_perm * _CHUNK * 4 bytes


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique of a 1-d array, by a sort and a mask: numpy 2's np.unique hashes first, which costs
    30 us on 500 values against 3 us this way."""
    values = np.sort(values)
    if values.size < 2:
        return values
    keep = np.empty(values.size, dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def affine32_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b), uint32[num_perm] each: datasketch 2.0's `affine32` permutations h -> a * h + b mod 2^32,
    drawn as its `MinHash._init_permutations` draws them (odd `a`, so each map is a bijection)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


@dataclass
class MinHasher:
    """Shingling and signatures for one (num_perm, ngram, seed); build once per worker in `setup()`."""

    num_perm: int
    ngram: int
    seed: int

    def __post_init__(self) -> None:
        self._a, self._b = (column[:, None] for column in affine32_permutations(self.num_perm, self.seed))
        rng = np.random.RandomState(self.seed)
        # One odd multiplier per position in the n-gram makes the n-gram hash order-sensitive.
        self._positions = (rng.randint(0, 1 << 62, self.ngram, dtype=np.uint64) * _U64(2) + _U64(1)).astype(np.uint64)
        self._tokens = shared_hasher(self.seed)  # the cleaning hashed most final texts already

    def shingle_hashes(self, text: str) -> np.ndarray:
        """Sorted unique 64-bit hashes of the text's word n-grams (the whole text if it is shorter)."""
        hashes = self._tokens.hashes(text)
        if not hashes.size:
            return np.empty(0, dtype=np.uint64)
        n = min(self.ngram, len(hashes))
        width = len(hashes) - n + 1
        combined = hashes[:width] * self._positions[0]
        for j in range(1, n):
            combined += hashes[j : j + width] * self._positions[j]
        return _sorted_unique(fmix64(combined))

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """uint32[num_perm] MinHash of a shingle-hash set; all-max for the empty set, as datasketch."""
        values = np.full(self.num_perm, _MAX32, dtype=np.uint32)
        if shingles.size == 0:
            return values
        low = fmix((shingles & _U64(0xFFFFFFFF)).astype(np.uint32), _FMIX32)
        for start in range(0, low.size, _CHUNK):
            block = low[None, start : start + _CHUNK]
            np.minimum(values, (self._a * block + self._b).min(axis=1), out=values)
        return values

    @staticmethod
    def datasketch_input(shingles: np.ndarray) -> list[int]:
        """The 32-bit values to feed `datasketch.MinHash(hashfunc=int)` to get `signature()`."""
        return [int(v) for v in (shingles & _U64(0xFFFFFFFF))]


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[int]:
    """One signed 64-bit key per band; the band index seeds the hash so bands never share keys."""
    data = signature.tobytes()
    width = rows * signature.itemsize
    return [xxhash.xxh3_64_intdigest(data[i * width : (i + 1) * width], i) - (1 << 63) for i in range(bands)]


def candidate_probability(similarity: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """Probability that two documents of this Jaccard share at least one band (the LSH S-curve)."""
    return 1.0 - (1.0 - np.power(similarity, rows)) ** bands


def _area(lo: float, hi: float, fn) -> float:
    xs = np.linspace(lo, hi, 201)
    ys = fn(xs)
    return float(np.sum((ys[1:] + ys[:-1]) * np.diff(xs)) / 2.0)


def optimal_bands_rows(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """Bands x rows minimising the weighted false-positive and false-negative areas of the S-curve.

    The same objective as datasketch's private `lsh._optimal_param`, re-implemented so that we do
    not depend on a private function.
    """
    best, best_cost = (1, num_perm), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = _area(0.0, threshold, lambda s, b=bands, r=rows: candidate_probability(s, b, r))
            fn = _area(threshold, 1.0, lambda s, b=bands, r=rows: 1.0 - candidate_probability(s, b, r))
            cost = fp_weight * fp + fn_weight * fn
            if cost < best_cost:
                best, best_cost = (bands, rows), cost
    return best


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / float(a.size)


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted unique shingle-hash arrays."""
    if a.size == 0 and b.size == 0:
        return 1.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / float(a.size + b.size - inter)


def containment_from_jaccard(
    jaccard: float | np.ndarray, size_a: int | np.ndarray, size_b: int | np.ndarray
) -> float | np.ndarray:
    """|A ∩ B| / |A| implied by a Jaccard and the two set sizes (0 for an empty A); elementwise over
    arrays, a float for scalars."""
    inter = np.multiply(jaccard, np.add(size_a, size_b)) / np.add(1.0, jaccard)
    contained = np.where(np.greater(size_a, 0), np.minimum(1.0, inter / np.maximum(size_a, 1)), 0.0)
    return contained if np.ndim(contained) else float(contained)


def lsh_parameters(threshold: float, num_perm: int, target_recall: float = 0.99) -> tuple[int, int]:
    """Bands x rows that make a pair at `threshold` a candidate with probability >= `target_recall`.

    Candidates are verified afterwards, so a false positive costs a comparison while a false
    negative is a duplicate lost for good; among the choices that reach the target we take the one
    with the fewest false candidates below the threshold (most rows, then fewest bands). When no
    choice reaches it, fall back to the FN-weighted optimum of `optimal_bands_rows`.
    """
    best: tuple[int, int] | None = None
    best_fp = float("inf")
    for rows in range(1, num_perm + 1):
        bands = next(
            (b for b in range(1, num_perm // rows + 1) if candidate_probability(threshold, b, rows) >= target_recall), None
        )
        if bands is None:
            continue
        fp = _area(0.0, threshold, lambda s, b=bands, r=rows: candidate_probability(s, b, r))
        if fp < best_fp:
            best, best_fp = (bands, rows), fp
    return best if best is not None else optimal_bands_rows(threshold, num_perm, 0.1, 0.9)
