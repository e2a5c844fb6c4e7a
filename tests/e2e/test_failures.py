"""One record can crash nothing: the two records that once broke whole runs, and a bug planted in
each per-record step in turn, which must become `internal_error:<step>` rows while the run goes on."""

from __future__ import annotations

import json
import random

import pyarrow.dataset as ds
import pytest

from pipelines.cli import main
from transforms.clean import transform as cleaning
from transforms.dedup import decide
from transforms.dedup import transform as dedup
from transforms.read import transform as reading
from transforms.write import transform as writing

WORDS = "the river town council said on monday that its new bridge would open in spring after years of delay and debate".split()
MARK = "BOOM"


def prose(seed: int, words: int = 90) -> str:
    rng = random.Random(seed)
    sentences = [" ".join(rng.choice(WORDS) for _ in range(15)).capitalize() + "." for _ in range(words // 15)]
    return " ".join(sentences)


def write_shard(path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def run(tmp_path, *extra: str) -> tuple[int, dict, list[dict], list[dict]]:
    out = tmp_path / "out"
    code = main(["run", "--input", str(tmp_path / "in" / "*"), "--output", str(out), "--set", "quality.enabled=false", *extra])
    if code != 0:
        return code, {}, [], []
    stats = json.loads((out / "stats.json").read_text())
    docs = ds.dataset(str(out / "documents"), format="parquet").to_table().to_pylist()
    rejected = ds.dataset(str(out / "rejected"), format="parquet").to_table().to_pylist()
    return code, stats, docs, rejected


def test_a_lone_surrogate_and_a_deeply_nested_line_cost_one_record_each(tmp_path):
    """Before: the surrogate crashed the whole run in language ID; the nested line ended its file's
    reading, and the 5 good lines after it were silently gone."""
    (tmp_path / "in").mkdir()
    good = [{"id": f"g{i}", "text": prose(i)} for i in range(10)]
    lines = [json.dumps(r) for r in good[:5]] + ["[" * 10_000 + "]" * 10_000] + [json.dumps(r) for r in good[5:]]
    lines.append(json.dumps({"id": "s", "text": prose(99) + " A lone \ud800 surrogate."}))
    (tmp_path / "in" / "a.jsonl").write_text("\n".join(lines) + "\n")
    code, stats, docs, rejected = run(tmp_path)
    assert code == 0 and stats["accounting_ok"]
    assert stats["input_records"] == 12 and stats["documents"] == 11
    assert [(r["record"], r["reason"]) for r in rejected] == [(6, "too_deep_json")]
    assert "read.max_json_depth=100" in rejected[0]["detail"]
    surrogate = next(d for d in docs if d["id"] == "s")
    assert "\ufffd" in surrogate["text"] and surrogate["lang"] == "en"


def _raise_on_mark(real, text_of):
    def step(*args, **kwargs):
        if MARK in text_of(*args):
            raise RuntimeError(f"{MARK}: a planted bug")
        return real(*args, **kwargs)

    return step


def _unit_texts(units, *_):
    return " ".join(doc.text for unit in units for doc in (unit.doc, *unit.copies) if doc is not None)


# (step, module, function, how to find the record's text among its arguments)
PLANTED = [
    ("read", reading, "parse_jsonl_line", lambda raw, *_: raw.decode("utf-8", "replace")),
    ("prepare", cleaning, "prepare_document", lambda doc, *_: doc.text),
    ("site_lines", cleaning, "drop_lines", lambda site, text, *_: text),
    ("clean", cleaning, "clean_body", lambda doc, *_: doc.text),
    ("minhash", dedup, "exact_key", lambda text: text),
    ("exact_duplicates", dedup, "group_exact", lambda docs, *_: " ".join(d.text for d in docs)),
    ("near_duplicates", dedup, "split_component", _unit_texts),
    ("row", writing, "document_row", lambda doc: doc.text),
]


@pytest.mark.parametrize("step, module, name, text_of", PLANTED, ids=[p[0] for p in PLANTED])
def test_a_bug_in_any_step_rejects_its_records_and_the_run_goes_on(tmp_path, monkeypatch, capsys, step, module, name, text_of):
    (tmp_path / "in").mkdir()
    footer = "Copyright River Town Gazette, all rights reserved by the publisher"
    records = [{"id": f"d{i}", "url": f"https://gazette.example/{i}", "text": prose(i) + "\n" + footer} for i in range(6)]
    marked = prose(50) + f" {MARK} and more words of the story."
    # Two near-copies carrying the mark: one component for the split, two nodes for the exact step.
    records += [
        {"id": "m1", "url": "https://gazette.example/m1", "text": marked + "\n" + footer},
        {"id": "m2", "url": "https://gazette.example/m2", "text": marked + " Updated.\n" + footer},
    ]
    write_shard(tmp_path / "in" / "a.jsonl", records)
    monkeypatch.setattr(module, name, _raise_on_mark(getattr(module, name), text_of))
    code, stats, docs, rejected = run(tmp_path)
    assert code == 0 and stats["accounting_ok"]
    failed = {r["record"] for r in rejected if r["reason"] == f"internal_error:{step}"}
    assert failed == {7, 8}  # the lines of m1 and m2
    assert all(f"RuntimeError: {MARK}" in r["detail"] for r in rejected if r["reason"].startswith("internal_error"))
    assert stats["internal_errors"] == 2 and stats["rejected_by_reason"][f"internal_error:{step}"] == 2
    assert {d["id"] for d in docs} == {f"d{i}" for i in range(6)}
    summary = capsys.readouterr().out
    assert "internal errors                    2" in summary
    assert "accounting              ok: for each of the 1 files, records framed = documents + rejected" in summary


def test_the_planted_steps_are_the_ones_a_run_calls(monkeypatch):
    """The test above is only as good as its patch points: each must be the name the step looks up."""
    assert dedup.group_exact is decide.group_exact and dedup.split_component is decide.split_component
    for _, module, name, _ in PLANTED:
        assert callable(getattr(module, name))
