"""Word tokens as 64-bit hashes, computed over a text's code points with numpy.

The tokens are `re`'s `\\w+` matches in the lower-cased text (`tokenize`), but no token string is
made: the code points go into one array, a table of `\\w` characters marks the words, and each
word's hash is a polynomial over its code points, read off a prefix sum and multiplied back by the
inverse power of where it starts, then mixed with fmix64. That costs about a fifth of
`re.findall` plus one hash per token. The dedup stage's shingles and the cleaning's repeated-
paragraph check both use it; build one `TokenHasher` per worker (in `DoFn.setup()`).
"""

from __future__ import annotations

import functools
import re
import threading

import numpy as np
import xxhash

__all__ = [
    "TokenHasher",
    "TEXT_SEED",
    "shared_hasher",
    "tokenize",
    "fmix",
    "fmix64",
    "BMP",
    "WORD_PLANES",
    "code_point_table",
    "code_points",
    "run_bounds",
    "SPACE_CLASS",
    "ASCII_SPACE",
    "whitespace",
]

_TOKEN_RE = re.compile(r"\w+")
_U64 = np.uint64
_FMIX64 = (_U64(33), _U64(0xFF51AFD7ED558CCD), _U64(33), _U64(0xC4CEB9FE1A85EC53), _U64(33))
_MASK64 = (1 << 64) - 1
_NEWLINE = 10
# Code points hashed per prefix sum: longer texts are cut at a non-word character into spans of at
# most this many (a "word" longer than a span, never a real one, is cut into several tokens).
_SPAN = 1 << 16


def tokenize(text: str) -> list[str]:
    """Lower-cased `\\w+` tokens: what `TokenHasher` hashes, and what the near-duplicate benchmark's
    Jaccard uses."""
    return _TOKEN_RE.findall(text.lower())


def fmix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, elementwise."""
    return fmix(values, _FMIX64)


def fmix(values: np.ndarray, constants: tuple) -> np.ndarray:
    """MurmurHash3's finaliser with the shifts and multipliers of its 32- or 64-bit form."""
    s1, m1, s2, m2, s3 = constants
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s3)


BMP = 0x10000  # code points of the Basic Multilingual Plane: a bound for `code_point_table`
# Code points of planes 0-3: no letter, digit or other word character lies above them (Unicode puts
# only tags, variation selectors and private use there; tests check), so the word classes' tables
# are built below this bound: three classes in 10 ms of CPU instead of 58 ms over all of Unicode.
WORD_PLANES = 0x40000


@functools.cache
def code_point_table(pattern: str, below: int = 0x110000) -> np.ndarray:
    """bool[0x110000]: the code points a one-character `re` class (`pattern`, e.g. r"\\w") matches;
    surrogates and NUL never. Built once per process and pattern from `re` itself (about 20 ms over
    all of Unicode; `below` looks at the code points under it only, for a class that lies there,
    which tests check), so a table lookup agrees with the regex by construction."""
    points = np.arange(below, dtype=np.uint32)
    points[0xD800:0xE000] = 0  # UTF-32 has no surrogates; they stand as NUL here
    table = np.zeros(0x110000, dtype=bool)
    for run in re.finditer(f"(?:{pattern})+", points.tobytes().decode("utf-32-le")):
        table[run.start() : run.end()] = True
    table[0] = table[0xD800:0xE000] = False
    return table


SPACE_CLASS = r"\s"  # whitespace, as `str.split` and `str.isspace` have it; all of it in the first plane
# The same class over ASCII bytes, as a `bytes.translate` table (1: whitespace).
ASCII_SPACE = bytes(b < 128 and chr(b).isspace() for b in range(256))


def whitespace(text: str) -> np.ndarray:
    """bool per code point of `text`: whether it is whitespace (`SPACE_CLASS`). ASCII text is
    translated as bytes (about 1 us for 3.4 KB), other text looked up in the class's table."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii").translate(ASCII_SPACE), dtype=np.bool_)
    return code_point_table(SPACE_CLASS, BMP).take(code_points(text))


def code_points(text: str) -> np.ndarray:
    """uint32 code points of `text`, lone surrogates included."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _powers(base: int, count: int) -> np.ndarray:
    """uint64 [1, base, base^2, ...] modulo 2^64."""
    powers = np.empty(count, dtype=np.uint64)
    powers[0] = 1
    powers[1:] = base
    return np.cumprod(powers, dtype=np.uint64)


