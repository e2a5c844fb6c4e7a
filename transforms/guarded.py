"""`guarded`: the stage-boundary catch for a DoFn whose `process` sees one record's content.

Its outputs for an element are collected first, so a failing element emits nothing but its
rejected rows (`transforms.failures.internal_error`): no half of a record reaches an output.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable

import apache_beam as beam

from transforms.failures import INTERNAL_ERROR, internal_error
from transforms.metrics import get_counter_inc_fn
from transforms.records import REJECTED_TAG, Document

__all__ = ["guarded", "single"]

logger = logging.getLogger(__name__)
_inc = get_counter_inc_fn()


def single(element: Document) -> list[Document]:
    return [element]


def guarded(step: str, documents_of: Callable[[object], Iterable[Document]] = single) -> Callable:
    """Decorate `DoFn.process`: an exception becomes one `internal_error:<step>` row (tagged
    REJECTED_TAG) per document of the element, which `documents_of` finds."""

    def wrap(process: Callable) -> Callable:
        @functools.wraps(process)
        def guarded_process(self, element, *args, **kwargs) -> list[object]:
            try:
                return list(process(self, element, *args, **kwargs) or ())
            except Exception as err:  # noqa: BLE001 - one record's content must not stop the run
                rows = [internal_error(step, doc, err) for doc in documents_of(element) if isinstance(doc, Document)]
                if not rows:  # an element of no document of this run (an earlier run's index entry)
                    logger.warning("%s failed on an element without a document: %s: %s", step, type(err).__name__, err)
                _inc(f"filtered:{INTERNAL_ERROR}:{step}", len(rows))
                return [beam.pvalue.TaggedOutput(REJECTED_TAG, row) for row in rows]

        return guarded_process

    return wrap
