"""Incremental runs through the CLI on two daily batches: earlier runs' index rows lead clusters, new
repeats point at the earlier documents, and run-date partitions are replaced one at a time."""

from __future__ import annotations

import gzip
import hashlib
import json

import pyarrow.dataset as ds
import pytest

from pipelines.cli import main
from tests.conftest import ROOT, SAMPLES


def _sample_records(name):
    opener = gzip.open if name.endswith(".gz") else open
    with opener(SAMPLES / name, "rt", encoding="utf-8") as handle:
        records = []
        for line in handle:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return [r for r in records if r.get("text", "").strip()]


def _write(path, records):
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def _paragraphs(text):
    return [p for p in text.split("\n") if p.strip()]


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """Day 1: the courier sample. Day 2: the wire sample (two syndicated copies of day-1 stories)
    plus planted repeats of day-1 stories, and new stories with a repeat of their own."""
    folder = tmp_path_factory.mktemp("batches")
    day1 = _sample_records("courier-2025-03.jsonl")
    by_id = {r["id"]: r for r in day1}
    kept_day1 = [r["id"] for r in day1]
    second = _paragraphs(by_id["courier-002"]["text"])
    third = by_id["courier-003"]["text"]
    fresh = "\n".join(f"Paragraph {i} of a new story about the harbour festival, with its own words {i * 7}." for i in range(40))
    day2 = [
        *_sample_records("coastal-wire-2025-03.jsonl.gz"),
        {"id": "day2-exact-002", "text": by_id["courier-002"]["text"]},
        # The story without its last paragraph: contained in the day-1 story (dedup.containment).
        {"id": "day2-cut-002", "text": "\n".join(second[:-1])},
        {"id": "day2-edit-003", "text": third.replace(" the ", " a ", 2)},
        {"id": "day2-new", "text": fresh},
        {"id": "day2-new-copy", "text": fresh + "\nOne more line at the end of the copy."},
    ]
    planted = {
        "wire-101": "courier-001",
        "wire-103": "courier-004",
        "day2-exact-002": "courier-002",
        "day2-cut-002": "courier-002",
        "day2-edit-003": "courier-003",
    }
    _write(folder / "day1.jsonl", day1)
    _write(folder / "day2.jsonl", day2)
    return folder, kept_day1, planted


def _run(folder, out, day, date, *extra):
    args = ["run", "--config", str(ROOT / "configs" / "local.yaml"), "--input", str(folder / f"{day}.jsonl")]
    return main([*args, "--output", str(out), "--run_date", date, "--incremental", "--overwrite", *extra])


def _documents(out, date):
    table = ds.dataset(str(out / f"run_date={date}" / "documents"), format="parquet").to_table()
    return {r["id"]: r for r in table.to_pylist()}


def _digests(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def two_days(batches, tmp_path_factory):
    folder, kept_day1, planted = batches
    out = tmp_path_factory.mktemp("incremental") / "corpus"
    assert _run(folder, out, "day1", "2026-11-01") == 0
    assert _run(folder, out, "day2", "2026-11-02") == 0
    return out, kept_day1, planted


def test_second_day_flags_exactly_the_planted_repeats(two_days):
    out, kept_day1, planted = two_days
    day1 = _documents(out, "2026-11-01")
    assert sorted(i for i, r in day1.items() if not r["is_duplicate"]) == sorted(kept_day1)
    day2 = _documents(out, "2026-11-02")
    earlier = {i: r["duplicate_of"] for i, r in day2.items() if r["duplicate_of"] in day1}
    assert earlier == planted
    for doc_id, rep in planted.items():
        assert day2[doc_id]["cluster_id"] == day1[rep]["cluster_id"]
        assert day2[doc_id]["duplicate_of_key"] == day1[rep]["doc_key"]
    # Within the day, the new story's copy is a plain duplicate; the rest are new.
    assert day2["day2-new-copy"]["duplicate_of"] == "day2-new"
    assert {i for i, r in day2.items() if not r["is_duplicate"]} == {"wire-102", "wire-104", "day2-new"}
    stats = json.loads((out / "run_date=2026-11-02" / "stats.json").read_text())
    assert stats["duplicates_of_earlier_runs"] == len(planted) and stats["duplicates"] == len(planted) + 1
    assert len(stats["run"]["incremental"]["prior_index_files"]) == 1
    index = ds.dataset(str(out / "run_date=2026-11-02" / "index"), format="parquet").to_table(columns=["id", "run_date"])
    assert sorted(index.column("id").to_pylist()) == ["day2-new", "wire-102", "wire-104"]
    assert set(index.column("run_date").to_pylist()) == {"2026-11-02"}
    clusters = ds.dataset(str(out / "run_date=2026-11-02" / "clusters"), format="parquet").to_table().to_pylist()
    led = {c["representative_id"]: c for c in clusters if c["representative_run_date"] == "2026-11-01"}
    assert sorted(led["courier-002"]["member_ids"]) == ["courier-002", "day2-cut-002", "day2-exact-002"]


def test_rerunning_a_date_replaces_that_partition_only(batches, two_days):
    folder, _, _ = batches
    out, _, _ = two_days
    before_day2 = _digests(out / "run_date=2026-11-02")
    before_day1 = _documents(out, "2026-11-01")
    assert _run(folder, out, "day1", "2026-11-01") == 0
    assert _digests(out / "run_date=2026-11-02") == before_day2
    assert _documents(out, "2026-11-01") == before_day1
    # A rerun of day 2 reads day 1's index but not its own: the same decisions again.
    before = _documents(out, "2026-11-02")
    assert _run(folder, out, "day2", "2026-11-02") == 0
    assert _documents(out, "2026-11-02") == before


def test_a_backfill_does_not_see_later_dates(batches, two_days):
    folder, _, _ = batches
    out, _, _ = two_days
    assert _run(folder, out, "day2", "2026-10-31") == 0
    backfill = _documents(out, "2026-10-31")
    assert not any(r["duplicate_of"] and r["duplicate_of"].startswith("courier") for r in backfill.values())
    stats = json.loads((out / "run_date=2026-10-31" / "stats.json").read_text())
    assert stats["run"]["incremental"]["prior_index_files"] == [] and stats["duplicates_of_earlier_runs"] == 0


def test_an_index_written_with_other_settings_is_refused(batches, two_days, capsys):
    folder, _, _ = batches
    out, _, _ = two_days
    assert _run(folder, out, "day2", "2026-11-03", "--set", "dedup.num_perm=64") == 2
    err = capsys.readouterr().err
    assert "prior index" in err and "num_perm=128 (this run: 64)" in err
    assert not (out / "run_date=2026-11-03" / "_SUCCESS").exists()


def test_incremental_needs_a_date_or_an_index(batches, tmp_path, capsys):
    folder, _, _ = batches
    args = ["run", "--config", str(ROOT / "configs" / "local.yaml"), "--input", str(folder / "day1.jsonl")]
    assert main([*args, "--output", str(tmp_path / "c"), "--incremental"]) == 2
    assert "--incremental needs --run_date" in capsys.readouterr().err
    assert main([*args, "--output", str(tmp_path / "c"), "--run_date", "2026-13-01"]) == 2
    assert "is not a date" in capsys.readouterr().err
