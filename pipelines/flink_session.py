"""A Flink session cluster on this machine: one JobManager and N TaskManager processes on loopback.

    python -m pipelines.flink_session [--taskmanagers 2] [--slots 1]

prints the `corpusbeam run` flags that submit to it and runs until interrupted. The cluster is made of
Flink's own jars (flink-runtime, flink-clients, ... 1.19.0, as `make runners` resolved them from Maven
for the Flink job server), without Beam's: the job server ships the runner to the cluster with each job,
as it would to a remote one. Flink's start scripts are not used (Flink's distribution is not a Maven
artifact); what they do is done here: Flink's own BashJavaUtils turns the configuration into the JVM
and memory flags of each process. The job's documents then cross process boundaries through Flink's
network shuffle, between TaskManager JVMs, with each TaskManager starting its own SDK workers
(`pipelines.sdk_worker_boot`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines import engines

__all__ = ["bytes_received_by_taskmanager", "rest", "session_cluster", "submit_flags"]

logger = logging.getLogger(__name__)

_JOBMANAGER = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint"
_TASKMANAGER = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner"
_RESOURCES = "org.apache.flink.runtime.util.bash.BashJavaUtils"
_RESULT = "BASH_JAVA_UTILS_EXEC_RESULT:"
# What Flink 1.19's default configuration (env.java.opts.all) opens of the JDK on Java 17.
_JAVA_OPENS = [
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    *(
        f"--add-opens=java.base/{package}=ALL-UNNAMED"
        for package in (
            "java.lang",
            "java.net",
            "java.io",
            "java.nio",
            "sun.nio.ch",
            "java.lang.reflect",
            "java.text",
            "java.time",
            "java.util",
            "java.util.concurrent",
            "java.util.concurrent.atomic",
            "java.util.concurrent.locks",
        )
    ),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _configuration(slots: int, rpc_port: int, rest_port: int) -> str:
    """flink-conf.yaml: everything on loopback; each TaskManager with enough network buffers for the
    many exchanges Beam's batch translation opens at once (Flink's 64 MB default fails the job with
    'Insufficient number of network buffers')."""
    settings = {
        "jobmanager.rpc.address": "localhost",
        "jobmanager.rpc.port": rpc_port,
        "jobmanager.bind-host": "localhost",
        "rest.address": "localhost",
        "rest.bind-address": "localhost",
        "rest.port": rest_port,
        "taskmanager.host": "localhost",
        "taskmanager.bind-host": "localhost",
        "taskmanager.numberOfTaskSlots": slots,
        "jobmanager.memory.process.size": "1024m",
        "taskmanager.memory.process.size": "2048m",
        "taskmanager.memory.network.min": "320m",
        "taskmanager.memory.network.max": "320m",
        "taskmanager.memory.segment-size": "16kb",
    }
    return "".join(f"{key}: {value}\n" for key, value in settings.items())


def _classpath() -> str:
    """Flink's jars and their dependencies from the installed Flink job server, without Beam's."""
    lib = engines.installed("flink").parent / "lib"
    return os.pathsep.join(str(jar) for jar in sorted(lib.glob("*.jar")) if not jar.name.startswith("beam-"))


def _process_flags(kind: str, classpath: str, conf: Path) -> tuple[list[str], list[str]]:
    """(JVM flags, dynamic properties) for a JobManager ('JM') or TaskManager ('TM'), as Flink's
    scripts get them from BashJavaUtils."""
    done = subprocess.run(
        ["java", "-cp", classpath, _RESOURCES, f"GET_{kind}_RESOURCE_PARAMS", "--configDir", str(conf)],
        capture_output=True,
        text=True,
        check=True,
    )
    results = [line[len(_RESULT) :] for line in done.stdout.splitlines() if line.startswith(_RESULT)]
    jvm, dynamic = results[-2:]
    return jvm.split(), dynamic.split()


def rest(master: str, path: str) -> dict:
    """One GET of Flink's REST API at `master` (host:port)."""
    with urllib.request.urlopen(f"http://{master}/{path.lstrip('/')}", timeout=5) as response:
        return json.load(response)


