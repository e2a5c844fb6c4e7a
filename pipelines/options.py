"""Pipeline options: the corpusbeam flags next to Beam's own, and the profile's default Beam options."""

from __future__ import annotations

import os
import re
from typing import TypeVar

from apache_beam.options.pipeline_options import (
    DebugOptions,
    DirectOptions,
    FlinkRunnerOptions,
    JobServerOptions,
    PipelineOptions,
    PortableOptions,
    PrismRunnerOptions,
    SparkRunnerOptions,
    StandardOptions,
)

from pipelines import engines

_View = TypeVar("_View", bound=PipelineOptions)

__all__ = [
    "CorpusOptions",
    "DEFAULT_RUNNER",
    "RunOptions",
    "RunnerRefused",
    "SparkStorageOptions",
    "beam_flags",
    "effective_runner",
    "engine_defaults",
    "exact_metrics",
    "is_prism",
    "runs_in_this_process",
]

# The FnApiRunner runs the graph in this process (or in worker processes with
# --direct_running_mode=multi_processing) and, unlike DirectRunner, never tries to download the
# Prism runner binary first.
DEFAULT_RUNNER = "FnApiRunner"

_REFUSED_RUNNERS = {
    "daskrunner": (
        "DaskRunner is refused: in Beam 2.77 it silently loses data (multi-output ParDo and Partition "
        "send every element to every branch, finish_bundle outputs and file sinks are dropped, so "
        "WriteToParquet writes 0 rows). Use FnApiRunner locally or a cluster runner (Flink, Spark, Dataflow)."
    ),
}


class RunnerRefused(ValueError):
    """The requested runner is known to lose data or cannot run this pipeline."""


class RunOptions(PipelineOptions):
    """A run's pipeline options, each view made once.

    Beam asks the pipeline's options for a view (`view_as(TypeOptions)`) about four times for every
    transform it applies, and each view builds an argparse parser and parses every flag again: 740
    views cost 0.2 s of CPU here, an eighth of a small run. Views keep no state of their own (all
    share this object's option store), so one view per class answers the same.
    """

    def view_as(self, cls: type[_View]) -> _View:
        views = self.__dict__.get("_views")
        if views is None:  # set through __dict__: PipelineOptions refuses unknown attributes
            views = self.__dict__["_views"] = {}
        if cls not in views:
            views[cls] = super().view_as(cls)
        return views[cls]

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        return {key: value for key, value in state.items() if key != "_views"}


class SparkStorageOptions(PipelineOptions):
    """--storage_level of Beam's Java Spark runner, which the Python SDK does not declare: declared here,
    it is parsed (not warned about as unknown) and passed on to the job like Beam's own options."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--storage_level",
            default=None,
            help=f"how Spark caches a PCollection that two steps read (local engine default: {SPARK_STORAGE_LEVEL})",
        )


class CorpusOptions(PipelineOptions):
    """Flags of `corpusbeam run`; Beam's own flags (--runner, --setup_file, ...) pass through."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        # The one definition of these flags: Beam parses them here and `corpusbeam run --help` shows them.
        parser.add_argument("--config", help="YAML run profile, e.g. configs/local.yaml")
        parser.add_argument(
            "--input",
            action="append",
            default=[],
            metavar="PATTERN",
            help="input files (.jsonl[.gz|.zst], .warc[.gz], .wet[.gz], .txt); repeatable; any Beam FileSystems scheme",
        )
        parser.add_argument("--output", metavar="DIR", help="output directory")
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            dest="overrides",
            metavar="KEY=VALUE",
            help="override one config key, e.g. --set dedup.threshold=0.8; repeatable",
        )
        parser.add_argument("--overwrite", action="store_true", default=False, help="replace the run already in DIR")
        parser.add_argument(
            "--allow_local_workers",
            action="store_true",
            default=False,
            help="allow --direct_running_mode=multi_processing with several workers, which Beam 2.77 has been seen to lose data in",
        )
        parser.add_argument(
            "--run_date",
            metavar="YYYY-MM-DD",
            help="write into DIR/run_date=YYYY-MM-DD/; --overwrite then replaces that partition only",
        )
        parser.add_argument(
            "--incremental",
            action="store_true",
            default=False,
            help="write this run's dedup index (DIR/index/) and mark documents that repeat earlier runs' documents; "
            "the earlier runs are DIR/run_date=*/ before --run_date unless --prior_index is given",
        )
        parser.add_argument(
            "--prior_index",
            action="append",
            default=[],
            metavar="PATTERN",
            help="index files of earlier runs (implies --incremental), e.g. 'gs://b/corpus/run_date=*/index/*.parquet'; repeatable",
        )


