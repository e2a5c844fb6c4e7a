"""Tier 2: the Parquet table writer with TestPipeline, read back with pyarrow."""

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from transforms.config import OutputConfig
from transforms.write.transform import ParquetTable, WriteParquetRows, WriteParquetTables, _PublishFilesFn, _write_file

SCHEMA = pa.schema([("doc_key", pa.int64()), ("text", pa.string())])
ROWS = [{"doc_key": i, "text": f"row {i}"} for i in range(3000)]


def _table(folder):
    files = sorted(p.name for p in folder.iterdir())
    return files, pq.read_table(folder, schema=SCHEMA).to_pylist()


def _write(test_pipeline, rows, folder, **config):
    # The in-memory runner writes these rows as one bundle: several bundle files to publish are the
    # retried-publish test's below.
    with test_pipeline as p:
        p | beam.Create(rows) | WriteParquetRows(str(folder), SCHEMA, OutputConfig(**config))


def test_bundle_files_are_published_under_their_final_names_with_every_row_once(test_pipeline, tmp_path):
    _write(test_pipeline, ROWS, tmp_path / "t")
    files, rows = _table(tmp_path / "t")
    assert files and files == [f"part-{i:05d}-of-{len(files):05d}.parquet" for i in range(len(files))]
    assert sorted(rows, key=lambda r: r["doc_key"]) == ROWS  # and no temporary folder is left


def test_an_empty_table_is_one_file_of_its_schema(test_pipeline, tmp_path):
    _write(test_pipeline, [], tmp_path / "t")
    assert _table(tmp_path / "t") == (["part-00000-of-00001.parquet"], [])


@pytest.mark.parametrize("rows", [ROWS, ROWS[:2]])
def test_num_shards_gives_that_many_files(test_pipeline, tmp_path, rows):
    _write(test_pipeline, rows, tmp_path / "t", num_shards=4)
    files, written = _table(tmp_path / "t")
    assert files == [f"part-{i:05d}-of-00004.parquet" for i in range(4)]
    assert sorted(written, key=lambda r: r["doc_key"]) == rows


def test_a_retried_publish_finds_its_files_in_place(tmp_path):
    temp = tmp_path / "t" / "_temporary-x"
    config = OutputConfig()
    paths = [_write_file(str(temp / f"{name}.parquet"), ROWS[i::2], SCHEMA, config) for i, name in enumerate("ab")]
    publish = _PublishFilesFn({"T": (ParquetTable(str(tmp_path / "t"), SCHEMA), str(temp))}, config)
    finals = list(publish.process(("T", ["", *paths])))
    assert list(publish.process(("T", ["", *paths]))) == finals  # the second attempt moves nothing
    files, rows = _table(tmp_path / "t")
    assert files == ["part-00000-of-00002.parquet", "part-00001-of-00002.parquet"]
    assert sorted(rows, key=lambda r: r["doc_key"]) == ROWS


def _name_row(name: str) -> dict:
    return {"name": name}


@pytest.mark.parametrize("num_shards", [0, 3])
def test_tables_published_together_each_get_their_own_rows_and_files(test_pipeline, tmp_path, num_shards):
    other = pa.schema([("name", pa.string())])
    tables = {
        "A": ParquetTable(str(tmp_path / "a"), SCHEMA),
        "B": ParquetTable(str(tmp_path / "b"), other, to_row=_name_row),  # its records made rows by the writer
        "Empty": ParquetTable(str(tmp_path / "empty"), SCHEMA),
    }
    names = [{"name": f"n{i}"} for i in range(50)]
    with test_pipeline as p:
        records = {"A": p | "A" >> beam.Create(ROWS), "B": p | "B" >> beam.Create([row["name"] for row in names])}
        rows = {**records, "Empty": p | "E" >> beam.Create([])}
        rows | WriteParquetTables(tables, OutputConfig(num_shards=num_shards))
    shards = num_shards or 1
    for folder, schema, expected in [("a", SCHEMA, ROWS), ("b", other, names), ("empty", SCHEMA, [])]:
        files = sorted(p.name for p in (tmp_path / folder).iterdir())
        assert len(files) >= shards and files == [f"part-{i:05d}-of-{len(files):05d}.parquet" for i in range(len(files))]
        written = pq.read_table(tmp_path / folder, schema=schema).to_pylist()
        assert sorted(written, key=str) == sorted(expected, key=str)


def test_a_partitioned_tables_records_are_made_rows_before_their_folders_are_chosen(test_pipeline, tmp_path):
    schema = pa.schema([("doc_key", pa.int64()), ("lang", pa.string())])
    table = ParquetTable(
        str(tmp_path / "p"), schema, partitioned=True, to_row=lambda key: {"doc_key": key, "lang": "xy"[key % 2]}
    )
    with test_pipeline as p:
        {"P": p | beam.Create(range(10))} | WriteParquetTables({"P": table}, OutputConfig(partition_by="lang"))
    assert sorted(f.name for f in (tmp_path / "p").iterdir()) == ["lang=x", "lang=y"]
    keys = pq.read_table(tmp_path / "p" / "lang=y", schema=pa.schema([("doc_key", pa.int64())])).column("doc_key")
    assert sorted(keys.to_pylist()) == [1, 3, 5, 7, 9]
