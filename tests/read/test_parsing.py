import json

import pytest

from transforms.config import ReadConfig
from transforms.metadata import normalise_date
from transforms.read.formats import input_format
from transforms.read.jsonl import parse_jsonl_line
from transforms.read.text_files import parse_text_file
from transforms.records import Document, Rejected, doc_key_for

MAX = 1_000_000
LIMITS = ReadConfig(max_doc_bytes=MAX)


def line(obj) -> bytes:
    return json.dumps(obj).encode()


def test_jsonl_record_fields_and_metadata():
    doc = parse_jsonl_line(
        line(
            {
                "id": 7,
                "text": "Hello world",
                "url": "https://a.example/x",
                "date": "2024-02-03T10:00:00Z",
                "lang": "en",
                "extra": [1],
            }
        ),
        "s.jsonl",
        3,
        LIMITS,
    )
    assert isinstance(doc, Document)
    assert (doc.id, doc.text, doc.url, doc.date, doc.record, doc.source) == (
        "7",
        "Hello world",
        "https://a.example/x",
        "2024-02-03",
        3,
        "s.jsonl",
    )
    assert json.loads(doc.metadata) == {"extra": [1], "lang": "en"}
    assert doc.doc_key == doc_key_for("s.jsonl", 3)


def test_unparseable_date_stays_in_metadata():
    doc = parse_jsonl_line(line({"id": "a", "text": "x y", "date": "last Tuesday"}), "s", 1, LIMITS)
    assert doc.date is None and json.loads(doc.metadata) == {"date": "last Tuesday"}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"[1, 2]", "malformed_json"),
        (line({"id": "a"}), "missing_text"),
        (line({"id": "a", "text": 5}), "bad_text_type"),
        (line({"id": "a", "text": " \n\t "}), "empty_text"),
        (b'{"id": "a", "text": "caf\xe9"}', "invalid_utf8"),
        (line({"id": "a", "text": "x" * 200}), "too_large"),
    ],
)
def test_malformed_records_are_rejected_with_reason_and_location(raw, reason):
    rej = parse_jsonl_line(raw, "shard.jsonl", 12, ReadConfig(max_doc_bytes=100))
    assert isinstance(rej, Rejected)
    assert (rej.reason, rej.source, rej.record) == (reason, "shard.jsonl", 12)


def test_missing_id_gets_location_id():
    doc = parse_jsonl_line(line({"text": "abc"}), "f.jsonl", 4, LIMITS)
    assert doc.id == "f.jsonl#4"


def test_text_file_is_one_document_with_its_path_as_id():
    doc = parse_text_file(b"Some words here.\n", 17, "dir/a.txt", LIMITS)
    assert (doc.id, doc.record, doc.text) == ("dir/a.txt", 0, "Some words here.\n")
    assert parse_text_file(b"   ", 3, "dir/b.txt", LIMITS).reason == "empty_text"
    # A reader keeps only the start of an oversized file; the size it counted decides.
    big = parse_text_file(b"x" * 100, 50_000_000, "dir/c.txt", LIMITS)
    assert (big.reason, big.detail) == ("too_large", f"50000000 bytes > read.max_doc_bytes={MAX}")


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("a.jsonl", "jsonl"),
        ("a.jsonl.gz", "jsonl"),
        ("a.JSONL.ZST", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.txt", "text"),
        ("a.txt.gz", "text"),
    ],
)
def test_input_format_ignores_compression_suffix(path, fmt):
    assert input_format(path) == fmt


def test_normalise_date():
    assert normalise_date("2025-3-7") == "2025-03-07"
    assert normalise_date("2025-02-30") is None
    assert normalise_date(20250101) is None


def test_doc_key_is_stable_and_location_dependent():
    assert doc_key_for("a", 1) == doc_key_for("a", 1)
    assert doc_key_for("a", 1) != doc_key_for("a", 2)
    assert -(1 << 63) <= doc_key_for("x", 0) < (1 << 63)