def beam_flags(profile: dict[str, object]) -> list[str]:
    """The profile's `beam:` mapping as command-line flags (lists repeat their flag)."""
    flags = []
    for key, value in profile.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool):
                if item:
                    flags.append(f"--{key}")
            else:
                flags.append(f"--{key}={item}")
    return flags


_LOCAL_FN_API_RUNNERS = {"fnapirunner", "fnapi"}
# Beam's DirectRunner picks Prism and, when it cannot fetch Prism's binary, silently falls back to the
# FnApiRunner. Here it is Prism, the one `make runners` installed, or a refusal that says what to run.
_PRISM_NAMES = {"prismrunner", "prism", "directrunner", "switchingdirectrunner", "direct"}
# An SDK worker of a job-service runner in its own process (the driver's worker pool starts it), not
# a thread of the driver: the driver's GIL is then not the workers'.
PROCESS_WORKERS = "use_loopback_process_worker"
# Flink and Spark keep an SDK worker this long after its last bundle. Beam's default (0) starts new
# worker processes for every task of the job: on 1,000 documents Flink started 12 workers, each
# importing Beam and loading the language model again, and took 44 s instead of 32 s.
ENVIRONMENT_CACHE_MS = 600_000
# Beam 2.77's PortableRunner puts its request timeout (--job_server_timeout, 300 s) on the job's
# state and message streams too, so any job longer than 5 minutes failed with DEADLINE_EXCEEDED
# (Prism on the 100k planted corpus, at 305 s; apache/beam#35867). A job-service runner gets a
# week instead; start-up keeps its own wait (the subprocess server's, or the endpoint probe in run.py).
JOB_STREAM_TIMEOUT_S = 7 * 24 * 3600
# An embedded engine's JVM compiles with C1 only. A local job is too short for C2's optimised code to
# repay the CPU it spends compiling, on the cores the SDK workers need: on 20k planted documents
# Spark's JVM took 20 s of CPU instead of 37 s, and on 100k 28 s instead of 54 s (bench/engines.py).
# Spark's embedded engine also serialises with Kryo: Java serialisation cannot write the Beam runner's
# cached partitions (RawUnionValue) to disk, so without it SPARK_STORAGE_LEVEL failed the job. Its
# heap is Spark's own default for a local driver (spark.driver.memory, 1g, which spark-submit would
# give it), not the JVM's quarter of the machine: with the partitions spilled, 100k planted documents
# took 78 s and 2.8 GB summed over every process, against 75 s and 4.5-5.8 GB uncapped.
# Its shuffle and spill files are not compressed: they stay on this machine's disk, and LZ4 cost its
# JVM CPU the SDK workers need (100k planted documents in 8 files, two runs each in turns: JVM 26.9
# and 29.2 s of CPU instead of 33.8 and 31.6 s, wall 65.0 and 69.3 s instead of 70.2 and 77.1 s).
# Both engines' JVMs collect garbage with the serial collector, and Spark runs without its web UI: G1's
# concurrent threads and the UI's event listeners took CPU the SDK workers need (100k planted documents
# in 8 files, runs in turns: Spark's JVM 21.4, 22.3 and 25.9 s of CPU against 26.9, 29.7 and 31.9 s
# with neither, the serial collector alone 24.1 s, the UI off alone 26.8 s; Flink's 37.3 and 36.6 s
# against 39.8 and 41.3 s, and its JVM's RSS 1.43-1.45 GB against 2.2-2.4 GB).
# The job server of an engine from `make runners` maps the class-data archive that `make runners`
# wrote for it (`engines.class_archive`): its classes need no reading, verifying and linking. On
# 1,000 planted documents in 2 files, Spark ran in 8.5 and 8.1 s (JVM CPU 5.0 and 4.6 s) against
# 10.8 and 10.8 s (6.3 and 6.8 s) without it, Flink in 8.1 and 7.8 s against 8.9 and 9.3 s
# (`python bench/engines.py --docs 1000 --shards 2 --engines spark`, runs in turns, the runs
# without it with --beam-option=--job_server_jvm_property=-Xshare:auto).
# A --job_server_jvm_property replaces only the default it names (-XX:TieredStopAtLevel=4 restores C2,
# -Xmx8g gives the heap more, -Dspark.shuffle.compress=true compresses again, -XX:+UseG1GC brings G1
# back, -Dspark.ui.enabled=true the UI).
LOCAL_ENGINE_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
LOCAL_SPARK_JVM = (
    "-Dspark.serializer=org.apache.spark.serializer.KryoSerializer",
    "-Xmx1g",
    "-Dspark.shuffle.compress=false",
    "-Dspark.shuffle.spill.compress=false",
    "-Dspark.ui.enabled=false",
)
# Beam's Spark runner caches every PCollection read twice, and the whole output of every stage with
# more than one output, in memory only (MEMORY_ONLY): under a capped heap Spark dropped the partitions
# that did not fit and computed them again (100k planted documents, -Xmx2g: 107 s instead of 69 s, the
# SDK workers' CPU 171 s instead of 93 s). It writes them to disk instead: MEMORY_AND_DISK made Spark
# estimate the size of every cached element (SizeEstimator, 18% of the JVM's sampled Java time), and
# the stages' outputs of 100k documents did not fit the 1g heap anyway. DISK_ONLY, two runs each in
# turns: JVM CPU 20.9 and 20.3 s instead of 25.5 and 25.0 s, wall 64.9 and 62.4 s instead of 69.9
# and 67.2 s, same peak memory.
SPARK_STORAGE_LEVEL = "DISK_ONLY"
_BEAM_JOB_SERVER_TIMEOUT_S = 300
_JOB_SERVICE_RUNNERS = {"portablerunner", "portable", "flinkrunner", "flink", "sparkrunner", "spark"} | _PRISM_NAMES

