"""Tier 1: decompressing readers keep the data before a cut and then raise, for every codec."""

import bz2
import gzip
import io
import lzma
import random

import pytest
import zstandard

from transforms.read.compressed import TruncatedStream, compression_of, decompressing_reader

RNG = random.Random(5)
DATA = "".join(f"line {i} {RNG.random()} {RNG.random()}\n" for i in range(60_000)).encode()
CODECS = {
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def read_all(handle) -> tuple[bytes, Exception | None]:
    out = []
    try:
        while chunk := handle.read(1 << 20):
            out.append(chunk)
    except TruncatedStream as err:
        return b"".join(out), err
    return b"".join(out), None


@pytest.mark.parametrize("kind", sorted(CODECS))
def test_a_whole_stream_reads_back_exactly(kind):
    assert read_all(decompressing_reader(io.BytesIO(CODECS[kind](DATA)), kind)) == (DATA, None)


@pytest.mark.parametrize("kind", sorted(CODECS))
def test_a_cut_stream_returns_its_start_then_raises(kind):
    compressed = CODECS[kind](DATA)
    data, err = read_all(decompressing_reader(io.BytesIO(compressed[: len(compressed) * 3 // 4]), kind))
    assert isinstance(err, TruncatedStream)
    assert DATA.startswith(data) and len(data) >= len(DATA) // 4  # the start is there, and correct


def test_concatenated_members_and_frames_are_read_whole():
    for kind in ("gzip", "zstd"):
        double = CODECS[kind](DATA) + CODECS[kind](DATA)
        assert read_all(decompressing_reader(io.BytesIO(double), kind)) == (DATA + DATA, None)


def test_compression_from_the_file_name():
    assert [compression_of(p) for p in ("a.jsonl.gz", "b.ZST", "c.zstd", "d.bz2", "e.xz", "f.jsonl")] == [
        "gzip",
        "zstd",
        "zstd",
        "bz2",
        "xz",
        None,
    ]
