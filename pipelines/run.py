"""`corpusbeam run`: load the profile, check inputs and output, run the graph, verify accounting."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipelines.build import build_pipeline, output_paths
from pipelines.options import DEFAULT_RUNNER, CorpusOptions, beam_flags, effective_runner
from transforms.accounting import accounting_problems
from transforms.config import RunConfig, load_config
from transforms.dedup import resolve_lsh

__all__ = ["RunError", "run", "prepare"]

logger = logging.getLogger(__name__)

_OUTPUTS = ("documents", "rejected", "clusters")


class RunError(RuntimeError):
    """A problem the user can fix: the message says what and how."""


def _check_inputs(patterns: list[str]) -> set[str]:
    """The files the patterns match; a pattern that matches nothing is an error."""
    if not patterns:
        raise RunError("no input: give at least one --input PATTERN")
    files: set[str] = set()
    for pattern in patterns:
        matched = _matches(pattern)
        if not matched:
            raise RunError(f"--input {pattern!r} matches no file: check the path and quote glob patterns")
        files.update(matched)
    return files


def _prepare_output(output: str | None, overwrite: bool) -> None:
    if not output:
        raise RunError("no output: give --output DIR")
    paths = output_paths(output)
    existing = [p for name in _OUTPUTS for p in _matches(paths[name] + "*")]
    existing += _matches(paths["stats"])
    if existing and not overwrite:
        raise RunError(f"{output!r} already holds a run ({len(existing)} files); pass --overwrite to replace it")
    if existing:
        FileSystems.delete(existing)


def _matches(pattern: str) -> list[str]:
    return [m.path for m in FileSystems.match([pattern])[0].metadata_list]


def prepare(argv: list[str]) -> tuple[PipelineOptions, RunConfig, CorpusOptions]:
    """Flags -> (pipeline options, validated config, corpusbeam options); raises on any bad value.

    The profile's `beam:` options come first so that the command line overrides them.
    """
    first = PipelineOptions(argv).view_as(CorpusOptions)
    config = load_config(first.config, first.overrides)
    flags = beam_flags(config.beam) + list(argv)
    options = PipelineOptions(flags)
    runner = effective_runner(options)
    if not options.view_as(StandardOptions).runner:
        options = PipelineOptions([f"--runner={DEFAULT_RUNNER}", *flags])
    logger.info("runner: %s", runner)
    return options, config, options.view_as(CorpusOptions)


def _row_count(pattern: str) -> int:
    total = 0
    for path in _matches(pattern):
        with FileSystems.open(path) as handle:
            total += pq.ParquetFile(handle).metadata.num_rows
    return total


def _verify(output: str, files: set[str]) -> dict:
    """Read back stats.json and the Parquet footers; raise when any file or record is unaccounted for."""
    paths = output_paths(output)
    with FileSystems.open(paths["stats"]) as handle:
        stats = json.loads(handle.read().decode("utf-8"))
    problems = accounting_problems(stats)
    unread = sorted(files - set(stats["per_file"]))
    if unread:
        problems.append(f"{len(unread)} input files missing from the counts, e.g. {unread[0]}")
    for name in ("documents", "rejected"):
        written = _row_count(paths[name] + "*.parquet")
        if written != stats[name]:
            problems.append(f"{name}: {written} rows written but {stats[name]} counted")
    if problems:
        raise RunError("accounting check failed: " + "; ".join(problems))
    return stats


def run(argv: list[str]) -> dict:
    """Run one corpus job; returns its stats. Raises ConfigError/RunError for user errors."""
    options, config, corpus = prepare(argv)
    files = _check_inputs(corpus.input)
    _prepare_output(corpus.output, corpus.overwrite)
    started = time.monotonic()
    with beam.Pipeline(options=options) as p:
        build_pipeline(p, config, corpus.input, corpus.output)
    stats = _verify(corpus.output, files)
    bands, rows = resolve_lsh(config.dedup)
    stats["run"] = {
        "runner": effective_runner(options),
        "wall_seconds": round(time.monotonic() - started, 3),
        "inputs": corpus.input,
        "lsh": {"bands": bands, "rows": rows},
        "config": {k: v for k, v in asdict(config).items() if k != "beam"},
    }
    with FileSystems.create(output_paths(corpus.output)["stats"]) as handle:
        handle.write(json.dumps(stats, indent=2).encode("utf-8"))
    return stats
