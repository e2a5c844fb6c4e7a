"""The last per-record step: a finished document whose Parquet row cannot be built or encoded is
rejected (`internal_error:row`) instead of failing the write of its whole partition file."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam

from transforms.guarded import guarded
from transforms.io import REJECTED_TAG
from transforms.records import Document, document_row, encodable

__all__ = ["CheckDocumentRows", "check_row"]


def check_row(row: dict[str, object]) -> dict[str, object]:
    """The row, or ValueError naming a string field UTF-8 cannot encode (a lone surrogate)."""
    for field, value in row.items():
        if isinstance(value, str) and not encodable(value):
            raise ValueError(f"column {field!r} is not valid Unicode: it holds a lone surrogate")
    return row


class _CheckRowFn(beam.DoFn):
    @guarded("row")
    def process(self, doc: Document) -> Iterator[Document]:
        check_row(document_row(doc))
        yield doc


class CheckDocumentRows(beam.PTransform):
    """Finished Documents -> those whose row builds (main) and `rejected` rows for the others."""

    def expand(self, documents: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return documents | "CheckRow" >> beam.ParDo(_CheckRowFn()).with_outputs(REJECTED_TAG, main="documents")
