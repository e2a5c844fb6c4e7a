"""`corpusbeam run`: load the profile, check inputs and output, run the graph into a staging folder,
verify the accounting there, and only then publish the outputs (`_SUCCESS` last).

A run that fails at any point leaves the previous contents of the output folder as they were.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
import time
import uuid
from contextlib import nullcontext
from dataclasses import asdict

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import DebugOptions, PipelineOptions, PortableOptions, StandardOptions

from pipelines.build import Incremental, build_pipeline, output_paths, parquet_files
from pipelines.options import (
    DEFAULT_RUNNER,
    PROCESS_WORKERS,
    CorpusOptions,
    RunOptions,
    beam_flags,
    effective_runner,
    engine_defaults,
    exact_metrics,
    runs_in_this_process,
)
from pipelines.report.html import write_report
from pipelines.report.outputs import FinishedRun
from pipelines.warm_sdk_workers import warm_sdk_workers
from pipelines.worker_watch import failing_on_lost_workers, stop_workers
from transforms.config import RunConfig, load_config
from transforms.dedup.decide import resolve_lsh
from transforms.dedup.index import PARAMS_KEY, index_params, params_problem
from transforms.dedup.transform import SHUFFLE_RECEIVED, SHUFFLE_SENT
from transforms.files import delete_folder, matching_paths
from transforms.metrics import NAMESPACE, heartbeat
from transforms.write.accounting import accounting_problems

__all__ = ["RunError", "SUCCESS_MARKER", "run", "prepare", "stage_seconds"]

logger = logging.getLogger(__name__)

_OUTPUTS = ("documents", "rejected", "clusters", "index")
SUCCESS_MARKER = "_SUCCESS"
_STAGING_PREFIX = "_staging-"


class RunError(RuntimeError):
    """A problem the user can fix: the message says what and how."""


def _absolute(path: str) -> str:
    """A local path made absolute on the driver: workers of other runners have other working folders."""
    if "://" in path:
        return path
    return os.path.abspath(path)


def _check_inputs(patterns: list[str]) -> set[str]:
    """The files the patterns match; a pattern that matches nothing is an error."""
    if not patterns:
        raise RunError("no input: give at least one --input PATTERN")
    files: set[str] = set()
    for pattern in patterns:
        matched = matching_paths(pattern)
        if not matched:
            raise RunError(f"--input {pattern!r} matches no file: check the path and quote glob patterns")
        files.update(matched)
    return files


def _published(output: str) -> list[str]:
    """The files of a published run in `output` (outputs, stats.json and the success marker)."""
    paths = output_paths(output)
    existing = [p for name in _OUTPUTS for p in matching_paths(_join(paths[name], "**"))]
    return (
        existing
        + matching_paths(paths["stats"])
        + matching_paths(paths["report"])
        + matching_paths(_join(output, SUCCESS_MARKER))
    )


def _join(folder: str, name: str) -> str:
    return f"{folder.rstrip('/')}/{name}"


def _prepare_output(output: str, overwrite: bool) -> str:
    """Refuse a folder holding a run unless `overwrite`; returns a fresh staging folder inside it.

    Nothing is deleted here: the previous run stays until the new one has passed its checks.
    """
    existing = _published(output)
    if existing and not overwrite:
        raise RunError(f"{output!r} already holds a run ({len(existing)} files); pass --overwrite to replace it")
    stale = matching_paths(_join(output, _STAGING_PREFIX + "*"))
    if stale:
        logger.warning(
            "%s holds %d files of runs that did not finish (%s*); they are not part of any output",
            output,
            len(stale),
            _STAGING_PREFIX,
        )
    staging = _join(output, f"{_STAGING_PREFIX}{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}")
    _check_writable(output, staging)
    return staging


def _check_writable(output: str, staging: str) -> None:
    """Write and delete a file where the run will write, so a folder it cannot write to fails now,
    with a message, instead of after the whole job has run."""
    probe = _join(staging, "_write_check")
    try:
        with FileSystems.create(probe) as handle:
            handle.write(b"")
        FileSystems.delete([probe])
    except Exception as err:  # noqa: BLE001 - any filesystem's refusal means the same to the user
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise RunError(
            f"cannot write to --output {output!r} ({reason}); choose a folder you can write to, or fix its "
            "permissions (for gs:// or s3://, the credentials and the bucket name)"
        ) from None


def _publish(staging: str, output: str, stats: dict) -> None:
    """Replace the published run in `output` by the staged one; `_SUCCESS` is written last.

    Files are moved one by one (object stores have no atomic folder rename): a reader must take a
    folder without `_SUCCESS` as incomplete. The old run's marker goes first, so a publish that is
    cut short never looks complete.
    """
    marker = _join(output, SUCCESS_MARKER)
    if FileSystems.exists(marker):
        FileSystems.delete([marker])
    staged, final = output_paths(staging), output_paths(output)
    for name in _OUTPUTS:
        delete_folder(final[name])  # with any Hive subfolders of the old run
    for name in ("stats", "report"):
        if FileSystems.exists(final[name]):
            FileSystems.delete([final[name]])
    for name in _OUTPUTS:
        sources = matching_paths(parquet_files(staged[name]))
        targets = [final[name] + src[len(staged[name]) :] for src in sources]
        for folder in sorted({target.rsplit("/", 1)[0] for target in targets}):
            if not FileSystems.exists(folder):
                FileSystems.mkdirs(folder)
        if sources:
            FileSystems.rename(sources, targets)
    if FileSystems.exists(staged["report"]):
        FileSystems.rename([staged["report"]], [final["report"]])
    with FileSystems.create(final["stats"]) as handle:
        handle.write(json.dumps(stats, indent=2).encode("utf-8"))
    delete_folder(staging)
    with FileSystems.create(marker) as handle:
        handle.write(b"")


def prepare(argv: list[str]) -> tuple[PipelineOptions, RunConfig, CorpusOptions]:
    """Flags -> (pipeline options, validated config, corpusbeam options); raises on any bad value.

    The profile's `beam:` options come first so that the command line overrides them.
    """
    first = PipelineOptions(argv).view_as(CorpusOptions)
    config = load_config(first.config, first.overrides)
    _check_filled_in(config.beam, argv, first.config)
    flags = beam_flags(config.beam) + list(argv)
    options = PipelineOptions(flags)
    effective_runner(options)
    if not options.view_as(StandardOptions).runner:
        flags = [f"--runner={DEFAULT_RUNNER}", *flags]
    defaults = engine_defaults(PipelineOptions(flags))
    options = RunOptions(flags + defaults)  # the defaults fill only flags left unset
    _check_job_endpoint(options)
    logger.info("runner: %s %s", effective_runner(options), " ".join(defaults))
    return options, config, options.view_as(CorpusOptions)


_PLACEHOLDER = "FILL_IN"
_ENDPOINT_WAIT_S = 60


def _check_job_endpoint(options: PipelineOptions) -> None:
    """A job service given by address must answer within a minute: Beam waits for it as long as
    --job_server_timeout, which engine_defaults raises to a week for the job's own streams."""
    endpoint = options.view_as(PortableOptions).job_endpoint
    if not endpoint or endpoint == "embed" or effective_runner(options).lower() not in ("portablerunner", "portable"):
        return
    import grpc

    channel = grpc.insecure_channel(endpoint)
    try:
        grpc.channel_ready_future(channel).result(timeout=_ENDPOINT_WAIT_S)
    except grpc.FutureTimeoutError:
        raise RunError(f"no job service answers at --job_endpoint={endpoint} (waited {_ENDPOINT_WAIT_S} s)") from None
    finally:
        channel.close()


