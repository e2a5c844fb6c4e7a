"""The `corpusbeam` command stops the job services of its run before it exits: SIGINT, then a wait
that ends as soon as the service has exited (Beam's own exit handler sleeps a second before it
looks), and SIGKILL for one that does not stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from pipelines.cli import entry
from pipelines.worker_watch import stop_job_services

# A stand-in for a job service: found by its name (argv[0] "prism"), as the run finds Prism or a JVM.
_SLOW_EXIT = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGINT, lambda *_: (time.sleep({exit_seconds}), sys.exit(0)))\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)
_IGNORES_SIGINT = (
    "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)\n"
)


def _service(code: str) -> subprocess.Popen:
    process = subprocess.Popen(["prism", "-c", code], executable=sys.executable, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"  # its handler is set
    return process


@pytest.fixture
def services() -> list[subprocess.Popen]:
    # Engine tests that ran earlier in this process leave the job servers Beam keeps for reuse (its
    # children): stopped first, so that only the stand-ins below are timed (a Flink or Spark JVM left
    # from them once took more than 10 s to stop and failed the first test).
    stop_job_services(grace=60)
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_wait_ends_when_the_service_has_exited_and_leaves_it_to_its_popen(services):
    services.append(_service(_SLOW_EXIT.format(exit_seconds=0.4)))
    started = time.monotonic()
    stop_job_services(grace=10)
    waited = time.monotonic() - started
    assert 0.4 <= waited < 1.0, waited
    assert services[0].poll() == 0  # exited through its SIGINT handler, not killed; reaped by Popen


def test_a_service_that_does_not_stop_is_killed_after_the_grace(services):
    services.append(_service(_IGNORES_SIGINT))
    started = time.monotonic()
    stop_job_services(grace=0.5)
    assert 0.5 <= time.monotonic() - started < 2
    assert services[0].wait(timeout=5) == -signal.SIGKILL


def test_other_child_processes_are_left_alone(services):
    other = subprocess.Popen([sys.executable, "-c", _IGNORES_SIGINT.replace("SIG_IGN", "SIG_DFL")], stdout=subprocess.PIPE)
    services.append(other)
    assert other.stdout.readline().strip() == b"ready"
    stop_job_services(grace=0.5)
    assert other.poll() is None


def test_the_command_stops_them_when_it_ends(services, capsys):
    services.append(_service(_SLOW_EXIT.format(exit_seconds=0.1)))
    assert entry(["lsh", "--threshold", "0.8"]) == 0
    assert services[0].poll() == 0
