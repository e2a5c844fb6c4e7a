"""Counter injection: pure functions take `counter_inc_fn`, Beam code passes a Metrics counter.

Names follow `passed` / `filtered:<reason>` / `line-filtered:<reason>` so that runs and tests
read the same numbers. Every Beam-backed counter also feeds this process's `Progress`, which logs
the running counts at a steady interval: Beam's committed metrics arrive only when a job ends on
the local runner, and a person watching a two-hour job wants to see it move. When the job runs in
this process, `heartbeat()` keeps the lines coming while no counter moves.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["CounterIncFn", "NAMESPACE", "Progress", "get_counter_inc_fn", "heartbeat", "noop_counter", "progress_line"]

CounterIncFn = Callable[[str], None]

NAMESPACE = "corpusbeam"

# Logged at INFO to this logger; the CLI shows it. Cluster runners put it in the worker logs.
progress_logger = logging.getLogger("corpusbeam.progress")
_INTERVAL_ENV = "CORPUSBEAM_PROGRESS_SECONDS"
_DEFAULT_INTERVAL = 10.0


def noop_counter(name: str) -> None:
    """A counter for callers that do not count."""


def _handled(counts: dict[str, int]) -> int:
    """Records through cleaning and the quality rules so far, kept or rejected."""
    return sum(n for name, n in counts.items() if name == "passed" or name.startswith("filtered:"))


def progress_line(counts: dict[str, int], elapsed: float, previous: dict[str, int], interval: float) -> str:
    """One line of running counts: read, cleaned (and records/s over the `interval` since the
    `previous` counts), rejected by reason, candidate links, clusters, written."""
    rejected = {name.split(":", 1)[1]: n for name, n in counts.items() if name.startswith("filtered:")}
    reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0]))[:4])
    rate = (_handled(counts) - _handled(previous)) / interval if interval > 0 else 0.0
    parts = [
        f"read {counts.get('input-records', 0):,}",
        f"cleaned {counts.get('passed', 0):,} ({rate:,.0f} records/s)",
        f"rejected {sum(rejected.values()):,}" + (f" ({reasons})" if reasons else ""),
        f"candidate links {counts.get('dedup:candidate-links', 0):,}",
        f"near-duplicate clusters {counts.get('dedup:near-duplicate-clusters', 0):,}",
        f"documents written {counts.get('written:documents', 0):,}",
    ]
    return f"progress {elapsed:6.0f} s | " + " | ".join(parts)


class Progress:
    """Counts of this process, logged every `interval` seconds (0: never) while they change, or at
    every `tick()` an interval after the last line.

    One per worker process: on the in-memory runner that is the whole job; on a cluster each
    worker logs its own share.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Start again from zero: a new job in this process."""
        self._counts: dict[str, int] = {}
        self._started: float | None = None
        self._last = 0.0
        self._logged: dict[str, int] = {}

    def add(self, name: str, amount: int) -> None:
        self._counts[name] = self._counts.get(name, 0) + amount
        self.tick()

    def tick(self) -> None:
        """Log the counts if an interval has passed since the last line (or since the first call)."""
        if self.interval <= 0:
            return
        now = time.monotonic()
        if self._started is None:
            self._started = self._last = now
        if now - self._last >= self.interval:
            with self._lock:
                if now - self._last >= self.interval:
                    counts = dict(self._counts)
                    progress_logger.info(progress_line(counts, now - self._started, self._logged, now - self._last))
                    self._last, self._logged = now, counts


def _interval() -> float:
    try:
        return float(os.environ.get(_INTERVAL_ENV, _DEFAULT_INTERVAL))
    except ValueError:
        return _DEFAULT_INTERVAL


_progress = Progress(_interval())


@contextmanager
def heartbeat() -> Iterator[None]:
    """For a job whose bundles run in this process: count it from zero, and log a line every interval
    while the block runs even when no counter moves (a long shuffle or clustering round)."""
    _progress.reset()
    if _progress.interval <= 0:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        _progress.tick()  # starts the clock
        while not stop.wait(max(_progress.interval / 4, 0.05)):
            _progress.tick()

    thread = threading.Thread(target=beat, name="corpusbeam-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def get_counter_inc_fn(namespace: str = NAMESPACE) -> CounterIncFn:
    """A `counter_inc_fn` backed by Beam metrics and this process's progress log; imports Beam
    lazily so pure modules stay Beam-free. Usable at module level: a Beam counter resolves the
    running bundle when it is incremented."""
    from apache_beam.metrics import Metrics

    counters: dict[str, object] = {}

    def inc(name: str, amount: int = 1) -> None:
        counter = counters.get(name)
        if counter is None:
            counter = counters[name] = Metrics.counter(namespace, name)
        counter.inc(amount)  # type: ignore[attr-defined]
        _progress.add(name, amount)

    return inc
