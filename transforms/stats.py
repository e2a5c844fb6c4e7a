"""Beam composite that counts every stage's output into one `stats.json`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import apache_beam as beam

from transforms.accounting import build_stats
from transforms.records import Document, Rejected

__all__ = ["ComputeRunStats"]


def _file_items(element: tuple[str, int]) -> Iterator[tuple[tuple[str, str], int]]:
    path, records = element
    yield ("input_records", path), records


def _document_items(doc: Document) -> Iterator[tuple[tuple[str, str], int]]:
    yield ("documents", doc.source), 1
    if doc.is_duplicate:
        yield ("duplicates", ""), 1


def _rejected_items(rej: Rejected) -> Iterator[tuple[tuple[str, str], int]]:
    yield ("rejected", rej.source), 1
    yield ("rejected_reason", rej.reason), 1


def _cluster_items(row: dict) -> Iterator[tuple[tuple[str, str], int]]:
    yield ("clusters", ""), 1
    if row["representative_run_date"] is not None:
        # Incremental mode: this run's documents in a cluster an earlier run's document leads.
        yield ("duplicates_of_earlier_runs", ""), row["size"] - 1


def _render(items: list[tuple[tuple[str, str], int]]) -> str:
    return json.dumps(build_stats(items), indent=2, sort_keys=False)


class ComputeRunStats(beam.PTransform):
    """{file_counts, documents, rejected, clusters} -> one JSON string (the run's `stats.json`)."""

    def expand(self, pcolls: dict[str, beam.PCollection]) -> beam.PCollection:
        items = (
            pcolls["file_counts"] | "FileItems" >> beam.FlatMap(_file_items),
            pcolls["documents"] | "DocumentItems" >> beam.FlatMap(_document_items),
            pcolls["rejected"] | "RejectedItems" >> beam.FlatMap(_rejected_items),
            pcolls["clusters"] | "ClusterItems" >> beam.FlatMap(_cluster_items),
        )
        return (
            items
            | "AllItems" >> beam.Flatten()
            | "SumPerKey" >> beam.CombinePerKey(sum)
            | "Collect" >> beam.combiners.ToList()
            | "Render" >> beam.Map(_render)
        )
