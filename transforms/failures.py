"""The safety net under every per-record step: an exception one record's content raises becomes that
record's rejected row, `internal_error:<step>`, and the run goes on.

The steps are written to return a document or a named rejection for any input; an exception that
still gets through is a bug. It is never silent: the row keeps the exception type and message, the
run's summary counts these rows apart from the other rejections, and each one is logged.
"""

from __future__ import annotations

import logging

from transforms.records import REJECTED_TEXT_LIMIT, Document, Rejected, without_surrogates

__all__ = ["INTERNAL_ERROR", "internal_error", "is_internal_error"]

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "internal_error"
_DETAIL_CHARS = 1_000


def internal_error(step: str, where: Document | tuple[str, int], err: Exception, text: str | None = None) -> Rejected:
    """The rejected row of a record `step` failed on: `where` is the document, or (source, record)
    of a record not yet parsed, whose `text` (its raw start) is kept."""
    if isinstance(where, Document):
        source, record, doc_id, text = where.source, where.record, where.id, where.text
    else:
        (source, record), doc_id = where, None
    detail = without_surrogates(f"{type(err).__name__}: {err}"[:_DETAIL_CHARS])  # it is logged too
    logger.warning("%s#%s: %s failed (%s); the record is rejected as %s:%s", source, record, step, detail, INTERNAL_ERROR, step)
    kept = None if text is None else text[:REJECTED_TEXT_LIMIT]  # rejected_row makes it encodable
    return Rejected(source, record, f"{INTERNAL_ERROR}:{step}", kept, id=doc_id, detail=detail)


def is_internal_error(reason: str) -> bool:
    return reason.startswith(f"{INTERNAL_ERROR}:")