def _check_filled_in(profile: dict, argv: list[str], path: str | None) -> None:
    """Cluster profiles ship with FILL_IN placeholders; refuse to submit a job that still has one."""
    given = {arg.split("=", 1)[0].lstrip("-") for arg in argv if arg.startswith("--")}
    for key, value in profile.items():
        if _PLACEHOLDER in str(value) and key not in given:
            raise RunError(
                f"{path}: beam.{key} is still {value!r}; set it in the profile, or pass --{key}=... (or --set beam.{key}=...)"
            )


_RUN_DATE = re.compile(r"run_date=(\d{4}-\d{2}-\d{2})(?=/|$)")


def _run_date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise RunError(f"--run_date {value!r} is not a date: use YYYY-MM-DD") from None


def _within(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


def _prior_index_files(corpus, root: str, output: str, run_date: str | None) -> tuple[str, ...]:
    """The earlier runs' index files an incremental run reads, each checked against this run.

    Left out: files of the run's own partition (a rerun must not find itself) and, with
    --run_date, files of partitions dated on or after it (a backfill must not see the future).
    """
    patterns = [_absolute(p) for p in corpus.prior_index]
    if not patterns:
        if run_date is None:
            raise RunError("--incremental needs --run_date (earlier runs are DIR/run_date=*/) or --prior_index PATTERN")
        patterns = [_join(root, "run_date=*/index/*.parquet")]
    files = []
    for path in sorted({m for pattern in patterns for m in matching_paths(pattern)}):
        dated = _RUN_DATE.search(path)
        if _within(path, output) or (run_date and dated and dated.group(1) >= run_date):
            logger.info("prior index: leaving out %s (this run's partition or a later one)", path)
            continue
        files.append(path)
    return tuple(files)


def _check_index_files(files: tuple[str, ...], config: RunConfig) -> None:
    """Refuse an index whose signatures and band keys would not compare with this run's."""
    expected = index_params(config.dedup, *resolve_lsh(config.dedup))
    for path in files:
        with FileSystems.open(path) as handle:
            metadata = pq.ParquetFile(handle).schema_arrow.metadata or {}
        problem = params_problem(metadata.get(PARAMS_KEY), expected)
        if problem:
            raise RunError(f"prior index {path}: {problem}; run with the same dedup settings or start a new index")


def _plan_incremental(corpus, config: RunConfig, root: str, output: str, run_date: str | None) -> Incremental | None:
    if not (corpus.incremental or corpus.prior_index):
        return None
    if not config.dedup.enabled:
        raise RunError("--incremental needs dedup.enabled: true")
    files = _prior_index_files(corpus, root, output, run_date)
    _check_index_files(files, config)
    if not files:
        logger.warning("incremental run: no index of an earlier run found; every document is new")
    return Incremental(prior_files=files, run_date=run_date or dt.datetime.now(dt.timezone.utc).date().isoformat())


def _totals(counters, key, value=lambda counter: counter.committed) -> dict:
    """Counter values (committed by default) summed by `key(counter)`; counters whose key is None are left out."""
    totals: dict = {}
    for counter in counters:
        name = key(counter)
        if name is not None:
            totals[name] = totals.get(name, 0) + (value(counter) or 0)
    return totals


def _metric_name(counter) -> str:
    return counter.key.metric.name


def run_counters(result) -> dict[str, int] | None:
    """The job's corpusbeam counters by name: committed values, or attempted ones where the runner
    commits none (Spark reports only attempted metrics); None where it reports no metrics."""
    try:
        counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    except Exception:  # noqa: BLE001 - runners differ in what they return
        return None
    committed = _totals(counters, _metric_name)
    totals = committed if any(committed.values()) else _totals(counters, _metric_name, lambda c: c.attempted)
    return dict(sorted(totals.items()))


def counters_mismatch(counters: dict[str, int] | None, stats: dict) -> str | None:
    """Where the job's counters disagree with the counts read back from the outputs, or None.

    Runners differ in how well they aggregate metrics (Flink's job service has been seen to keep one
    bundle's value of a counter), so a counter is trusted only when those that the data can check agree.
    """
    if counters is None:
        return None
    pairs = (("input-records", "input_records"), ("written:documents", "documents"), ("written:rejected", "rejected"))
    wrong = [f"{name} {counters.get(name, 0):,} for {stats[key]:,}" for name, key in pairs if counters.get(name, 0) != stats[key]]
    return "; ".join(wrong) or None


def _check_shuffles(totals: dict[str, int] | None) -> None:
    """Fail the run when a dedup shuffle delivered fewer elements than were sent.

    Lost documents fail the accounting check; lost band keys, edges, component ids or units would
    only lose duplicates, silently, so every dedup shuffle is counted on both sides (Beam's
    FnApiRunner has lost elements of shuffles with several local workers: see the README).
    """
    if totals is None:  # the caller has said so
        return
    sent, received = totals.get(SHUFFLE_SENT, 0), totals.get(SHUFFLE_RECEIVED, 0)
    if sent != received:
        raise RunError(
            f"the runner lost elements of a shuffle: the dedup shuffles were sent {sent:,} elements and received "
            f"{received:,}. Nothing was published; rerun, or use another runner or mode (the in-memory FnApiRunner)"
        )


_STAGE_TIME = "metric:ptransform_execution_time:total_msecs:v1"


def _stage_of(counter) -> str | None:
    """The top-level stage of an execution-time counter (ReadRawShards, CleanAndParse, ...)."""
    if counter.key.metric.name == _STAGE_TIME and counter.key.step:
        return counter.key.step.split("/")[0]
    return None


def stage_seconds(result) -> dict[str, float] | None:
    """CPU seconds per top-level stage (ReadRawShards, CleanAndParse, ...), from the runner's sampled
    execution-time metrics; None where the runner does not report them."""
    try:
        counters = result.monitoring_metrics().query()["counters"]
    except Exception:  # noqa: BLE001 - an optional report: runners differ in what they return
        return None
    msecs = sorted(_totals(counters, _stage_of).items(), key=lambda kv: -kv[1])
    return {stage: round(ms / 1000.0, 2) for stage, ms in msecs if ms > 0}


def _row_count(pattern: str) -> int:
    total = 0
    for path in matching_paths(pattern):
        with FileSystems.open(path) as handle:
            total += pq.ParquetFile(handle).metadata.num_rows
    return total


def _verify(output: str, files: set[str], indexed: bool) -> dict:
    """Read back stats.json and the Parquet footers; raise when any file or record is unaccounted for."""
    paths = output_paths(output)
    with FileSystems.open(paths["stats"]) as handle:
        stats = json.loads(handle.read().decode("utf-8"))
    problems = accounting_problems(stats)
    unread = sorted(files - set(stats["per_file"]))
    if unread:
        problems.append(f"{len(unread)} input files missing from the counts, e.g. {unread[0]}")
    for name in ("documents", "rejected"):
        written = _row_count(parquet_files(paths[name]))
        if written != stats[name]:
            problems.append(f"{name}: {written} rows written but {stats[name]} counted")
    if indexed:
        written = _row_count(parquet_files(paths["index"]))
        if written != stats["unique_documents"]:
            problems.append(f"index: {written} rows written for {stats['unique_documents']} kept documents")
    if problems:
        raise RunError("accounting check failed: " + "; ".join(problems))
    return stats


# glibc's malloc arenas for a worker process (unless the user set them): its default, 8 per core,
# left each SDK worker of Spark about 0.7 GB on 100k planted documents; with 2, about 0.53 GB
# (the workers' RSS summed 1.06-1.07 GB instead of 1.37-1.44, two runs each, same time and output).
WORKER_MALLOC_ARENAS = "2"


def _prepare_worker_environment() -> None:
    """The environment the driver's process workers inherit. Beam's local worker pool starts each as
    `python` from PATH: make that this interpreter, whose environment holds Beam and this package."""
    folder = os.path.dirname(sys.executable)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != folder:
        os.environ["PATH"] = folder + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("MALLOC_ARENA_MAX", WORKER_MALLOC_ARENAS)


def warm_worker_count(options: PipelineOptions) -> int:
    """SDK workers to start with a run whose engine asks this driver for process workers: as many as
    it runs at once (`--sdk_worker_parallelism`, which the local engines' defaults set to the cores)."""
    return max(0, int(options.view_as(PortableOptions).sdk_worker_parallelism))


def run(argv: list[str]) -> dict:
    """Run one corpus job; returns its stats. Raises ConfigError/RunError for user errors."""
    options, config, corpus = prepare(argv)
    inputs = [_absolute(pattern) for pattern in corpus.input or []]
    if not corpus.output:
        raise RunError("no output: give --output DIR")
    root = _absolute(corpus.output)
    run_date = _run_date(corpus.run_date)
    output = _join(root, f"run_date={run_date}") if run_date else root
    files = _check_inputs(inputs)
    incremental = _plan_incremental(corpus, config, root, output, run_date)
    staging = _prepare_output(output, corpus.overwrite)
    started = time.monotonic()
    try:
        process_workers = bool(options.view_as(DebugOptions).lookup_experiment(PROCESS_WORKERS))
        if process_workers:
            _prepare_worker_environment()
        p = beam.Pipeline(options=options)
        build_pipeline(p, config, inputs, staging, incremental)
        with (
            failing_on_lost_workers(poll_children=process_workers),
            heartbeat() if runs_in_this_process(options) else nullcontext(),
            warm_sdk_workers(warm_worker_count(options)) if process_workers else nullcontext(),
        ):
            try:
                result = p.run()
                result.wait_until_finish()
            finally:
                stop_workers()
        stats = _verify(staging, files, incremental is not None)
        counters = run_counters(result) if exact_metrics(options) else None
        mismatch = counters_mismatch(counters, stats)
        if mismatch:
            logger.warning("the runner's metrics disagree with the written data (%s): they are left out", mismatch)
            counters = None
        if counters is None:
            logger.warning(
                "no exact metrics from this runner: stats.json has no run.counters, the dedup shuffles are not checked"
            )
        _check_shuffles(counters)
    except BaseException:
        delete_folder(staging)
        raise
    bands, rows = resolve_lsh(config.dedup)
    stats["run"] = {
        "runner": effective_runner(options),
        "wall_seconds": round(time.monotonic() - started, 3),
        "inputs": inputs,
        "lsh": {"bands": bands, "rows": rows},
        "stage_seconds": stage_seconds(result),
        "counters": counters,
        "output": output,
        "incremental": None
        if incremental is None
        else {"run_date": incremental.run_date, "prior_index_files": list(incremental.prior_files)},
        "config": {k: v for k, v in asdict(config).items() if k != "beam"},
    }
    _stage_report(staging, stats)
    _publish(staging, output, stats)
    return stats


def _stage_report(staging: str, stats: dict) -> None:
    """report.html from the staged outputs; a report that fails to build does not fail the run."""
    try:
        write_report(FinishedRun(folder=staging, stats=stats), output_paths(staging)["report"])
    except Exception as err:  # noqa: BLE001 - the data is verified; the page can be rebuilt later
        logger.warning(
            "report.html was not built (%s: %s); build it with `corpusbeam report %s`",
            type(err).__name__,
            err,
            stats["run"]["output"],
        )