def run_bounds(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the runs of True in a bool array (np.diff with prepend/append costs 3x this)."""
    padded = np.zeros(mask.size + 2, dtype=bool)
    padded[1:-1] = mask
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return edges[::2], edges[1::2]


# The seed of the token hashes that the cleaning's repeated-paragraph check and the exact keys read, and
# the dedup step's default (`dedup.seed`), whose MinHash then reuses them.
TEXT_SEED = 1

# Texts whose token hashes a shared hasher remembers: more than the cleaning stage's batch (256), which
# it cleans (hashing each text for its repeated paragraphs) before MinHash hashes the first of them;
# and at most this many characters in all, so that long documents cannot hold much memory (about 30 MB).
_REMEMBERED_TEXTS = 512
_REMEMBERED_CHARS = 4_000_000


@functools.cache
def shared_hasher(seed: int) -> TokenHasher:
    """This process's `TokenHasher` for `seed`, remembering the token hashes of its last texts: the
    cleaning's repeated-paragraph check and MinHash hash the same final text of most documents, and
    the second gets the first one's hashes (one tokenisation for both, 0.03 ms a document)."""
    return TokenHasher(seed, remember=_REMEMBERED_TEXTS, remember_chars=_REMEMBERED_CHARS)


class TokenHasher:
    """uint64 hashes of a text's `tokenize` tokens, in order; the seed draws the polynomial's base.
    With `remember`, the hashes of that many last texts (of `remember_chars` characters in all) are
    kept, read-only, and given again for an equal text; `shared_hasher` makes the one instance a
    process's steps share."""

    def __init__(self, seed: int, remember: int = 0, remember_chars: int = _REMEMBERED_CHARS) -> None:
        base = xxhash.xxh3_64_intdigest(b"token base", seed & _MASK64) | 1  # odd: invertible modulo 2^64
        self._word = code_point_table(r"\w", WORD_PLANES)
        self._base_powers = _powers(base, _SPAN)
        self._inverse_powers = _powers(pow(base, -1, 1 << 64), _SPAN)
        self._remember, self._remember_chars = remember, remember_chars
        self._remembered: dict[str, np.ndarray] = {}
        self._remembered_chars = 0
        self._lock = threading.Lock()  # an SDK worker runs bundles in several threads

    def hashes(self, text: str) -> np.ndarray:
        """The hash of every token of `text`, in order (read-only when remembered)."""
        remembered = self._remembered.get(text)
        return remembered if remembered is not None else self.hashes_and_starts(text)[0]

    def hashes_by_line(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(hashes, the index of the `\\n`-separated line each token stands on)."""
        hashes, starts, points = self.hashes_and_starts(text)
        return hashes, np.searchsorted(np.flatnonzero(points == _NEWLINE), starts)

    def hashes_and_starts(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hashes, where each token starts, the lower-cased text's code points)."""
        points = code_points(text.lower())
        word = self._word.take(points)  # half the time of indexing with the array
        if points.size <= _SPAN:
            hashes, starts = self._span(points, word, 0)
        else:
            parts, start = [], 0
            while start < points.size:
                stop = min(start + _SPAN, points.size)
                if stop < points.size:
                    gaps = np.flatnonzero(~word[start:stop])
                    if gaps.size:
                        stop = start + int(gaps[-1]) + 1
                parts.append(self._span(points[start:stop], word[start:stop], start))
                start = stop
            hashes, starts = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        self._keep(text, hashes)
        return hashes, starts, points

    def _keep(self, text: str, hashes: np.ndarray) -> None:
        """Remember `text`'s hashes, forgetting the oldest texts beyond `remember` or `remember_chars`."""
        if not self._remember or len(text) > self._remember_chars:
            return
        hashes.flags.writeable = False  # given to every caller that hashes this text
        with self._lock:
            if text in self._remembered:
                return
            self._remembered[text] = hashes
            self._remembered_chars += len(text)
            while len(self._remembered) > self._remember or self._remembered_chars > self._remember_chars:
                oldest = next(iter(self._remembered))
                del self._remembered[oldest]
                self._remembered_chars -= len(oldest)

    def _span(self, points: np.ndarray, word: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
        """Hashes and starts of the words of at most _SPAN code points: sum(c_i * base^i) over each
        word, shifted to begin at power 0, then fmix64."""
        starts, ends = run_bounds(word)
        prefix = np.zeros(points.size + 1, dtype=np.uint64)
        np.cumsum(points * self._base_powers[: points.size], out=prefix[1:])
        return fmix64((prefix[ends] - prefix[starts]) * self._inverse_powers[starts]), starts + offset
