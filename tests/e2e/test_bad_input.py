"""Bad input never stops a run and is never dropped silently: every case becomes a `rejected/` row
with its reason and location, and the accounting holds per file."""

from __future__ import annotations

import gzip
import json

import pyarrow.dataset as ds
import zstandard

from pipelines.cli import main
from tests.conftest import DATA


def good(i: int, prefix: str = "g") -> str:
    return json.dumps({"id": f"{prefix}{i}", "text": f"Good record number {i} with enough words to keep it."})


def test_every_kind_of_bad_input_is_a_row_and_the_run_goes_on(tmp_path):
    shards = tmp_path / "in"
    shards.mkdir()
    lines = [
        good(1),
        b"\xff\xfe not utf-8".decode("latin-1"),  # written as bytes below
        json.dumps({"id": "nul", "text": "This line has an escaped \u0000 NUL inside it, and it is kept."}),
        "{not json",
        json.dumps({"id": "no-text", "title": "x"}),
        json.dumps({"id": "blank", "text": "   \n\t "}),
        json.dumps({"id": "dup", "text": "Shard one says this, with several words in it."}),
    ]
    raw = b"\n".join(line.encode("latin-1") if i == 1 else line.encode() for i, line in enumerate(lines)) + b"\n"
    (shards / "mixed.jsonl").write_bytes(raw)
    (shards / "other.jsonl").write_text(json.dumps({"id": "dup", "text": "Shard two says something else entirely here."}) + "\n")
    (shards / "empty.jsonl").write_bytes(b"")
    (shards / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    body = "\n".join(good(i, "z") for i in range(20_000)) + "\n"
    gz = gzip.compress(body.encode())
    (shards / "cut.jsonl.gz").write_bytes(gz[: len(gz) // 2])
    zst = zstandard.ZstdCompressor().compress(body.encode())
    (shards / "cut.jsonl.zst").write_bytes(zst[: len(zst) // 2])
    (shards / "huge.jsonl").write_bytes(
        json.dumps({"id": "huge", "text": "a" * 50_000_000}).encode() + b"\n" + good(2).encode() + b"\n"
    )
    (shards / "run.jsonl").write_text(json.dumps({"id": "run", "text": "b" * 2_000_000}) + "\n")
    (shards / "big.txt").write_bytes(b"c" * 3_000_000)  # a whole text file over read.max_doc_bytes
    (shards / "broken.warc.gz").write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    (shards / "trunc.warc").write_bytes((DATA / "warc" / "example-trunc.warc").read_bytes())
    # A good archive followed by a corrupt record: the page before it is kept, the rest is a row.
    whirlwind = (DATA / "warc" / "whirlwind.warc.gz").read_bytes()
    (shards / "tail.warc.gz").write_bytes(whirlwind + b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)

    out = tmp_path / "out"
    args = ["run", "--input", str(shards / "*"), "--output", str(out), "--set", "read.max_doc_bytes=1000000"]
    assert main([*args, "--set", "quality.enabled=false"]) == 0  # the accounting check passed too

    rejected = ds.dataset(str(out / "rejected"), format="parquet").to_table().to_pylist()
    where = {(r["source"].rsplit("/", 1)[-1], r["record"]): r["reason"] for r in rejected}
    assert where[("mixed.jsonl", 2)] == "invalid_utf8"
    assert where[("mixed.jsonl", 4)] == "malformed_json"
    assert where[("mixed.jsonl", 5)] == "missing_text"
    assert where[("mixed.jsonl", 6)] == "empty_text"
    assert where[("empty.jsonl", 0)] == "empty_file"
    assert where[("binary.txt", 0)] == "binary_content"
    assert where[("huge.jsonl", 1)] == "too_large"
    assert where[("run.jsonl", 1)] == "too_large"  # 2 MB of one character, bounded by read.max_doc_bytes
    assert where[("big.txt", 0)] == "too_large"
    assert where[("broken.warc.gz", 1)] == "read_error"
    tail = [(record, reason) for (name, record), reason in where.items() if name == "tail.warc.gz"]
    assert len(tail) == 1 and tail[0][1] == "read_error" and tail[0][0] > 1  # located after the good page
    cut = {name: record for (name, record), reason in where.items() if reason == "truncated_file"}
    assert set(cut) == {"cut.jsonl.gz", "cut.jsonl.zst"}

    docs = ds.dataset(str(out / "documents"), format="parquet").to_table().to_pylist()
    by_file: dict[str, list[dict]] = {}
    for d in docs:
        by_file.setdefault(d["source"].rsplit("/", 1)[-1], []).append(d)
    # The good records before each cut are kept: exactly the lines before the row's location.
    for name, record in cut.items():
        assert len(by_file[name]) == record - 1 > 100
        assert sorted(d["record"] for d in by_file[name]) == list(range(1, record))
    assert [d["id"] for d in by_file["huge.jsonl"]] == ["g2"]
    assert len(by_file["tail.warc.gz"]) == 1  # the line after the 50 MB one is read
    # The same id in two shards: both kept, told apart by doc_key (and source, record).
    dups = [d for d in docs if d["id"] == "dup"]
    assert len(dups) == 2 and dups[0]["doc_key"] != dups[1]["doc_key"]
    assert {d["id"] for d in by_file["mixed.jsonl"]} == {"g1", "nul", "dup"}  # an escaped NUL is text

    stats = json.loads((out / "stats.json").read_text())
    assert stats["accounting_ok"] and stats["input_files"] == 12
    for entry in stats["per_file"].values():
        assert entry["input_records"] == entry["documents"] + entry["rejected"] >= 1


def test_reading_resumes_at_the_next_archive_record_after_damage(tmp_path):
    """A damaged record in the middle of an archive costs that record, not the rest of the file:
    the reader finds the next record start (a gzip member, or a `WARC/1.` line) that reads whole."""
    shards = tmp_path / "in"
    shards.mkdir()
    whirlwind = (DATA / "warc" / "whirlwind.warc.gz").read_bytes()
    garbage = b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4
    (shards / "middle.warc.gz").write_bytes(whirlwind + garbage + whirlwind + garbage + garbage + whirlwind)
    plain = gzip.decompress(whirlwind)  # one concatenated stream of the records, uncompressed
    damaged = plain.replace(b"Content-Length: ", b"Content-Length: x", 1)  # the first record's header
    (shards / "plain.warc").write_bytes(plain + damaged[: len(damaged) // 2] + b"\r\n\r\n" + plain)
    out = tmp_path / "out"
    assert main(["run", "--input", str(shards / "*"), "--output", str(out), "--set", "quality.enabled=false"]) == 0
    rejected = ds.dataset(str(out / "rejected"), format="parquet").to_table().to_pylist()
    docs = ds.dataset(str(out / "documents"), format="parquet").to_table().to_pylist()
    by_file = {}
    for row in rejected + docs:
        by_file.setdefault(row["source"].rsplit("/", 1)[-1], []).append(row)
    # the page of each of the three copies, at its offset in the file; a row for each damaged place
    copies = [0, len(whirlwind) + len(garbage), 2 * len(whirlwind) + 3 * len(garbage)]
    pages = sorted(row["record"] for row in docs if row["source"].endswith("middle.warc.gz"))
    assert pages == [start + 1023 for start in copies]  # 1023: the page's offset in whirlwind.warc.gz
    assert [row.get("reason") for row in by_file["middle.warc.gz"]].count("read_error") == 2
    assert all("reading resumed at byte" in r["detail"] for r in rejected if r["source"].endswith("middle.warc.gz"))
    plain_pages = [row for row in docs if row["source"].endswith("plain.warc")]
    assert len(plain_pages) == 2  # before the damage and after it
    stats = json.loads((out / "stats.json").read_text())
    assert stats["accounting_ok"]


def test_reading_resumes_at_the_next_zstd_frame_after_a_damaged_one(tmp_path):
    """A shard of independent zstd frames (as parallel compressors write them) with one frame
    corrupted: the lines of the other frames are all read; the damaged part is one row."""
    shards = tmp_path / "in"
    shards.mkdir()
    compressor = zstandard.ZstdCompressor(write_checksum=True)
    frames = [compressor.compress(("\n".join(good(i, f"f{f}-") for i in range(100)) + "\n").encode()) for f in range(4)]
    damaged = bytearray(frames[1])
    damaged[len(damaged) // 2 : len(damaged) // 2 + 16] = bytes(16)
    (shards / "frames.jsonl.zst").write_bytes(frames[0] + bytes(damaged) + frames[2] + frames[3])
    out = tmp_path / "out"
    assert main(["run", "--input", str(shards / "*"), "--output", str(out), "--set", "quality.enabled=false"]) == 0
    docs = ds.dataset(str(out / "documents"), format="parquet").to_table().to_pylist()
    rejected = ds.dataset(str(out / "rejected"), format="parquet").to_table().to_pylist()
    ids = {d["id"] for d in docs}
    assert {f"f{f}-{i}" for f in (0, 2, 3) for i in range(100)} <= ids
    assert not any(i.startswith("f1-") for i in ids)
    [row] = rejected
    assert row["reason"] == "read_error" and row["record"] == 101
    assert f"reading resumed at byte {len(frames[0]) + len(frames[1])}" in row["detail"]
    assert sorted(d["record"] for d in docs) == list(range(1, 101)) + list(range(102, 302))
    assert json.loads((out / "stats.json").read_text())["accounting_ok"]
