"""WARC/WET input: the real samples in tests/data/warc (from ../shared/data/warc, with their licences)."""

import json

import pyarrow.dataset as ds
import pytest

from pipelines.cli import main
from tests.conftest import DATA
from transforms.read.formats import input_format
from transforms.read.warc import iter_lenient_records, record_to_document

WARC = DATA / "warc"
HTML = (
    b"<html><head><title>t</title></head><body><nav><a href='/'>Home</a></nav><article><p>"
    + b"The river rose in the night. " * 20
    + b"</p></article></body></html>"
)


def test_archive_names_are_warc_format():
    assert input_format("a.warc.gz") == input_format("b.wet.gz") == input_format("c.warc") == "warc"


def test_conversion_record_is_plain_text():
    doc = record_to_document(
        "conversion",
        {"WARC-Target-URI": "https://x.example/a", "WARC-Record-ID": "<r1>", "WARC-Date": "2024-05-18T01:58:10Z"},
        "text/plain",
        b"Some text here.",
        "a.wet",
        10,
        1000,
    )
    assert (doc.id, doc.url, doc.text, doc.record) == ("<r1>", "https://x.example/a", "Some text here.", 10)
    assert json.loads(doc.metadata) == {"content_type": "text/plain", "warc_type": "conversion"}
    assert doc.crawl_date == "2024-05-18T01:58:10+00:00"  # a fetch time, never the publication `date`
    assert doc.date is None


def test_html_response_goes_through_main_content_extraction():
    doc = record_to_document("response", {"WARC-Record-ID": "<r2>"}, "text/html; charset=utf-8", HTML, "a.warc", 5, 100_000)
    assert doc.text.startswith("The river rose in the night.") and "Home" not in doc.text


def test_unusable_records_are_rejected_with_a_reason():
    image = record_to_document("response", {}, "image/png", b"\x89PNG", "a.warc", 7, 1000)
    assert (image.reason, image.detail, image.id) == ("unsupported_content_type", "image/png", "a.warc@7")
    assert record_to_document("response", {}, "text/html", HTML, "a.warc", 8, 100).reason == "too_large"
    assert record_to_document("conversion", {}, None, b"  \n ", "a.wet", 9, 100).reason == "empty_text"