def bytes_received_by_taskmanager(master: str) -> dict[str, int]:
    """For the last job on the cluster: the bytes each TaskManager's tasks read from their inputs, the
    records shuffled to them by Flink's network stack, summed over the job's vertices."""
    job = max(rest(master, "jobs/overview")["jobs"], key=lambda entry: entry["start-time"])
    received: dict[str, int] = {}
    for vertex in rest(master, f"jobs/{job['jid']}")["vertices"]:
        for manager in rest(master, f"jobs/{job['jid']}/vertices/{vertex['id']}/taskmanagers")["taskmanagers"]:
            key = manager.get("taskmanager-id") or manager["host"]
            received[key] = received.get(key, 0) + manager["metrics"]["read-bytes"]
    return received


def _worker_command(folder: Path) -> Path:
    """The PROCESS environment's command: this interpreter running pipelines.sdk_worker_boot, its
    output in the cluster's folder."""
    script = folder / "sdk_worker"
    log = folder / "sdk_workers.log"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pipelines.sdk_worker_boot "$@" >>"{log}" 2>&1\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def submit_flags(master: str, worker_command: Path, parallelism: int) -> list[str]:
    """The `corpusbeam run` flags that run a job on the session cluster at `master`."""
    return [
        "--runner=FlinkRunner",
        f"--flink_master={master}",
        f"--parallelism={parallelism}",
        "--environment_type=PROCESS",
        f"--environment_config={json.dumps({'command': str(worker_command)})}",
        "--sdk_worker_parallelism=1",
    ]


@contextmanager
def session_cluster(taskmanagers: int = 2, slots: int = 1, startup_timeout: float = 180) -> Iterator[list[str]]:
    """Start the cluster; yields the `corpusbeam run` flags that submit to it; stops every process.
    The cluster's folder (configuration, logs) is removed, or kept and named when the block failed."""
    folder = Path(tempfile.mkdtemp(prefix="corpusbeam-flink-session-"))
    conf = folder / "conf"
    conf.mkdir()
    rpc_port, rest_port = _free_port(), _free_port()
    (conf / "flink-conf.yaml").write_text(_configuration(slots, rpc_port, rest_port))
    classpath = _classpath()
    processes: list[subprocess.Popen] = []

    def start(kind: str, main_class: str, name: str) -> None:
        jvm, dynamic = _process_flags(kind, classpath, conf)
        command = ["java", *_JAVA_OPENS, *jvm, "-cp", classpath, main_class, "--configDir", str(conf), *dynamic]
        with (folder / f"{name}.log").open("w") as log:
            processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder))

    failed = True
    try:
        start("JM", _JOBMANAGER, "jobmanager")
        for n in range(taskmanagers):
            start("TM", _TASKMANAGER, f"taskmanager-{n + 1}")
        deadline = time.monotonic() + startup_timeout
        while True:
            if any(process.poll() is not None for process in processes):
                raise RuntimeError(f"a Flink process exited while the cluster started: see the logs in {folder}")
            try:
                if rest(f"localhost:{rest_port}", "overview")["taskmanagers"] == taskmanagers:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Flink cluster did not come up in {startup_timeout:.0f} s: see the logs in {folder}")
            time.sleep(0.5)
        logger.info("Flink session cluster at localhost:%d (logs in %s)", rest_port, folder)
        yield submit_flags(f"localhost:{rest_port}", _worker_command(folder), taskmanagers * slots)
        failed = False
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if failed:
            logger.warning("the Flink session cluster's logs are in %s", folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--taskmanagers", type=int, default=2)
    parser.add_argument("--slots", type=int, default=1, help="task slots per TaskManager")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with session_cluster(args.taskmanagers, args.slots) as flags:
        print("Flink session cluster up. Submit with:\n  corpusbeam run ... " + " ".join(f"'{flag}'" for flag in flags))
        print("Ctrl-C stops it.", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
