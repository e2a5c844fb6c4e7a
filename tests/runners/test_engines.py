"""The graph on Prism, Beam's portable local runner, installed by `make runners`: the same tables and
counts as the in-memory FnApiRunner, no network needed, and a killed engine publishes nothing.

These tests need the installed Prism binary and fail (not skip) without it: `make test` installs it.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines import engines
from pipelines import run as run_module
from pipelines.cli import main
from pipelines.flink_session import bytes_received_by_taskmanager, session_cluster
from pipelines.options import JOB_STREAM_TIMEOUT_S, PROCESS_WORKERS, engine_defaults, runs_in_this_process
from pipelines.run import RunError, _prepare_worker_environment, counters_mismatch, run
from pipelines.worker_watch import job_service_pids, sdk_worker_pids
from tests.conftest import DATA, ROOT
from tests.e2e.test_cli import SAMPLE_ARGS

SPDX = ROOT.parent / "shared" / "bench" / "neardup" / "spdx-licenses.jsonl.gz"
PRISM = ["--runner=PrismRunner"]
LONG_JOBS = f"--job_server_timeout={JOB_STREAM_TIMEOUT_S}"


def tables(out: Path) -> dict:
    """Every row of documents/, rejected/ and clusters/, sorted, and stats.json without its `run` part."""
    content = {}
    for name in ("documents", "rejected", "clusters"):
        rows = ds.dataset(str(out / name), format="parquet", partitioning="hive").to_table().to_pylist()
        content[name] = sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)
    stats = json.loads((out / "stats.json").read_text())
    content["stats"] = {k: v for k, v in stats.items() if k != "run"}
    return content


ENGINES = {"prism": ["--runner=PrismRunner"], "flink": ["--runner=FlinkRunner"], "spark": ["--runner=SparkRunner"]}


@pytest.fixture(scope="module", autouse=True)
def engines_installed():
    for engine in ENGINES:
        engines.installed(engine)  # EngineMissing says: run `make runners`


def counters_agree_with_the_data(stats: dict) -> None:
    """The run's Beam counters (stats.json run.counters) against the counts taken from the tables."""
    counters = stats["run"]["counters"]
    assert counters["input-records"] == stats["input_records"]
    assert counters["written:documents"] == stats["documents"]
    assert counters.get("written:rejected", 0) == stats["rejected"]
    assert counters.get("written:clusters", 0) == stats["clusters"]
    assert counters["dedup:shuffle-sent"] == counters["dedup:shuffle-received"] > 0
    filtered = {name.split(":", 1)[1]: n for name, n in counters.items() if name.startswith("filtered:")}
    assert filtered == {reason: n for reason, n in stats["rejected_by_reason"].items() if reason in filtered}


def spdx_shards(folder: Path) -> list[str]:
    """The SPDX licences shuffled into three shards."""
    with gzip.open(SPDX, "rt", encoding="utf-8") as handle:
        records = [line for line in handle if line.strip()]
    random.Random(5).shuffle(records)
    folder.mkdir()
    for s in range(3):
        (folder / f"spdx-{s}.jsonl").write_text("".join(records[s::3]))
    return ["--input", str(folder / "*.jsonl")]


WARC = ["--input", str(DATA / "warc" / "*.warc*"), "--input", str(DATA / "warc" / "*.wet"), "--set", "quality.enabled=false"]


@pytest.fixture(scope="module")
def in_memory(tmp_path_factory):
    """Each data set's arguments and its in-memory run's tables, run once for every engine to match."""
    base = tmp_path_factory.mktemp("memory")
    runs = {}
    for name, args in (("samples", SAMPLE_ARGS), ("spdx", spdx_shards(base / "spdx-shards")), ("warc", WARC)):
        assert main(["run", *args, "--output", str(base / name)]) == 0
        runs[name] = (args, tables(base / name), json.loads((base / name / "stats.json").read_text()))
    return runs


def test_the_in_memory_runs_have_something_to_compare(in_memory):
    assert in_memory["samples"][2]["documents"] == 9 and in_memory["samples"][2]["duplicates"] == 2
    assert in_memory["spdx"][2]["input_records"] == 727 and in_memory["spdx"][2]["duplicates"] > 50
    assert in_memory["warc"][2]["documents"] > 20 and in_memory["warc"][2]["input_files"] == 7
    counters_agree_with_the_data(in_memory["samples"][2])


