"""`stats.json`: every output record counted as ((kind, name), count) pairs, summed in the graph,
and the sums turned into the stats document with its accounting check."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from transforms.failures import is_internal_error
from transforms.records import Document, Rejected
from transforms.write.accounting import accounting_problems

__all__ = ["stats_items", "file_items", "document_items", "rejected_items", "cluster_items", "build_stats", "render_stats"]


def file_items(element: tuple[str, int]) -> Iterator[tuple[tuple[str, str], int]]:
    path, records = element
    yield ("input_records", path), records


def document_items(doc: Document) -> Iterator[tuple[tuple[str, str], int]]:
    yield ("documents", doc.source), 1
    if doc.is_duplicate:
        yield ("duplicates", ""), 1


def rejected_items(rej: Rejected) -> Iterator[tuple[tuple[str, str], int]]:
    yield ("rejected", rej.source), 1
    yield ("rejected_reason", rej.reason), 1


def cluster_items(row: dict) -> Iterator[tuple[tuple[str, str], int]]:
    yield ("clusters", ""), 1
    if row["representative_run_date"] is not None:
        # Incremental mode: this run's documents in a cluster an earlier run's document leads.
        yield ("duplicates_of_earlier_runs", ""), row["size"] - 1


def stats_items(record: tuple | Rejected | dict) -> Iterator[tuple[tuple[str, str], int]]:
    """The items of a record the stats count, told apart by type: a file's (path, record count), a
    Rejected row, a cluster row, or an item as it is (those of each Document, `document_items`,
    taken where the documents are, so that no document crosses a shuffle for its count)."""
    if isinstance(record, Rejected):
        return rejected_items(record)
    if isinstance(record, dict):
        return cluster_items(record)
    if isinstance(record[0], tuple):
        return iter((record,))
    return file_items(record)


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


def render_stats(items: list[tuple[tuple[str, str], int]]) -> str:
    """The summed pairs as the text of `stats.json`."""
    return json.dumps(build_stats(items), indent=2, sort_keys=False)
