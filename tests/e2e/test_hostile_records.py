"""Property tests: no record's content makes a per-record step raise. Each case runs the whole chain
of steps (tests/record_chain.py) and must end in a Document whose Parquet row is valid, or in a
Rejected row with a named reason."""

from __future__ import annotations

import gzip
import json
import time
import zlib

import pytest
import zstandard
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import DATA
from tests.record_chain import RecordChain
from transforms.clean.language import LanguageIdentifier
from transforms.config import ReadConfig
from transforms.read.compressed import decompressing_reader
from transforms.records import Document, Rejected

CHAIN = RecordChain(ReadConfig(max_doc_bytes=20_000_000))
QUICK = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The characters scraped text is made of, and the ones that break naive code.
HOSTILE = st.one_of(
    st.characters(codec=None),  # any code point, lone surrogates included
    st.sampled_from(list("\x00\x01\x07\x0b\x0c\x1b\x7f\x85\x9f\u00a0\u2028\u2029\u200b\u200d\ufeff\ufffd")),
    st.sampled_from(["\u202e", "\u202d", "\u2066", "\u2069", "\u200f"]),  # bidi controls
    st.sampled_from(["e\u0301", "\u0915\u094d\u0937", "a" + "\u0300" * 30]),  # combining sequences
    st.sampled_from(["\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f3f3\ufe0f\u200d\U0001f308"]),  # ZWJ emoji
    st.sampled_from([" ", "\n", "\r\n", "\t", ".", "...", "{", "}", "|", "•", "-", "lorem ipsum"]),
)
HOSTILE_TEXT = st.lists(HOSTILE, max_size=400).map("".join)
WORDY_TEXT = st.lists(st.one_of(HOSTILE, st.sampled_from(["the", "and", "of", "news", "report", "a", "to"])), max_size=600).map(
    " ".join
)
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), HOSTILE_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(HOSTILE_TEXT, inner, max_size=4)),
    max_leaves=20,
)


def finished(result: Document | Rejected) -> None:
    assert isinstance(result, Document | Rejected)
    if isinstance(result, Rejected):
        assert result.reason and not result.reason.startswith("internal_error")


@QUICK
@given(HOSTILE_TEXT)
def test_any_text_is_cleaned_or_rejected(text):
    finished(CHAIN.text(text))


@QUICK
@given(WORDY_TEXT, st.one_of(st.none(), HOSTILE_TEXT))
@example(text="0", url="\ud800")  # a host of a lone surrogate: the site's shuffle key could not encode it
@example(text="the news of the day and a report to the people. " * 5, url="https://example.org/\ud800")
def test_any_wordy_text_with_any_url_is_cleaned_or_rejected(text, url):
    finished(CHAIN.text(text, url=url))


@QUICK
@given(st.dictionaries(st.sampled_from(["id", "text", "url", "date", "title", "x"]), JSON_VALUE, max_size=6))
def test_json_with_any_type_in_any_field(obj):
    finished(CHAIN.jsonl(json.dumps(obj).encode()))


@QUICK
@given(HOSTILE_TEXT)
def test_json_escapes_of_any_text_including_lone_surrogates(text):
    """json.dumps escapes lone surrogates as `\\udXXX`, as scraped dumps do."""
    result = CHAIN.jsonl(json.dumps({"id": text, "text": text, "url": text, "meta": {text: text}}).encode())
    finished(result)
    if isinstance(result, Document):
        for value in (result.id, result.text, result.url, result.metadata):
            assert value is None or "\ud800" not in value


@QUICK
@given(st.binary(max_size=2000))
def test_any_bytes_as_a_jsonl_line_a_text_file_or_a_warc_payload(raw):
    finished(CHAIN.jsonl(raw))
    finished(CHAIN.text_file(raw))
    finished(CHAIN.warc_record("response", "text/html; charset=utf-8", raw))
    finished(CHAIN.warc_record("conversion", "text/plain", raw))


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"[" * 10_000 + b"]" * 10_000, "too_deep_json"),  # crashed the reading of its file before
        (b'{"text": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", "too_deep_json"),
        (b'{"id": 1, "text": 5}', "bad_text_type"),
        (b'{"text": ' + b"9" * 5_000 + b"}", "malformed_json"),  # more digits than Python converts
        (b"\xef\xbb\xbf" + b'{"text": ["a"]}', "bad_text_type"),  # a BOM is skipped, not an error
    ],
)
def test_json_that_broke_or_could_break_the_parser_is_a_named_rejection(raw, reason):
    result = CHAIN.jsonl(raw)
    assert isinstance(result, Rejected) and result.reason == reason