@pytest.mark.parametrize("data", ["samples", "spdx", "warc"])
@pytest.mark.parametrize("engine", list(ENGINES))
def test_every_engine_writes_the_in_memory_tables_and_counts(in_memory, engine, data, tmp_path):
    args, expected, memory_stats = in_memory[data]
    assert main(["run", *args, *ENGINES[engine], "--output", str(tmp_path / "out")]) == 0
    assert tables(tmp_path / "out") == expected
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["run"]["runner"] == ENGINES[engine][0].split("=")[1]
    if engine == "prism":
        # Prism commits exact metrics (with pipelines/patches/prism-metrics-before-short-ids.patch:
        # without it, bundles that report a new counter at once lose all but one value)
        assert stats["run"]["counters"] == memory_stats["run"]["counters"]
    else:
        assert stats["run"]["counters"] is None  # the 2.62 job services lose counter updates


def _connected(pid: int) -> bool:
    """Whether a process has a socket open: an SDK worker that reached its engine, not a warm worker
    still waiting for a job (`pipelines.warm_sdk_workers`)."""
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:") for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def _workers_beam_started(caplog) -> int:
    pool = "apache_beam.runners.worker.worker_pool_main"
    return sum(record.name == pool and "Starting worker with command" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("warm, beam_started", [(2, 0), (1, 1), (4, 0)])
def test_spark_takes_its_workers_from_those_started_with_the_run(in_memory, tmp_path, caplog, monkeypatch, warm, beam_started):
    """Spark asks the driver for two workers: the warm ones, and Beam starts any beyond them; a warm
    worker no request came for ends with the run, which it does not fail."""
    monkeypatch.setattr(run_module, "warm_worker_count", lambda options: warm)
    caplog.set_level(logging.WARNING, logger="apache_beam.runners.worker.worker_pool_main")
    args, expected, _ = in_memory["samples"]
    assert main(["run", *args, *ENGINES["spark"], "--output", str(tmp_path / "out")]) == 0
    assert tables(tmp_path / "out") == expected
    assert _workers_beam_started(caplog) == beam_started
    assert not sdk_worker_pids(os.getpid())


def test_a_warm_worker_that_dies_before_its_job_is_replaced_and_loses_nothing(in_memory, tmp_path, caplog):
    """Killed while it waits (no job of the run is on it), a warm worker is passed over: the run does
    not fail, the next request gets the other warm worker and Beam starts one for the last."""
    caplog.set_level(logging.WARNING, logger="apache_beam.runners.worker.worker_pool_main")
    done = threading.Event()

    def kill_a_waiting_worker() -> None:
        while not done.is_set():
            waiting = [pid for pid in sdk_worker_pids(os.getpid()) if not _connected(pid)]
            if waiting:
                os.kill(waiting[0], signal.SIGKILL)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_waiting_worker)
    killer.start()
    args, expected, _ = in_memory["samples"]
    try:
        assert main(["run", *args, *ENGINES["spark"], "--output", str(tmp_path / "out")]) == 0
    finally:
        done.set()
        killer.join()
    assert tables(tmp_path / "out") == expected
    assert _workers_beam_started(caplog) == 1


def test_a_flink_session_cluster_of_two_taskmanagers_writes_the_in_memory_tables(in_memory, tmp_path):
    """A JobManager and two TaskManager JVMs on loopback, the job server submitting to them: the SPDX
    shards' documents are shuffled between the TaskManagers by Flink's network stack, and the tables
    are the in-memory run's."""
    args, expected, _ = in_memory["spdx"]
    with session_cluster(taskmanagers=2) as flags:
        assert main(["run", *args, *flags, "--output", str(tmp_path / "out")]) == 0
        master = next(flag.split("=", 1)[1] for flag in flags if flag.startswith("--flink_master="))
        received = bytes_received_by_taskmanager(master)
    assert tables(tmp_path / "out") == expected
    assert len(received) == 2 and all(n > 0 for n in received.values()), received


def test_counters_that_disagree_with_the_data_are_named():
    stats = {"input_records": 11, "documents": 9, "rejected": 2}
    good = {"input-records": 11, "written:documents": 9, "written:rejected": 2}
    assert counters_mismatch(good, stats) is None and counters_mismatch(None, stats) is None
    assert counters_mismatch({**good, "written:documents": 2}, stats) == "written:documents 2 for 9"


def test_prism_is_built_with_its_patches():
    """`make runners` applied every patch and ran the tests of the packages they change."""
    assert engines._patched_packages() == ["./go/pkg/beam/runners/prism/internal/jobservices"]
    assert engines._state()["prism"]["patches"] == [patch.name for patch in engines.PRISM_PATCHES]
    assert engines.installed("prism").parent.name == f"v{engines.BEAM_VERSION}-{engines._patches_digest()}"


