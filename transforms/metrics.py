"""Counter injection: pure functions take `counter_inc_fn`, Beam code passes a Metrics counter.

Names follow `passed` / `filtered:<reason>` / `line-filtered:<reason>` so that runs and tests
read the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable

CounterIncFn = Callable[[str], None]

NAMESPACE = "corpusbeam"


def noop_counter(name: str) -> None:
    """A counter for callers that do not count."""


def get_counter_inc_fn(namespace: str = NAMESPACE) -> CounterIncFn:
    """A `counter_inc_fn` backed by Beam metrics; imports Beam lazily so pure modules stay Beam-free."""
    from apache_beam.metrics import Metrics

    counters: dict[str, object] = {}

    def inc(name: str, amount: int = 1) -> None:
        counter = counters.get(name)
        if counter is None:
            counter = counters[name] = Metrics.counter(namespace, name)
        counter.inc(amount)  # type: ignore[attr-defined]

    return inc
