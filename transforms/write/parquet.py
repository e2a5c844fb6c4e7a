"""Parquet rows and files: the Hive folder of a partitioned row, a file written row by row in row
groups of a bounded size, and the check that a row can be encoded at all."""

from __future__ import annotations

from typing import BinaryIO
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.records import encodable

__all__ = ["HIVE_NULL", "hive_folder", "ParquetRowWriter", "check_row"]

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


class ParquetRowWriter:
    """Rows written one at a time into one Parquet file: converted to Arrow 1,024 at a time and
    written as row groups of about `limit` bytes of Arrow data (a group ends with the batch that
    crosses it), so a file's rows are never all in memory."""

    def __init__(self, handle: BinaryIO, schema: pa.Schema, codec: str, limit: int) -> None:
        self._writer = pq.ParquetWriter(handle, schema, compression=codec)
        self._schema = schema
        self._limit = limit
        self._rows: list[dict] = []
        self._batches: list[pa.RecordBatch] = []
        self._size = 0

    def write(self, row: dict) -> None:
        self._rows.append(row)
        if len(self._rows) == _BATCH_ROWS:
            self._convert()

    def close(self) -> None:
        """Write what is buffered and the file's footer (a file without rows holds the schema)."""
        self._convert()
        self._write_group()
        self._writer.close()

    def _convert(self) -> None:
        if not self._rows:
            return
        batch = pa.RecordBatch.from_pylist(self._rows, schema=self._schema)
        self._rows = []
        self._batches.append(batch)
        self._size += batch.nbytes
        if self._size >= self._limit:
            self._write_group()

    def _write_group(self) -> None:
        if self._batches:
            group = pa.Table.from_batches(self._batches)
            self._writer.write_table(group, row_group_size=group.num_rows)
            self._batches, self._size = [], 0


def check_row(row: dict[str, object]) -> dict[str, object]:
    """The row, or ValueError naming a string field UTF-8 cannot encode (a lone surrogate)."""
    for field, value in row.items():
        if isinstance(value, str) and not encodable(value):
            raise ValueError(f"column {field!r} is not valid Unicode: it holds a lone surrogate")
    return row