def test_direct_runner_is_the_installed_prism():
    flags = engine_defaults(PipelineOptions(["--runner=DirectRunner"]))
    assert flags == [LONG_JOBS, "--runner=PrismRunner", f"--prism_location={engines.prism_binary()}"]
    own = ["--runner=PrismRunner", "--prism_location=/my/prism", "--job_server_timeout=60"]
    assert engine_defaults(PipelineOptions(own)) == []
    assert engine_defaults(PipelineOptions(["--runner=FnApiRunner"])) == []


def test_a_job_service_runner_outlives_beams_request_timeout():
    """Beam puts --job_server_timeout (300 s) on the job's whole state stream: a 100k-document Prism
    run failed at 305 s. Every job-service runner gets a week, unless the user set a timeout."""
    for runner in ("PrismRunner", "FlinkRunner", "SparkRunner", "PortableRunner"):
        options = PipelineOptions(
            [f"--runner={runner}", "--prism_location=/p", "--flink_job_server_jar=/j", "--spark_job_server_jar=/j"]
        )
        assert LONG_JOBS in engine_defaults(options)
    assert not any("job_server_timeout" in flag for flag in engine_defaults(PipelineOptions(["--runner=FnApiRunner"])))


def test_an_unreachable_job_endpoint_is_named_not_waited_for_a_week(tmp_path, monkeypatch):
    monkeypatch.setattr("pipelines.run._ENDPOINT_WAIT_S", 1)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["run", *SAMPLE_ARGS, "--runner=PortableRunner", f"--job_endpoint=localhost:{port}", "--output", str(tmp_path / "out")]
    started = time.monotonic()
    with pytest.raises(RunError, match=f"no job service answers at --job_endpoint=localhost:{port}"):
        run(args[1:])
    assert time.monotonic() - started < 30


def test_a_runner_without_its_engine_says_what_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CORPUSBEAM_CACHE", str(tmp_path / "empty-cache"))
    assert main(["run", *SAMPLE_ARGS, "--runner=DirectRunner", "--output", str(tmp_path / "out")]) == 2
    assert "run `make runners` first" in capsys.readouterr().err
    assert not (tmp_path / "out" / "_SUCCESS").exists()


def test_flink_and_spark_defaults_use_the_installed_jar_the_embedded_engine_and_every_core(tmp_path, monkeypatch):
    monkeypatch.setenv("CORPUSBEAM_CACHE", str(tmp_path))
    for engine in ("flink", "spark"):
        engines.jar_path(engine).parent.mkdir(parents=True, exist_ok=True)
        engines.jar_path(engine).write_bytes(b"")
    cores = os.cpu_count()
    flink = engine_defaults(PipelineOptions(["--runner=FlinkRunner"]))
    assert f"--flink_job_server_jar={engines.jar_path('flink')}" in flink
    assert {"--flink_master=[local]", f"--parallelism={cores}", "--environment_type=LOOPBACK"} <= set(flink)
    assert f"--sdk_worker_parallelism={cores}" in flink
    spark = engine_defaults(PipelineOptions(["--runner=SparkRunner"]))
    assert f"--spark_master_url=local[{cores}]" in spark and f"--spark_job_server_jar={engines.jar_path('spark')}" in spark
    own = engine_defaults(PipelineOptions(["--runner=FlinkRunner", "--flink_master=host:8081", "--parallelism=3"]))
    assert not any(flag.startswith(("--flink_master", "--parallelism")) for flag in own)
    # a cluster's TaskManagers cannot share this driver's LOOPBACK workers: Beam's default applies
    assert not any(flag.startswith("--environment_type") for flag in own)
    assert "--environment_cache_millis=600000" in own and "--environment_cache_millis=600000" in flink
    remote = engine_defaults(PipelineOptions(["--runner=SparkRunner", "--spark_master_url=spark://host:7077"]))
    assert not any(flag.startswith(("--environment_type", "--spark_master_url")) for flag in remote)
    # the embedded engines' JVM compiles with C1 only, unless the user gives the JVM flags
    c1 = "--job_server_jvm_property=-XX:TieredStopAtLevel=1"
    assert c1 in flink and c1 in spark and c1 not in own and c1 not in remote
    # a user's JVM flag replaces only the default for the same setting
    kryo = "--job_server_jvm_property=-Dspark.serializer=org.apache.spark.serializer.KryoSerializer"
    heap = "--job_server_jvm_property=-Xmx1g"  # Spark's own default driver memory
    assert kryo in spark and heap in spark and not {kryo, heap} & set(flink + remote)
    mine = engine_defaults(PipelineOptions(["--runner=SparkRunner", "--job_server_jvm_property=-Xmx4g"]))
    assert c1 in mine and kryo in mine and not any("-Xmx" in flag for flag in mine)
    c2 = engine_defaults(PipelineOptions(["--runner=FlinkRunner", "--job_server_jvm_property=-XX:TieredStopAtLevel=4"]))
    assert [flag for flag in c2 if flag.startswith("--job_server_jvm_propert")] == ["--job_server_jvm_property=-XX:+UseSerialGC"]
    java = engine_defaults(PipelineOptions(["--runner=SparkRunner", "--job_server_jvm_property=-Dspark.serializer=J"]))
    assert c1 in java and kryo not in java
    # the embedded Spark's local shuffle files are not compressed, unless the user says so
    plain = "--job_server_jvm_property=-Dspark.shuffle.compress=false"
    assert plain in spark and plain in mine and plain not in flink + remote
    lz4 = engine_defaults(PipelineOptions(["--runner=SparkRunner", "--job_server_jvm_property=-Dspark.shuffle.compress=true"]))
    assert plain not in lz4 and "--job_server_jvm_property=-Dspark.shuffle.spill.compress=false" in lz4
    # the embedded engines' serial collector and Spark's missing web UI, unless the user picks a collector or the UI
    serial, no_ui = "--job_server_jvm_property=-XX:+UseSerialGC", "--job_server_jvm_property=-Dspark.ui.enabled=false"
    assert serial in spark and serial in flink and no_ui in spark and not {serial, no_ui} & set(own + remote)
    assert no_ui not in flink
    g1 = engine_defaults(PipelineOptions(["--runner=SparkRunner", "--job_server_jvm_property=-XX:+UseG1GC"]))
    assert serial not in g1 and no_ui in g1 and c1 in g1
    # the embedded Spark spills cached partitions instead of computing them again; a given level stays
    assert "--storage_level=DISK_ONLY" in spark and not any("storage_level" in flag for flag in flink + remote)
    given = engine_defaults(PipelineOptions(["--runner=SparkRunner", "--storage_level=MEMORY_ONLY"]))
    assert not any("storage_level" in flag for flag in given)