_PARALLEL_LOCAL_REFUSED = (
    "--direct_running_mode={mode} with --direct_num_workers={workers} is refused: with more than one "
    "worker thread Beam 2.77's FnApiRunner loses and corrupts elements (bench/fnapi_gbk_repro.py shows "
    "it on a plain GroupByKey). Run in memory (the local profile), or on a cluster runner."
)

_PROCESSES_REFUSED = (
    "--direct_running_mode=multi_processing with --direct_num_workers={workers} is refused: with several local "
    "workers Beam 2.77's FnApiRunner has lost elements of this pipeline's shuffles (runs of 100,000 documents "
    "lost 4-11% of their documents with one variant of the graph; runs of this graph lost 9% of the documents, "
    "or found 18,087 instead of 41,577 duplicates without an error). Run in memory (the local profile), with --direct_num_workers=1, "
    "or on a cluster runner; --allow_local_workers runs it anyway (for experiments: the accounting and "
    "shuffle checks catch lost documents and lost dedup elements, not a loss in the site-template step)."
)


def _runner_and_mode(options: PipelineOptions) -> tuple[str, bool, str]:
    """The runner's name (FnApiRunner by default), whether it is the local FnApiRunner, and its mode."""
    runner = options.view_as(StandardOptions).runner or DEFAULT_RUNNER
    name = runner if isinstance(runner, str) else type(runner).__name__
    mode = options.view_as(DirectOptions).direct_running_mode or "in_memory"
    return name, name.lower() in _LOCAL_FN_API_RUNNERS, mode


def is_prism(options: PipelineOptions) -> bool:
    """Whether the runner is Prism (asked for as PrismRunner or DirectRunner)."""
    return _runner_and_mode(options)[0].lower() in _PRISM_NAMES


def runs_in_this_process(options: PipelineOptions) -> bool:
    """Whether the job's bundles run in this process (the local runner's in-memory and threaded modes,
    or Prism's LOOPBACK worker as a thread of this process), so that this process's progress tally is
    the job's."""
    _, local, mode = _runner_and_mode(options)
    if is_prism(options):
        portable = options.view_as(PortableOptions)
        loopback = (portable.environment_type or "LOOPBACK").upper() == "LOOPBACK"
        return loopback and not options.view_as(DebugOptions).lookup_experiment(PROCESS_WORKERS)
    return local and mode != "multi_processing"


def exact_metrics(options: PipelineOptions) -> bool:
    """Whether the runner's counters can be trusted as sums over the whole job. The Flink and Spark job
    services that `make runners` installs (Beam 2.62) lose bundles' counter updates (on the WARC samples
    the dedup shuffles counted 704 elements sent for 1,408 received, with every table right)."""
    return _jar_engine(options) is None


def _jar_engine(options: PipelineOptions) -> str | None:
    """'flink' or 'spark' when the runner is one of the Java engines `make runners` installs."""
    engine = _runner_and_mode(options)[0].lower().removesuffix("runner")
    return engine if engine in engines.JAR_ENGINES else None


