"""The accounting check of a run: every input record is a document or a rejected row, overall and
per file. The driver fails a run whose stats break it; `stats.json` records the result."""

from __future__ import annotations

__all__ = ["accounting_problems"]


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
