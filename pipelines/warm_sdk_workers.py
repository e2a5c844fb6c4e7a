"""SDK worker processes started with a local engine's run, before the engine asks for them.

With LOOPBACK process workers (Flink's and Spark's embedded engines), the engine asks the driver's
worker pool for a worker when its first task needs one, and Beam's pool then starts `python -c
"...SdkHarness(...).run()"`, which spends 0.6-0.9 s importing Beam before it can answer while the task
waits: a Spark run's first stage took 0.9 s instead of 0.3 s, and the second worker's half of the
first stage began 0.6 s after the first's. `warm_sdk_workers` starts the workers with the run
instead: each imports Beam's harness and this package's transforms while the job server starts, then
waits on its stdin for the request that Beam's pool would have turned into that command line. A
request finds a waiting worker, or Beam starts one as before.

Run as `python -m pipelines.warm_sdk_workers`, a process is one waiting worker.
"""

from __future__ import annotations

import importlib
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from apache_beam.portability.api import beam_fn_api_pb2
from apache_beam.runners.worker.sdk_worker import SdkHarness
from apache_beam.runners.worker.worker_pool_main import BeamFnExternalWorkerPoolServicer

from pipelines.worker_watch import waiting_worker

__all__ = ["warm_sdk_workers"]

logger = logging.getLogger(__name__)

# The modules of the graph's DoFns, which a worker imports when it unpickles them.
_PRELOADED = (
    "transforms.read.transform",
    "transforms.clean.transform",
    "transforms.dedup.transform",
    "transforms.write.transform",
)
_STOP_WAIT_S = 5.0


def _spawn() -> subprocess.Popen:
    """A waiting worker, with this process's environment (as Beam's pool starts them). Until it has a
    job, the lost-worker watch leaves it alone: if it dies, a request goes to another worker."""
    process = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    waiting_worker(process.pid)
    return process


def _request_line(pool: BeamFnExternalWorkerPoolServicer, request: beam_fn_api_pb2.StartWorkerRequest) -> bytes:
    """What Beam's pool puts in a worker's command line (Beam 2.77's `StartWorker`), as one JSON line."""
    fields = {
        "control": request.control_endpoint.url,
        "worker_id": request.worker_id,
        "state_cache_size": pool._state_cache_size,
        "data_buffer_time_limit_ms": pool._data_buffer_time_limit_ms,
    }
    return json.dumps(fields).encode() + b"\n"


def _hand_over(process: subprocess.Popen, line: bytes) -> bool:
    """Give a waiting worker its request; False when it is gone (it is then reaped and forgotten)."""
    if process.poll() is None:
        waiting_worker(process.pid, waiting=False)  # from now on, its death is a lost worker
        try:
            process.stdin.write(line)
            process.stdin.close()
            return True
        except OSError:  # it died meanwhile, before it had the job
            waiting_worker(process.pid)
    _forget(process)
    return False


def _dismiss(process: subprocess.Popen) -> None:
    """End a worker no request came for: end of its stdin, then SIGKILL if it does not exit."""
    try:
        process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(timeout=_STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
    _forget(process)


def _forget(process: subprocess.Popen) -> None:
    """Reap a warm worker that is done with, then drop its mark for the watch: its pid may come back
    as another process's, whose death must count."""
    process.wait()
    waiting_worker(process.pid, waiting=False)


@contextmanager
def warm_sdk_workers(count: int) -> Iterator[None]:
    """Within the block, the first `count` requests of any process worker pool of this process
    (Beam's `BeamFnExternalWorkerPoolServicer`, the pool that LOOPBACK starts) get a worker started
    when the block began. The pool keeps each like one it started itself, so stopping it works as
    before; a worker no request came for ends with the block."""
    waiting = [_spawn() for _ in range(count)]
    lock = threading.Lock()
    beams_start = BeamFnExternalWorkerPoolServicer.StartWorker

    def start_worker(pool, request, context):
        if pool._use_process and not pool._container_executable:
            line = _request_line(pool, request)
            while True:
                with lock:
                    process = waiting.pop(0) if waiting else None
                if process is None:
                    break
                if _hand_over(process, line):
                    pool._worker_processes[request.worker_id] = process
                    logger.debug("worker %s: a warm worker (pid %d)", request.worker_id, process.pid)
                    return beam_fn_api_pb2.StartWorkerResponse()
        return beams_start(pool, request, context)

    BeamFnExternalWorkerPoolServicer.StartWorker = start_worker
    try:
        yield
    finally:
        BeamFnExternalWorkerPoolServicer.StartWorker = beams_start
        with lock:
            unused, waiting[:] = list(waiting), []
        for process in unused:
            _dismiss(process)


def main() -> None:
    """A waiting worker: import, then run the harness for the request on stdin (none: exit)."""
    for module in _PRELOADED:
        try:
            importlib.import_module(module)
        except ImportError:  # only a head start: the harness imports what it needs itself
            pass
    line = sys.stdin.readline()
    if not line:
        return
    request = json.loads(line)
    SdkHarness(
        request["control"],
        worker_id=request["worker_id"],
        state_cache_size=request["state_cache_size"],
        data_buffer_time_limit_ms=request["data_buffer_time_limit_ms"],
    ).run()


if __name__ == "__main__":
    main()
