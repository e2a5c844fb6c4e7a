"""A worker process killed in the middle of a run ends the run with a clear failure, and nothing is
published: never a "successful" run with missing rows, and never a run that waits forever."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from pipelines.worker_watch import WorkerLost, failing_on_lost_workers, sdk_worker_pids
from tests.conftest import ROOT


def _fail_in_thread(name: str) -> None:
    def target() -> None:
        raise RuntimeError("Worker subprocess exited with return code 137")

    threading.Thread(name=name, target=target).start()


def test_a_failed_worker_thread_wakes_the_waiting_main_thread():
    never = threading.Event()
    with pytest.raises(WorkerLost, match="killed by SIGKILL"):
        with failing_on_lost_workers():
            _fail_in_thread("run_worker")
            never.wait(timeout=30)  # Beam's main thread waits like this for a lost worker's data


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_other_threads_and_failures_after_the_run_are_left_alone():
    with failing_on_lost_workers():
        _fail_in_thread("some_other_thread")
        time.sleep(0.3)
    _fail_in_thread("run_worker")  # the watch is over: nothing is raised here
    time.sleep(0.3)


def test_workers_stopped_at_the_end_of_a_job_are_not_lost_workers(monkeypatch):
    """stop_workers kills the cached workers when a job ends; the watch saw one's zombie before it
    was reaped and failed a finished 100k-document Flink run. The gap is widened here to 1.5 s."""
    import pipelines.worker_watch as watch

    real_reap = watch._reap
    monkeypatch.setattr(watch, "_reap", lambda pid: (time.sleep(1.5), real_reap(pid)))
    code = "from apache_beam.runners.worker.sdk_worker import SdkHarness; import time; time.sleep(60)"
    worker = subprocess.Popen([sys.executable, "-c", code])
    try:
        with failing_on_lost_workers(poll_children=True):
            deadline = time.monotonic() + 30
            while worker.pid not in sdk_worker_pids(os.getpid()) and time.monotonic() < deadline:
                time.sleep(0.1)
            watch.stop_workers()
            time.sleep(1.0)  # two more polls of the watch
    finally:
        worker.kill()
    assert worker.pid not in sdk_worker_pids(os.getpid())  # killed and reaped by stop_workers


def test_a_worker_stopped_while_the_watch_looks_is_not_a_lost_worker(monkeypatch):
    """stop_workers marks and kills a worker between the watch's look at the marks and its read of
    the processes: the zombie it then reads is one stopped on purpose (a finished run failed, 137)."""
    import pipelines.worker_watch as watch

    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    real_table = watch._process_table

    def stopped_meanwhile():
        watch._stopped.add(worker.pid)  # as stop_workers does, then the kill
        worker.kill()
        os.waitid(os.P_PID, worker.pid, os.WEXITED | os.WNOWAIT)  # a zombie, not yet reaped
        return real_table()

    monkeypatch.setattr(watch, "_process_table", stopped_meanwhile)
    try:
        assert worker.pid not in watch._dead_python_children()
    finally:
        worker.kill()
        worker.wait()
        watch._stopped.discard(worker.pid)


# A worker killed just after it started left Beam 2.77 waiting forever; one killed later failed the run.
@pytest.mark.parametrize("seconds_before_kill", [0.0, 3.0])
def test_killing_a_worker_process_fails_the_run_and_publishes_nothing(tmp_path, seconds_before_kill):
    shard = tmp_path / "in.jsonl"
    words = [f"w{i}" for i in range(4000)]
    with shard.open("w") as handle:
        for i in range(6000):
            text = " ".join(words[(i * 7 + j * 13) % 4000] for j in range(300)) + "."
            handle.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pipelines.cli", "run", "--input", str(shard), "--output", str(out)]
    command += ["--direct_running_mode=multi_processing", "--direct_num_workers=2", "--allow_local_workers"]
    command += ["--set", "quality.enabled=false"]
    run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while not workers and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.2)
            workers = sdk_worker_pids(run.pid)
        assert workers, "no SDK worker process appeared"
        time.sleep(seconds_before_kill)
        os.kill(workers[0], signal.SIGKILL)
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 1
    assert "the run failed" in err and "Nothing was published" in err
    assert "killed by SIGKILL" in err
    assert not (out / "_SUCCESS").exists() and not (out / "stats.json").exists()
    assert not list(out.glob("documents/*.parquet"))
