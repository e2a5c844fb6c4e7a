"""Graph construction: read -> clean -> dedup -> write, with stats. No running here."""

from __future__ import annotations

import json
from dataclasses import dataclass

import apache_beam as beam

from transforms.clean.transform import CleanAndParse
from transforms.config import RunConfig
from transforms.dedup.decide import resolve_lsh
from transforms.dedup.index import PARAMS_KEY, index_params
from transforms.dedup.transform import CLUSTERS_TAG, DeduplicateDocuments, IndexKeptDocuments
from transforms.read.transform import FILE_COUNTS_TAG, ReadPriorIndex, ReadRawShards
from transforms.records import (
    CLUSTER_SCHEMA,
    DOCUMENT_SCHEMA,
    INDEX_SCHEMA,
    REJECTED_SCHEMA,
    REJECTED_TAG,
    document_row,
    rejected_row,
)
from transforms.write.transform import CheckDocumentRows, ComputeRunStats, ParquetTable, WriteParquetTables, WriteTextFile

__all__ = ["Incremental", "build_pipeline", "output_paths", "parquet_files", "index_schema"]


@dataclass(frozen=True)
class Incremental:
    """An incremental run: the index files of earlier runs to dedup against, and this run's date."""

    prior_files: tuple[str, ...]
    run_date: str


def index_schema(config: RunConfig) -> object:
    """INDEX_SCHEMA with the MinHash/LSH parameters a reader must share, in the file metadata."""
    params = index_params(config.dedup, *resolve_lsh(config.dedup))
    return INDEX_SCHEMA.with_metadata({PARAMS_KEY: json.dumps(params, sort_keys=True).encode()})


def output_paths(output: str) -> dict[str, str]:
    """Where each output of a run goes under its output directory: a folder of Parquet files per
    table (documents/ may hold Hive-style subfolders), stats.json and report.html."""
    root = output.rstrip("/")
    return {
        "documents": f"{root}/documents",
        "rejected": f"{root}/rejected",
        "clusters": f"{root}/clusters",
        "index": f"{root}/index",
        "stats": f"{root}/stats.json",
        "report": f"{root}/report.html",
    }


def parquet_files(folder: str) -> str:
    """The pattern of every Parquet file under a table's folder, Hive subfolders included."""
    return f"{folder.rstrip('/')}/**.parquet"


def build_pipeline(
    p: beam.Pipeline, config: RunConfig, inputs: list[str], output: str, incremental: Incremental | None = None
) -> dict[str, beam.PCollection]:
    """Add the whole corpus graph to `p`; returns its main PCollections for tests and callers."""
    paths = output_paths(output)
    read = p | "ReadRawShards" >> ReadRawShards(inputs, config.read)
    cleaned = read.documents | "CleanAndParse" >> CleanAndParse(config.clean, config.quality)
    to_dedup = cleaned["documents"]
    if incremental and incremental.prior_files:
        to_dedup = {"documents": to_dedup, "prior": p | "ReadPriorIndex" >> ReadPriorIndex(list(incremental.prior_files))}
    deduped = to_dedup | "DeduplicateDocuments" >> DeduplicateDocuments(config.dedup)
    checked = deduped["documents"] | "CheckDocumentRows" >> CheckDocumentRows()
    documents = checked.documents
    clusters = deduped[CLUSTERS_TAG]
    rejected = (
        read[REJECTED_TAG],
        cleaned[REJECTED_TAG],
        deduped[REJECTED_TAG],
        checked[REJECTED_TAG],
    ) | "AllRejected" >> beam.Flatten()

    tables = {"Documents": documents, "Rejected": rejected, "Clusters": clusters}
    specs = {
        "Documents": ParquetTable(paths["documents"], DOCUMENT_SCHEMA, partitioned=True, to_row=document_row),
        "Rejected": ParquetTable(paths["rejected"], REJECTED_SCHEMA, to_row=rejected_row),
        "Clusters": ParquetTable(paths["clusters"], CLUSTER_SCHEMA),
    }
    if incremental:
        tables["Index"] = documents | "IndexKeptDocuments" >> IndexKeptDocuments(config.dedup, incremental.run_date)
        specs["Index"] = ParquetTable(paths["index"], index_schema(config))
    tables | "WriteTables" >> WriteParquetTables(specs, config.output)
    stats = {
        "file_counts": read[FILE_COUNTS_TAG],
        "documents": documents,
        "rejected": rejected,
        "clusters": clusters,
    } | "ComputeRunStats" >> ComputeRunStats()
    stats | "WriteStats" >> WriteTextFile(paths["stats"])
    return {"documents": documents, "rejected": rejected, "clusters": clusters, "stats": stats}
