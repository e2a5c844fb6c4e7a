"""Parquet rows and files without a pipeline: Hive folders, files written row by row in row groups of
a bounded size, the row check."""

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from transforms.write.parquet import HIVE_NULL, ParquetRowWriter, check_row, hive_folder

SCHEMA = pa.schema([("doc_key", pa.int64()), ("text", pa.string())])


def test_hive_folder_quotes_values_and_names_nulls_as_hive_does():
    row = {"lang": "en", "date": None, "site": "a b/c"}
    assert hive_folder(("lang", "date"), row) == f"lang=en/date={HIVE_NULL}"
    assert hive_folder(("site",), row) == "site=a%20b%2Fc"


def _written(rows: list[dict], limit: int) -> pq.ParquetFile:
    buffer = io.BytesIO()
    writer = ParquetRowWriter(buffer, SCHEMA, "zstd", limit)
    for row in rows:
        writer.write(row)
    writer.close()
    return pq.ParquetFile(io.BytesIO(buffer.getvalue()))


def test_row_groups_keep_every_row_in_order_and_bound_their_size():
    rows = [{"doc_key": i, "text": "x" * 1000} for i in range(5000)]
    limit = 1 << 20
    batch = pa.RecordBatch.from_pylist(rows[:1024], schema=SCHEMA).nbytes  # rows are converted 1024 at a time
    written = _written(rows, limit)
    groups = [written.read_row_group(i) for i in range(written.num_row_groups)]
    assert [g.num_rows for g in groups] == [2048, 2048, 904]  # the batch that crosses the limit ends a group
    assert all(g.nbytes < limit + batch for g in groups)
    assert written.read().to_pylist() == rows


def test_a_file_without_rows_holds_the_schema():
    written = _written([], limit=1 << 20)
    assert written.num_row_groups == 0
    assert written.schema_arrow == SCHEMA


def test_check_row_names_the_column_with_a_lone_surrogate():
    assert check_row({"doc_key": 1, "text": "fine"}) == {"doc_key": 1, "text": "fine"}
    with pytest.raises(ValueError, match="'title'"):
        check_row({"doc_key": 1, "text": "fine", "title": "bad \ud800"})
