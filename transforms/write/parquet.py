"""Parquet rows and files: the Hive folder of a partitioned row, Arrow row groups of a bounded size,
and the check that a row can be encoded at all."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from urllib.parse import quote

import pyarrow as pa

from transforms.records import encodable

__all__ = ["HIVE_NULL", "hive_folder", "row_groups", "check_row"]

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"  # the folder of rows whose partition value is null


def hive_folder(columns: tuple[str, ...], row: dict) -> str:
    """`lang=en/date=2025-03-13`: the Hive-style folder of a row; a null value is Hive's default partition."""
    parts = []
    for column in columns:
        value = row[column]
        text = HIVE_NULL if value is None else quote(str(value), safe="-_.@")
        parts.append(f"{column}={text}")
    return "/".join(parts)


_BATCH_ROWS = 1024  # rows converted to Arrow at a time; a row group's size is checked per batch


def row_groups(rows: Iterable[dict], schema: pa.Schema, limit: int) -> Iterator[pa.Table]:
    """Rows as Arrow tables of about `limit` bytes each (the last one smaller)."""
    batches: list[pa.RecordBatch] = []
    size, iterator = 0, iter(rows)
    while chunk := list(itertools.islice(iterator, _BATCH_ROWS)):
        batches.append(pa.RecordBatch.from_pylist(chunk, schema=schema))
        size += batches[-1].nbytes
        if size >= limit:
            yield pa.Table.from_batches(batches)
            batches, size = [], 0
    if batches:
        yield pa.Table.from_batches(batches)


def check_row(row: dict[str, object]) -> dict[str, object]:
    """The row, or ValueError naming a string field UTF-8 cannot encode (a lone surrogate)."""
    for field, value in row.items():
        if isinstance(value, str) and not encodable(value):
            raise ValueError(f"column {field!r} is not valid Unicode: it holds a lone surrogate")
    return row
