"""Parquet rows and files without a pipeline: Hive folders, row groups of a bounded size, the row check."""

import pyarrow as pa
import pytest

from transforms.write.parquet import HIVE_NULL, check_row, hive_folder, row_groups

SCHEMA = pa.schema([("doc_key", pa.int64()), ("text", pa.string())])


def test_hive_folder_quotes_values_and_names_nulls_as_hive_does():
    row = {"lang": "en", "date": None, "site": "a b/c"}
    assert hive_folder(("lang", "date"), row) == f"lang=en/date={HIVE_NULL}"
    assert hive_folder(("site",), row) == "site=a%20b%2Fc"


def test_row_groups_keep_every_row_in_order_and_bound_their_size():
    rows = [{"doc_key": i, "text": "x" * 1000} for i in range(5000)]
    limit = 1 << 20
    batch = pa.RecordBatch.from_pylist(rows[:1024], schema=SCHEMA).nbytes  # rows are converted 1024 at a time
    groups = list(row_groups(rows, SCHEMA, limit=limit))
    assert len(groups) == 3
    assert all(g.nbytes < limit + batch for g in groups)  # a group ends with the batch that crosses the limit
    assert [r["doc_key"] for g in groups for r in g.to_pylist()] == list(range(5000))


def test_no_rows_make_no_row_group():
    assert list(row_groups([], SCHEMA, limit=1 << 20)) == []


def test_check_row_names_the_column_with_a_lone_surrogate():
    assert check_row({"doc_key": 1, "text": "fine"}) == {"doc_key": 1, "text": "fine"}
    with pytest.raises(ValueError, match="'title'"):
        check_row({"doc_key": 1, "text": "fine", "title": "bad \ud800"})
