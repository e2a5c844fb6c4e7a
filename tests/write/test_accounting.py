"""stats.json from counted items, and the accounting check on it."""

from transforms.write.accounting import accounting_problems
from transforms.write.stats import build_stats


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
