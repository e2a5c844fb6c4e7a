"""Graph construction: read -> clean -> dedup -> write, with stats. No running here."""

from __future__ import annotations

import apache_beam as beam

from transforms.cleaning import CleanAndParse
from transforms.config import RunConfig
from transforms.dedup import CLUSTERS_TAG, DeduplicateDocuments
from transforms.io import FILE_COUNTS_TAG, REJECTED_TAG, ReadRawShards, WriteParquetRows
from transforms.records import CLUSTER_SCHEMA, DOCUMENT_SCHEMA, REJECTED_SCHEMA, document_row, rejected_row
from transforms.stats import ComputeRunStats

__all__ = ["build_pipeline", "output_paths"]


def output_paths(output: str) -> dict[str, str]:
    """Where each output of a run goes under its output directory."""
    root = output.rstrip("/")
    return {
        "documents": f"{root}/documents/part",
        "rejected": f"{root}/rejected/part",
        "clusters": f"{root}/clusters/part",
        "stats": f"{root}/stats.json",
    }


def build_pipeline(p: beam.Pipeline, config: RunConfig, inputs: list[str], output: str) -> dict[str, beam.PCollection]:
    """Add the whole corpus graph to `p`; returns its main PCollections for tests and callers."""
    paths = output_paths(output)
    read = p | "ReadRawShards" >> ReadRawShards(inputs, config.read)
    cleaned = read.documents | "CleanAndParse" >> CleanAndParse(config.clean, config.quality)
    deduped = cleaned.documents | "DeduplicateDocuments" >> DeduplicateDocuments(config.dedup)
    documents = deduped["documents"]
    clusters = deduped[CLUSTERS_TAG]
    rejected = (read[REJECTED_TAG], cleaned[REJECTED_TAG]) | "AllRejected" >> beam.Flatten()

    (
        documents
        | "DocumentRows" >> beam.Map(document_row)
        | "WriteDocuments" >> WriteParquetRows(paths["documents"], DOCUMENT_SCHEMA, config.output)
    )
    (
        rejected
        | "RejectedRows" >> beam.Map(rejected_row)
        | "WriteRejected" >> WriteParquetRows(paths["rejected"], REJECTED_SCHEMA, config.output)
    )
    clusters | "WriteClusters" >> WriteParquetRows(paths["clusters"], CLUSTER_SCHEMA, config.output)
    stats = {
        "file_counts": read[FILE_COUNTS_TAG],
        "documents": documents,
        "rejected": rejected,
        "clusters": clusters,
    } | "ComputeRunStats" >> ComputeRunStats()
    stats | "WriteStats" >> beam.io.WriteToText(paths["stats"], shard_name_template="", num_shards=1)
    return {"documents": documents, "rejected": rejected, "clusters": clusters, "stats": stats}