def test_warc_wet_whole_file_gzip_and_a_corrupt_archive_end_to_end(tmp_path):
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 8)  # a gzip header, then garbage
    out = tmp_path / "o"
    args = [
        "run",
        "--input",
        str(WARC / "*.warc"),
        "--input",
        str(WARC / "whirlwind*.gz"),
        "--input",
        str(WARC / "example-whole-gzip.warc.gz"),
        "--input",
        str(broken),
        "--output",
        str(out),
        "--set",
        "quality.enabled=false",
    ]
    assert main(args) == 0
    docs = {
        r["source"].rsplit("/", 1)[-1]: r for r in ds.dataset(str(out / "documents"), format="parquet").to_table().to_pylist()
    }
    assert set(docs) == {"whirlwind.warc.gz", "whirlwind.warc.wet.gz", "example-trunc.warc", "example-whole-gzip.warc.gz"}
    # The same page as an HTML response (extracted here) and as the crawler's WET text: one cluster.
    html, wet = docs["whirlwind.warc.gz"], docs["whirlwind.warc.wet.gz"]
    assert html["url"] == wet["url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert html["cluster_id"] == wet["cluster_id"] and html["lang"] == "an"
    # warcio refuses a gzip over the whole file (it cannot seek in it); it is read as one stream.
    rows = ds.dataset(str(out / "documents"), format="parquet").to_table().to_pylist()
    assert "http://example.com?example=1" in {r["url"] for r in rows if r["source"].endswith("example-whole-gzip.warc.gz")}
    rejected = ds.dataset(str(out / "rejected"), format="parquet").to_table().to_pylist()
    assert [(r["source"].rsplit("/", 1)[-1], r["reason"]) for r in rejected] == [("broken.warc.gz", "read_error")]


def test_lenient_reading_ignores_wrong_content_lengths():
    lines = (WARC / "ccnet-sample.wet").read_bytes().splitlines(keepends=True)
    records = list(iter_lenient_records(lines))
    assert [kind for _, kind, _, _ in records] == ["warcinfo", "conversion", "conversion", "conversion"]
    offset, _, headers, content = records[1]
    assert headers["WARC-Target-URI"] == "http://sample_english.com"
    assert content.startswith(b"Famous Mark Twain Quotes") and content.endswith(b"Truth isn't.")
    assert b"".join(lines)[offset:].startswith(b"WARC/1.0\nWARC-Type: conversion")


def test_wet_with_wrong_lengths_and_real_warc_html_end_to_end(tmp_path):
    # cc_net's WET fails warcio at its first record; it is read again by WARC/1.x lines. dolma's WARC
    # holds HTML responses of several sites: main content, site, crawl date, language.
    out = tmp_path / "o"
    args = ["run", "--input", str(WARC / "ccnet-sample.wet"), "--input", str(WARC / "dolma-sample-0000.warc.gz")]
    assert main([*args, "--output", str(out), "--set", "quality.enabled=false"]) == 0
    docs = ds.dataset(str(out / "documents"), format="parquet").to_table().to_pylist()
    rejected = ds.dataset(str(out / "rejected"), format="parquet").to_table().to_pylist()
    ccnet = sorted(d["url"] for d in docs if d["source"].endswith("ccnet-sample.wet"))
    assert len(ccnet) == 3 and "http://sample_english.com" in ccnet
    assert not any(r["reason"] == "read_error" for r in rejected)
    dolma = [d for d in docs if d["source"].endswith("dolma-sample-0000.warc.gz")]
    assert len(dolma) >= 10 and all(d["site"] and d["crawl_date"] is not None for d in dolma)
    assert all(d["date"] is None or d["date"].year >= 1990 for d in dolma)
    assert sum(d["lang"] == "en" for d in dolma) >= len(dolma) // 2


def arc_file(url: bytes, html: bytes) -> bytes:
    """An ARC (version 1) file: the file header record, then one HTTP response."""
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html
    desc = b"1 0 InternetArchive\nURL IP-address Archive-date Content-type Archive-length\n"
    arc = b"filedesc://test.arc 0.0.0.0 20140101000000 text/plain %d\n" % len(desc) + desc + b"\n"
    return arc + url + b" 93.184.216.119 20140102030405 text/html %d\n" % len(http) + http + b"\n"


def test_arc_files_are_read_with_stable_ids(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "crawl.arc").write_bytes(arc_file(b"http://example.com/2014/01/02/river", HTML))
    ids = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert (
            main(["run", "--input", str(tmp_path / "in" / "*.arc"), "--output", str(out), "--set", "quality.enabled=false"]) == 0
        )
        rows = ds.dataset(str(out / "documents"), format="parquet").to_table().to_pylist()
        assert len(rows) == 1 and rows[0]["text"].startswith("The river rose in the night.")
        assert (rows[0]["url"], rows[0]["site"], str(rows[0]["date"])) == (
            "http://example.com/2014/01/02/river",
            "example.com",
            "2014-01-02",
        )
        assert rows[0]["crawl_date"].isoformat() == "2014-01-02T03:04:05+00:00"
        ids.append(rows[0]["id"])
    assert ids[0] == ids[1] and ids[0].endswith("crawl.arc@" + str(rows[0]["record"]))


@pytest.mark.parametrize("share", [0.6, 0.75])  # cut inside a record's headers / inside its content
def test_an_archive_cut_inside_a_record_is_a_truncated_file_row(tmp_path, share):
    dolma = (WARC / "dolma-sample-0000.warc.gz").read_bytes()
    (tmp_path / "cut.warc.gz").write_bytes(dolma[: int(len(dolma) * share)])
    out = tmp_path / "o"
    assert main(["run", "--input", str(tmp_path / "cut.warc.gz"), "--output", str(out), "--set", "quality.enabled=false"]) == 0
    docs = ds.dataset(str(out / "documents"), format="parquet").to_table().to_pylist()
    rejected = ds.dataset(str(out / "rejected"), format="parquet").to_table().to_pylist()
    cut = [r for r in rejected if r["reason"] == "truncated_file"]
    assert len(cut) == 1 and "the archive ends inside the record" in cut[0]["detail"]
    assert len(docs) >= 10 and all(d["record"] < cut[0]["record"] for d in docs)  # the pages before the cut
