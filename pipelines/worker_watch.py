"""Fail a local run at once when one of its SDK worker processes dies.

Beam's FnApiRunner starts each worker process (`--direct_running_mode=multi_processing`) from a
thread named `run_worker`, which raises when the process exits with an error; nothing looks at that
error until the job ends. A worker killed soon after it started left the runner waiting for its
bundle's data forever (Beam 2.77, seen in tests/runners/test_worker_failure.py). The watch turns that thread's
error into an exception in the main thread, and stops the other worker processes, which Beam's
failure path waits for. Flink's job server did the same with a LOOPBACK worker process of the driver
killed within a second of its start (waited more than 45 minutes): the watch also polls those
processes, which stay zombies of the driver when they die, and fails the run when one dies.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

logger = logging.getLogger(__name__)

_WORKER_THREAD = "run_worker"
_SIGNAL = getattr(signal, "SIGUSR1", None)  # POSIX only: elsewhere the run goes unwatched
_stopped: set[int] = set()  # SDK workers stop_workers killed on purpose (pids are not reused soon)
_waiting: set[int] = set()  # warm workers no engine asked for yet (pipelines.warm_sdk_workers)


class WorkerLost(RuntimeError):
    """An SDK worker process of the local runner exited with an error during the run."""


def _explain(error: str) -> str:
    """Beam's 'exited with return code 137' in words: `sh -c` reports a signal N as 128 + N."""
    message = f"a worker process of the local runner died ({error})"
    code = re.search(r"return code (\d+)", error)
    if code and int(code.group(1)) > 128:
        number = int(code.group(1)) - 128
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        message += f": it was killed by {name}"
        if number == signal.SIGKILL:
            message += " (the kernel's out-of-memory killer sends it: check `dmesg`, or run with fewer workers)"
    return message


class _Process(NamedTuple):
    parent: int
    state: str  # "Z": exited, not yet waited for by its parent
    name: str  # kept by a zombie, which has no command line left
    status: int  # a zombie's wait status (/proc/PID/stat field 52, Linux 3.5+)
    argv: list[str]


def _process_table() -> dict[int, _Process]:
    """Every process, from /proc (empty where there is none)."""
    table = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        status = int(fields[49]) if len(fields) > 49 else 0
        argv = cmdline.decode(errors="replace").split("\0")[:-1]
        table[int(entry.name)] = _Process(int(fields[1]), fields[0], name, status, argv)
    return table


def descendants(root: int) -> dict[int, list[str]]:
    """pid -> command line (argv) of every process under `root`, from /proc (empty where there is none)."""
    table = _process_table()
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, process in table.items() if process.parent in frontier} - found
        found |= frontier
    return {pid: table[pid].argv for pid in sorted(found)}


def sdk_worker_pids(root: int) -> list[int]:
    """Pids of the SDK worker processes under `root` (Beam starts each through `sh -c`, or as `python -c`;
    a warm one runs `-m pipelines.warm_sdk_workers`, which the same test finds)."""
    return [
        pid
        for pid, argv in descendants(root).items()
        if argv[:1] != ["/bin/sh"] and any("sdk_worker" in arg or "SdkHarness(" in arg for arg in argv)
    ]


def job_service_pids(root: int) -> list[int]:
    """Pids of the job services under `root`: Prism's binary, or the JVM of a Flink or Spark job server."""
    return [pid for pid, argv in descendants(root).items() if argv[:1] and Path(argv[0]).name in ("prism", "java")]


def waiting_worker(pid: int, waiting: bool = True) -> None:
    """Mark a child started ahead of the engine's request (`pipelines.warm_sdk_workers`) as having no
    job yet, or, with `waiting=False`, as having one. Until it has, its exit loses no data: the
    engine's request goes to another worker, so the watch does not fail the run for it."""
    if waiting:
        _waiting.add(pid)
    else:
        _waiting.discard(pid)


