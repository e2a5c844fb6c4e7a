"""Run statistics and the accounting check: every input record is a document or a rejected row.

Counts are gathered in the graph as ((kind, name), count) pairs and turned into `stats.json` here.
"""

from __future__ import annotations

from collections.abc import Iterable

from transforms.failures import is_internal_error

__all__ = ["build_stats", "accounting_problems"]


def build_stats(items: Iterable[tuple[tuple[str, str], int]]) -> dict:
    """((kind, name), count) pairs -> the `stats.json` document (without the driver's `run` section)."""
    per_file: dict[str, dict[str, int]] = {}
    reasons: dict[str, int] = {}
    totals: dict[str, int] = {}
    for (kind, name), count in items:
        if kind in ("input_records", "documents", "rejected"):
            entry = per_file.setdefault(name, {"input_records": 0, "documents": 0, "rejected": 0})
            entry[kind] += count
            totals[kind] = totals.get(kind, 0) + count
        elif kind == "rejected_reason":
            reasons[name] = reasons.get(name, 0) + count
        else:
            totals[kind] = totals.get(kind, 0) + count
    documents = totals.get("documents", 0)
    duplicates = totals.get("duplicates", 0)
    stats = {
        "input_files": len(per_file),
        "input_records": totals.get("input_records", 0),
        "documents": documents,
        "rejected": totals.get("rejected", 0),
        "duplicates": duplicates,
        "unique_documents": documents - duplicates,
        "clusters": totals.get("clusters", 0),
        "duplicates_of_earlier_runs": totals.get("duplicates_of_earlier_runs", 0),
        "rejected_by_reason": dict(sorted(reasons.items())),
        # records a step failed on unforeseen (`internal_error:<step>` in rejected/): bugs, never silent
        "internal_errors": sum(n for reason, n in reasons.items() if is_internal_error(reason)),
        "per_file": dict(sorted(per_file.items())),
    }
    stats["accounting_ok"] = not accounting_problems(stats)
    return stats


def accounting_problems(stats: dict) -> list[str]:
    """Each way the stats break `input_records == documents + rejected`, overall or per file."""
    problems = []
    if stats["input_records"] != stats["documents"] + stats["rejected"]:
        problems.append(
            f"input_records={stats['input_records']} != documents={stats['documents']} + rejected={stats['rejected']}"
        )
    for path, entry in stats["per_file"].items():
        if entry["input_records"] != entry["documents"] + entry["rejected"]:
            problems.append(
                f"{path}: input_records={entry['input_records']} != documents={entry['documents']} + rejected={entry['rejected']}"
            )
    return problems