def engine_defaults(options: PipelineOptions) -> list[str]:
    """Flags that make a local engine run with no other flag, for flags the user left unset: the
    installed Prism binary, or the installed job-server jar with the engine embedded in its JVM, one
    SDK worker process per core (kept for the whole job); raises EngineMissing when the engine is not
    installed."""
    name = _runner_and_mode(options)[0].lower()
    portable = options.view_as(PortableOptions)
    flags: list[str] = []
    if name in _JOB_SERVICE_RUNNERS and portable.job_server_timeout == _BEAM_JOB_SERVER_TIMEOUT_S:
        flags.append(f"--job_server_timeout={JOB_STREAM_TIMEOUT_S}")
    if name in _PRISM_NAMES:
        if name != "prismrunner":
            flags.append("--runner=PrismRunner")
        if not options.view_as(PrismRunnerOptions).prism_location:
            flags.append(f"--prism_location={engines.installed('prism')}")
        return flags
    engine = _jar_engine(options)
    if engine is None:
        return flags
    cores = os.cpu_count() or 1
    jar_flag = engines.JAR_ENGINES[engine].jar_flag
    our_jar = not getattr(options.view_as(FlinkRunnerOptions if engine == "flink" else SparkRunnerOptions), jar_flag)
    if our_jar:
        flags.append(f"--{jar_flag}={engines.installed(engine)}")
    if engine == "flink":
        flink = options.view_as(FlinkRunnerOptions)
        if flink.flink_master == "[auto]":  # Beam's default: the embedded mini-cluster, said explicitly
            flags.append("--flink_master=[local]")
        local = flink.flink_master in ("[auto]", "[local]")
        jvm = LOCAL_ENGINE_JVM
        if flink.flink_version == FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS[-1]:  # Beam's default
            flags.append(f"--flink_version={engines.FLINK_VERSION}")
        if flink.parallelism == -1:
            flags.append(f"--parallelism={cores}")
    else:
        spark_master = options.view_as(SparkRunnerOptions).spark_master_url
        if spark_master == "local[4]":  # Beam's default
            flags.append(f"--spark_master_url=local[{cores}]")
        local = spark_master.startswith("local")
        jvm = LOCAL_ENGINE_JVM + LOCAL_SPARK_JVM
        if local and not options.view_as(SparkStorageOptions).storage_level:
            flags.append(f"--storage_level={SPARK_STORAGE_LEVEL}")
    if str(portable.environment_cache_millis) == "0":  # Beam's default: a new SDK worker for every task
        flags.append(f"--environment_cache_millis={ENVIRONMENT_CACHE_MS}")
    # LOOPBACK workers belong to this driver, so only to an engine inside the job server's JVM: the
    # TaskManagers of a cluster would all ask the one driver for workers (Beam's default there: DOCKER).
    if local and not portable.environment_type:
        flags += ["--environment_type=LOOPBACK", f"--experiments={PROCESS_WORKERS}", f"--sdk_worker_parallelism={cores}"]
    if local:
        archive = engines.class_archive(engine) if our_jar else None
        if archive is not None and archive.is_file():
            jvm += (f"-XX:SharedArchiveFile={archive}",)
        given = {_jvm_property_name(prop) for prop in options.view_as(JobServerOptions).job_server_jvm_properties or ()}
        flags += [f"--job_server_jvm_property={prop}" for prop in jvm if _jvm_property_name(prop) not in given]
    return flags


def _jvm_property_name(prop: str) -> str:
    """What a JVM flag sets, so that a user's flag replaces the default for the same thing:
    -Dspark.serializer=X -> -Dspark.serializer, -XX:TieredStopAtLevel=4 and -XX:+Foo -> -XX:..., -Xmx2g -> -Xmx,
    every -XX:+Use...GC -> the one garbage collector (the JVM refuses two), and a class-data archive
    flag (or -Xshare) -> the one archive."""
    if re.fullmatch(r"-XX:[+-]Use\w*GC", prop):
        return "-XX:UseGC"  # one collector: a user's -XX:+UseG1GC replaces our -XX:+UseSerialGC
    if prop.startswith(("-XX:SharedArchiveFile=", "-XX:ArchiveClassesAtExit=", "-Xshare:")):
        return "-XX:SharedArchiveFile"  # a user's archive (or none) replaces ours; the JVM takes one
    if prop.startswith("-XX:"):
        return "-XX:" + prop[4:].lstrip("+-").split("=", 1)[0]
    if prop.startswith("-D"):
        return prop.split("=", 1)[0]
    match = re.match(r"-X[a-z]+", prop)
    return match.group(0) if match else prop


def effective_runner(options: PipelineOptions) -> str:
    """The runner name, defaulting to the FnApiRunner; refuses runners and modes that lose data."""
    name, local, mode = _runner_and_mode(options)
    reason = _REFUSED_RUNNERS.get(name.lower()) or _REFUSED_RUNNERS.get(f"{name.lower()}runner")
    if reason:
        raise RunnerRefused(reason)
    workers = options.view_as(DirectOptions).direct_num_workers
    if local and mode == "multi_threading" and workers != 1:
        raise RunnerRefused(_PARALLEL_LOCAL_REFUSED.format(mode=mode, workers=workers))
    if local and mode == "multi_processing" and workers != 1 and not options.view_as(CorpusOptions).allow_local_workers:
        raise RunnerRefused(_PROCESSES_REFUSED.format(workers=workers))
    return name