def stop_workers() -> None:
    """Kill this process's SDK workers. After a worker is lost Beam closes the others' control streams,
    but they did not exit, and Beam waits for every worker process before it raises; the workers a
    job server keeps for reuse outlive the job, and print tracebacks when its JVM goes. Found through
    /proc (Linux); elsewhere Beam's own shutdown is all there is. Those that are this process's
    children are reaped: a killed worker left a zombie would fail the next run of this process.

    The watch is told first: between the kill and the reap it saw the zombie of a worker stopped
    this way as a lost one, and failed a finished 100k-document Flink run (exit 137).
    """
    for pid in sdk_worker_pids(os.getpid()):
        _stopped.add(pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue
        _reap(pid)


def stop_job_services(grace: float = 5.0) -> None:
    """Stop this process's job services (Prism, or a Flink or Spark job server's JVM) before it exits.
    Beam stops them in its exit handler with SIGINT and a one-second sleep before it looks again, so
    every local engine run waited a second or more for a service that had exited in a fraction of it
    (a Spark job server takes about 0.4 s, Prism 0.06 s). Same signal, looked at every 10 ms, SIGKILL
    after `grace` seconds. An exited service is left for Beam's Popen to reap: its exit handler then
    finds it gone at once. Only for a process about to exit: Beam hands the same Spark or Prism job
    server to the next run of the process.
    """
    pids = job_service_pids(os.getpid())
    for pid in pids:
        try:
            os.kill(pid, signal.SIGINT)
        except OSError:
            continue
    deadline = time.monotonic() + grace
    while pids := [pid for pid in pids if _running(pid)]:
        if time.monotonic() > deadline:
            for pid in pids:
                logger.warning("job service %d did not stop within %.0f s of SIGINT: killed", pid, grace)
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    continue  # it exited meanwhile
            return
        time.sleep(0.01)


def _running(pid: int) -> bool:
    """Whether `pid` has not exited. A child of this process is asked without reaping it (its Popen
    reaps it); /proc's state would say zombie as soon as the JVM's first thread exits, while its
    other threads still run the shutdown. Another process's: whether /proc shows it alive."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
    except ChildProcessError:
        process = _process_table().get(pid)
        return process is not None and process.state != "Z"


def _reap(pid: int) -> None:
    """Wait for `pid` if it is a child of this process (Beam's worker pool never waits for a worker it
    did not stop; Popen.wait copes with a child reaped here)."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _dead_python_children() -> dict[int, int]:
    """pid -> wait status of each child of this process that runs Python and has exited but is not yet
    reaped (a zombie): /proc keeps the status until the parent waits. Workers `stop_workers` killed
    and warm workers that had no job yet are not among them.

    The processes are read before the marks: `stop_workers` marks a worker before it kills it, so a
    zombie this read sees was marked before the marks are taken. Taken the other way round, a worker
    killed between the two was a lost one, and a finished run failed (exit 137).
    """
    table = _process_table()
    me, passed_over = os.getpid(), _stopped | _waiting
    return {
        pid: process.status
        for pid, process in table.items()
        if process.parent == me and process.state == "Z" and process.name.startswith("python") and pid not in passed_over
    }


def _lost(status: int) -> str | None:
    """Beam's words ('exited with return code N', as `sh -c` reports it) for an exit that is a failure:
    killed by any signal but the SIGTERM a graceful stop sends, or a non-zero exit code."""
    number, code = status & 0x7F, (status >> 8) & 0xFF
    if number and number != signal.SIGTERM:
        return f"exited with return code {128 + number}"
    if not number and code:
        return f"exited with return code {code}"
    return None


def _watch_children(report: Callable[[str], None], stop: threading.Event, every: float = 0.5) -> None:
    """Report the first Python child of this process (an SDK worker: the driver starts no other Python
    process during a job) that dies with a failure. A job server's engine (Flink) can wait forever for
    the bundle of a worker killed early in its life; the driver's worker pool only waits for a worker
    it stops, so a dead one stays a zombie here."""
    while not stop.wait(every):
        for pid, status in sorted(_dead_python_children().items()):
            error = _lost(status)
            if error:
                _reap(pid)
                report(f"SDK worker process {pid} {error}")
                return


@contextmanager
def failing_on_lost_workers(poll_children: bool = False) -> Iterator[None]:
    """Raise WorkerLost in the calling (main) thread when a `run_worker` thread fails inside the block,
    or, with `poll_children`, when an SDK worker process started by this process dies with a failure.

    A signal is the one way to wake the main thread from the lock wait Beam leaves it in. Outside the
    main thread (where no signal handler can be set), or without POSIX signals, the block runs unwatched.
    """
    if _SIGNAL is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    lock = threading.Lock()
    state: dict = {"armed": True, "error": None}
    previous_hook = threading.excepthook

    def report(error: str) -> None:
        logger.error("an SDK worker process failed: %s", error)
        with lock:
            if state["armed"] and state["error"] is None:
                state["error"] = error
                signal.pthread_kill(threading.main_thread().ident, _SIGNAL)
                stop_workers()

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.thread is None or args.thread.name != _WORKER_THREAD:
            previous_hook(args)
            return
        report(str(args.exc_value))

    def on_signal(signum: int, frame: object) -> None:
        if state["armed"] and state["error"] is not None:
            state["armed"] = False
            raise WorkerLost(_explain(state["error"]))

    previous_handler = signal.signal(_SIGNAL, on_signal)
    threading.excepthook = hook
    stop = threading.Event()
    if poll_children:
        threading.Thread(target=_watch_children, args=(report, stop), name="worker-watch", daemon=True).start()
    try:
        yield
    finally:
        stop.set()
        with lock:
            state["armed"] = False
            signalled = state["error"] is not None
        threading.excepthook = previous_hook
        if not signalled:  # a signal sent but not yet handled must still find the (now inert) handler
            signal.signal(_SIGNAL, previous_handler)