def test_duplicate_keys_huge_numbers_and_crlf_are_read():
    raw = b'{"text": "first", "text": "The second text wins, as in every JSON reader.", "n": 1e400, "big": 123456789012345678901234567890}\r'
    doc = CHAIN.jsonl(raw.rstrip(b"\r"))
    assert isinstance(doc, Document) and doc.text.startswith("The second")
    assert json.loads(doc.metadata)["big"] == 123456789012345678901234567890


def test_a_lone_surrogate_no_longer_reaches_the_language_model():
    """fastText's predict raised TypeError on one: that crashed whole runs."""
    assert LanguageIdentifier().identify("Ceci est un texte \ud800 en français, assez long.")[0] == "fr"
    doc = CHAIN.jsonl(json.dumps({"text": "A lone \ud800 surrogate in a sentence that is long enough to keep."}).encode())
    assert isinstance(doc, Document) and "\ufffd" in doc.text


@pytest.mark.parametrize(
    "text, reason",
    [
        ("word " * 10 + "x" * 20_000, "too_long_word"),
        ("short line\n" * 250_000, "too_many_lines"),
        ("y " * 600_000, "too_long_line"),
    ],
)
def test_a_record_over_a_limit_is_rejected_with_the_limit_named(text, reason):
    result = CHAIN.jsonl(json.dumps({"text": text}).encode())
    key = {"too_long_word": "read.max_word_chars", "too_many_lines": "read.max_lines", "too_long_line": "read.max_line_chars"}
    assert isinstance(result, Rejected) and result.reason == reason and key[reason] in result.detail


@pytest.mark.parametrize(
    "text",
    [
        "One line of words that goes on. " * 150_000,  # a 5 MB line
        "short\n" * 100_000,  # 100k short lines
        "",
        " \n\t\r\n ",
    ],
)
def test_extreme_shapes_finish_in_bounded_time(text):
    started = time.monotonic()
    finished(CHAIN.text(text))
    assert time.monotonic() - started < 60


def _mutations(data: bytes, seed: int, count: int) -> list[bytes]:
    """`count` copies of `data`, each with a few bytes flipped, cut or repeated at seeded places."""
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(count):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(buf))
            op = rng.randrange(3)
            if op == 0:
                buf[at] ^= 1 << rng.randrange(8)
            elif op == 1:
                del buf[at : at + rng.randint(1, 64)]
            else:
                buf[at:at] = buf[at : at + rng.randint(1, 64)]
        out.append(bytes(buf))
    return out


SAMPLE = b"\n".join(json.dumps({"id": i, "text": f"Record {i} says something useful here."}).encode() for i in range(50)) + b"\n"


@pytest.mark.parametrize(
    "name, data",
    [
        ("gzip", gzip.compress(SAMPLE)),
        ("zstd", zstandard.ZstdCompressor().compress(SAMPLE)),
    ],
)
def test_mutated_compressed_shards_decode_or_raise_a_read_error(name, data):
    """Byte-level mutations of a compressed shard: the reader gives bytes or raises (the run turns
    that into a `truncated_file`/`read_error` row); each line it gives is parsed without raising."""
    import io

    for mutated in _mutations(data, seed=len(name), count=200):
        reader, chunks = decompressing_reader(io.BytesIO(mutated), name), []
        try:
            while chunk := reader.read(1 << 16):
                chunks.append(chunk)
        except (OSError, EOFError, ValueError, zlib.error, zstandard.ZstdError):
            pass  # the run keeps the lines decoded before the error, as here
        text = b"".join(chunks)
        for line in text.split(b"\n"):
            if line.strip():
                finished(CHAIN.jsonl(line))


def test_mutated_warc_samples_are_read_or_rejected(tmp_path):
    """Byte-level mutations of a real WARC, read by the run itself: it succeeds and its accounting holds."""
    from pipelines.cli import main

    warc = (DATA / "warc" / "whirlwind.warc.gz").read_bytes()
    shards = tmp_path / "in"
    shards.mkdir()
    for i, mutated in enumerate(_mutations(warc, seed=3, count=12)):
        (shards / f"m{i}.warc.gz").write_bytes(mutated)
    out = tmp_path / "out"
    assert main(["run", "--input", str(shards / "*"), "--output", str(out), "--set", "quality.enabled=false"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["accounting_ok"] and stats["input_files"] == 12 and stats["internal_errors"] == 0
