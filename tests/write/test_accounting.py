"""stats.json from counted items, and the accounting check on it."""

from transforms.records import Document, Rejected
from transforms.write.accounting import accounting_problems
from transforms.write.stats import build_stats, document_items, stats_items


def test_stats_from_counted_items():
    items = [
        (("input_records", "a"), 5),
        (("documents", "a"), 4),
        (("rejected", "a"), 1),
        (("rejected_reason", "malformed_json"), 1),
        (("duplicates", ""), 2),
        (("clusters", ""), 1),
        (("input_records", "b"), 0),
    ]
    stats = build_stats(items)
    assert stats["accounting_ok"] is True
    assert (stats["input_files"], stats["input_records"], stats["unique_documents"]) == (2, 5, 2)
    assert stats["per_file"]["b"] == {"input_records": 0, "documents": 0, "rejected": 0}


def test_a_lost_record_is_a_problem_overall_and_for_its_file():
    stats = build_stats(
        [(("input_records", "a"), 3), (("documents", "a"), 2), (("input_records", "b"), 1), (("documents", "b"), 1)]
    )
    assert stats["accounting_ok"] is False
    problems = accounting_problems(stats)
    assert len(problems) == 2 and problems[1].startswith("a:")


def test_records_of_every_kind_give_their_items_told_apart_by_type():
    doc = Document(id="d", doc_key=1, source="a.jsonl", record=1, text="t", is_duplicate=True)
    records = [
        ("a.jsonl", 2),
        *document_items(doc),
        Rejected("a.jsonl", 2, "malformed_json", None),
        {"representative_run_date": "2026-01-01", "size": 3},
    ]
    items = [item for record in records for item in stats_items(record)]
    assert items == [
        (("input_records", "a.jsonl"), 2),
        (("documents", "a.jsonl"), 1),
        (("duplicates", ""), 1),
        (("rejected", "a.jsonl"), 1),
        (("rejected_reason", "malformed_json"), 1),
        (("clusters", ""), 1),
        (("duplicates_of_earlier_runs", ""), 2),
    ]
    assert build_stats(items)["accounting_ok"] is True