@pytest.mark.parametrize("engine", sorted(engines.JAR_ENGINES))
def test_make_runners_left_a_class_archive_this_jvm_maps(engine):
    archive = engines.class_archive(engine)
    assert archive is not None and archive.is_file(), engines._state().get(engine)
    java = [engines.java_binary(), f"-XX:SharedArchiveFile={archive}", "-Xshare:on", "-cp", str(engines.jar_path(engine))]
    done = subprocess.run([*java, "-version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "sharing" in done.stderr, done.stderr


def test_the_installed_job_servers_map_their_class_archive_when_there_is_one(tmp_path, monkeypatch):
    monkeypatch.setenv("CORPUSBEAM_CACHE", str(tmp_path))
    monkeypatch.setattr(engines, "java_binary", lambda: str(tmp_path / "jdk" / "bin" / "java"))
    (tmp_path / "jdk" / "bin").mkdir(parents=True)
    (tmp_path / "jdk" / "bin" / "java").write_bytes(b"one JVM")
    for engine in ("flink", "spark"):
        engines.jar_path(engine).parent.mkdir(parents=True, exist_ok=True)
        engines.jar_path(engine).write_bytes(b"")
    archive = engines.class_archive("spark")
    flag = f"--job_server_jvm_property=-XX:SharedArchiveFile={archive}"
    assert flag not in engine_defaults(PipelineOptions(["--runner=SparkRunner"]))  # none recorded yet
    archive.write_bytes(b"")
    assert flag in engine_defaults(PipelineOptions(["--runner=SparkRunner"]))
    assert not any("SharedArchiveFile" in f for f in engine_defaults(PipelineOptions(["--runner=FlinkRunner"])))
    # a user's own jar, or the user's say on class sharing, leave it out
    own_jar = engine_defaults(PipelineOptions(["--runner=SparkRunner", "--spark_job_server_jar=/elsewhere.jar"]))
    off = engine_defaults(PipelineOptions(["--runner=SparkRunner", "--job_server_jvm_property=-Xshare:off"]))
    assert flag not in own_jar and flag not in off
    # another JVM (its launcher changed) has no archive yet
    (tmp_path / "jdk" / "bin" / "java").write_bytes(b"another JVM")
    assert engines.class_archive("spark") != archive
    assert not any("SharedArchiveFile" in f for f in engine_defaults(PipelineOptions(["--runner=SparkRunner"])))
    monkeypatch.setattr(engines, "java_binary", lambda: None)
    assert engines.class_archive("spark") is None


def test_process_workers_get_this_python_and_fewer_malloc_arenas(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin")
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    _prepare_worker_environment()
    assert os.environ["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
    assert os.environ["MALLOC_ARENA_MAX"] == "2"
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")  # the user's own setting stays
    _prepare_worker_environment()
    assert os.environ["MALLOC_ARENA_MAX"] == "8"


def test_a_missing_jar_names_what_make_runners_could_not_install(tmp_path, monkeypatch):
    monkeypatch.setenv("CORPUSBEAM_CACHE", str(tmp_path))
    (tmp_path / "engines.json").write_text(json.dumps({"flink": {"error": "Could not find artifact X"}}))
    with pytest.raises(engines.EngineMissing, match="make runners.*Could not find artifact X"):
        engine_defaults(PipelineOptions(["--runner=FlinkRunner"]))


@pytest.mark.parametrize(
    "flags, in_process",
    [
        (PRISM, True),  # LOOPBACK: the SDK worker is a thread of this process
        ([*PRISM, "--experiments=use_loopback_process_worker"], False),
        ([*PRISM, "--environment_type=EXTERNAL", "--environment_config=localhost:50000"], False),
    ],
)
def test_prism_heartbeat_only_when_its_worker_is_in_this_process(flags, in_process):
    assert runs_in_this_process(PipelineOptions(flags)) is in_process


def _cli(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], cwd=ROOT, env=env, **kwargs)


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
@pytest.mark.parametrize("runner", ["DirectRunner", "FlinkRunner", "SparkRunner"])
def test_engines_run_with_the_network_switched_off(tmp_path, runner):
    """In a network namespace of its own with only loopback up: the engine is installed, nothing is fetched."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.fail(f"unshare -n is not permitted here: {probe.stderr.decode().strip()}")
    out = tmp_path / "out"
    cli = shlex.join([sys.executable, "-m", "pipelines.cli", "run", *SAMPLE_ARGS, f"--runner={runner}", "--output", str(out)])
    script = f"ip link set lo up 2>/dev/null || true; cd {ROOT} && PYTHONPATH={ROOT} {cli}"
    done = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["run"]["runner"] == runner.replace("Direct", "Prism") and stats["documents"] == 9


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory):
    """A published run, the output folder a failed run must leave as it is."""
    out = tmp_path_factory.mktemp("previous") / "out"
    assert main(["run", *SAMPLE_ARGS, "--output", str(out)]) == 0
    return out


@pytest.mark.parametrize(
    "engine,victim,delay",
    [
        # the delays count from the first worker's connection to its engine (a warm worker waits for
        # its job unconnected), when the job has begun
        ("prism", "engine", 0.5),
        ("prism", "worker", 0.5),
        ("flink", "engine", 0.5),
        # at once: Flink then waited for a worker's bundle for 45 minutes when the worker died within a
        # second of its start
        ("flink", "worker", 0.0),
        ("spark", "engine", 0.5),
        ("spark", "worker", 0.0),
    ],
)
def test_killing_the_engine_or_a_worker_mid_run_publishes_nothing_and_keeps_the_previous_output(
    tmp_path, engine, victim, delay, previous_run
):
    """The job service (Prism, or the JVM of Flink's or Spark's job server) or an SDK worker process is
    killed with SIGKILL while the job runs: the run fails within a minute, and the output folder still
    holds the previous run, whole."""
    out = tmp_path / "out"
    shutil.copytree(previous_run, out)
    before = tables(out)
    planted = tmp_path / "big.jsonl"
    words = (DATA.parent.parent / "README.md").read_text().split()
    rng = random.Random(1)
    planted.write_text(
        "".join(json.dumps({"id": str(i), "text": " ".join(rng.choices(words, k=400))}) + "\n" for i in range(3000))
    )
    args = ["run", "--input", str(planted), *ENGINES[engine], "--output", str(out), "--overwrite"]
    if engine == "prism":
        args.append(f"--experiments={PROCESS_WORKERS}")
    proc = _cli(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = threading.Event()

    def kill_when_running() -> None:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            working = [pid for pid in sdk_worker_pids(proc.pid) if _connected(pid)]
            if working:  # the job has started
                time.sleep(delay)
                os.kill(working[0] if victim == "worker" else job_service_pids(proc.pid)[0], signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_running)
    killer.start()
    try:
        _, err = proc.communicate(timeout=180)
    finally:
        proc.kill()
        killer.join()
    assert killed.is_set()
    assert proc.returncode == 1, err[-2000:]
    assert "Nothing was published" in err
    assert tables(out) == before and (out / "_SUCCESS").exists()
