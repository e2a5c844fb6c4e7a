"""Fail a local run at once when one of its SDK worker processes dies.

Beam's FnApiRunner starts each worker process (`--direct_running_mode=multi_processing`) from a
thread named `run_worker`, which raises when the process exits with an error; nothing looks at that
error until the job ends. A worker killed soon after it started left the runner waiting for its
bundle's data forever (Beam 2.77, seen in tests/test_worker_failure.py). The watch turns that thread's
error into an exception in the main thread, and stops the other worker processes, which Beam's
failure path waits for.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

_WORKER_THREAD = "run_worker"
_SIGNAL = getattr(signal, "SIGUSR1", None)  # POSIX only: elsewhere the run goes unwatched


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


def _process_table() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line) of every process, from /proc (empty where there is none)."""
    table = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        table[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
    return table


def sdk_worker_pids(root: int) -> list[int]:
    """Pids of the SDK worker processes under `root` (Beam starts each through `sh -c`)."""
    table = _process_table()
    descendants, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, (ppid, _) in table.items() if ppid in frontier} - descendants
        descendants |= frontier
    return sorted(pid for pid in descendants if b"sdk_worker_main" in table[pid][1] and not table[pid][1].startswith(b"/bin/sh"))


def _stop_workers() -> None:
    """Kill this process's SDK workers: after a worker is lost Beam closes the others' control streams,
    but they did not exit, and Beam waits for every worker process before it raises. Found through
    /proc (Linux); elsewhere Beam's own shutdown is all there is."""
    for pid in sdk_worker_pids(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue


@contextmanager
def failing_on_lost_workers() -> Iterator[None]:
    """Raise WorkerLost in the calling (main) thread when a `run_worker` thread fails inside the block.

    A signal is the one way to wake the main thread from the lock wait Beam leaves it in. Outside the
    main thread (where no signal handler can be set), or without POSIX signals, the block runs unwatched.
    """
    if _SIGNAL is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    lock = threading.Lock()
    state: dict = {"armed": True, "error": None}
    previous_hook = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.thread is None or args.thread.name != _WORKER_THREAD:
            previous_hook(args)
            return
        logger.error("an SDK worker process failed: %s", args.exc_value)
        with lock:
            if state["armed"] and state["error"] is None:
                state["error"] = str(args.exc_value)
                signal.pthread_kill(threading.main_thread().ident, _SIGNAL)
                _stop_workers()

    def on_signal(signum: int, frame: object) -> None:
        if state["armed"] and state["error"] is not None:
            state["armed"] = False
            raise WorkerLost(_explain(state["error"]))

    previous_handler = signal.signal(_SIGNAL, on_signal)
    threading.excepthook = hook
    try:
        yield
    finally:
        with lock:
            state["armed"] = False
            signalled = state["error"] is not None
        threading.excepthook = previous_hook
        if not signalled:  # a signal sent but not yet handled must still find the (now inert) handler
            signal.signal(_SIGNAL, previous_handler)
