"""Reading a finished run back: stats.json and its Parquet tables, through Beam's FileSystems (local,
gs://, s3://), for `corpusbeam report` and `corpusbeam inspect`.

Only the columns asked for are read, so a summary of a large corpus does not load its text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipelines.build import output_paths, parquet_files
from transforms.failures import is_internal_error
from transforms.tokens import run_bounds
from transforms.write.parquet import HIVE_NULL

__all__ = ["FinishedRun", "NotARun", "open_run", "reason_stage", "rejected_by_stage"]

_CLEAN_REASONS = ("empty_after_cleaning", "too_short")
_QUALITY_PREFIXES = ("gopher_", "c4_", "fineweb_")


class NotARun(ValueError):
    """The folder holds no finished run; the message says what is missing and what to do."""


def reason_stage(reason: str) -> str:
    """The stage that rejects with `reason`: read, clean, quality, or internal (a step's bug)."""
    if is_internal_error(reason):
        return "internal"
    if reason.startswith(_QUALITY_PREFIXES):
        return "quality"
    if reason in _CLEAN_REASONS:
        return "clean"
    return "read"


def _hive_values(path: str, folder: str) -> dict[str, str | None]:
    """{column: value} of the `column=value` folders between a table's folder and one of its files."""
    values: dict[str, str | None] = {}
    for part in path[len(folder.rstrip("/")) + 1 :].split("/")[:-1]:
        column, sep, value = part.partition("=")
        if sep:
            values[column] = None if value == HIVE_NULL else unquote(value)
    return values


@dataclass(frozen=True)
class FinishedRun:
    """A published run folder: its stats and lazy access to its tables."""

    folder: str
    stats: dict

    def files(self, table: str) -> list[str]:
        pattern = parquet_files(output_paths(self.folder)[table])
        return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)

    def read(self, table: str, columns: list[str]) -> pa.Table:
        """`columns` of every file of `table`, Hive partition columns filled in from the folder names."""
        return _concat(self._pieces(table, columns), columns)

    def lookup(self, table: str, key: str, values: list[int], columns: list[str]) -> pa.Table:
        """`columns` of the rows of `table` whose `key` is one of `values`. Only the key column is read
        everywhere; the other columns only of the row groups that hold a match (a few documents'
        text, not the corpus's)."""
        wanted = pa.array(sorted(set(values)), pa.int64())
        return _concat(self._pieces(table, columns, key, wanted), columns)

    def _pieces(self, table: str, columns: list[str], key: str | None = None, wanted: pa.Array | None = None):
        folder = output_paths(self.folder)[table]
        for path in self.files(table):
            hive = _hive_values(path, folder)
            with FileSystems.open(path) as handle:
                parquet = pq.ParquetFile(handle)
                stored = [c for c in columns if c in parquet.schema_arrow.names]
                for group in range(parquet.num_row_groups):
                    if key is not None:
                        keys = parquet.read_row_group(group, columns=[key]).column(key).to_numpy()
                        hits = np.isin(keys, wanted)
                        if not hits.any():
                            continue
                    piece = parquet.read_row_group(group, columns=stored)
                    if key is not None:
                        piece = _rows(piece, hits)
                    for column in columns:
                        if column in hive and column not in stored:
                            piece = piece.append_column(column, pa.array([hive[column]] * piece.num_rows, pa.string()))
                    yield piece.select(columns)


def _rows(table: pa.Table, mask: np.ndarray) -> pa.Table:
    """The rows of `table` where `mask` is True, as slices of its runs. Not `Table.filter`, whose
    `pyarrow.compute` costs every run 45 ms to import for its report."""
    starts, ends = run_bounds(mask)
    return pa.concat_tables([table.slice(start, end - start) for start, end in zip(starts.tolist(), ends.tolist())])


def _concat(pieces, columns: list[str]) -> pa.Table:
    parts = [piece for piece in pieces if piece.num_rows]
    if not parts:
        return pa.table({c: pa.array([], pa.null()) for c in columns})
    return pa.concat_tables(parts, promote_options="permissive")


def rejected_by_stage(stats: dict) -> dict[str, int]:
    """Rejected records per stage (read, clean, quality) from stats.json's reasons."""
    totals = dict.fromkeys(("read", "clean", "quality", "internal"), 0)
    for reason, count in stats["rejected_by_reason"].items():
        totals[reason_stage(reason)] += count
    return totals


def open_run(folder: str) -> FinishedRun:
    """The run published in `folder`; NotARun when it has no `_SUCCESS` and stats.json."""
    folder = folder.rstrip("/")
    stats_path = output_paths(folder)["stats"]
    if not FileSystems.exists(f"{folder}/_SUCCESS") or not FileSystems.exists(stats_path):
        dated = FileSystems.match([f"{folder}/run_date=*/_SUCCESS"])[0].metadata_list
        hint = ""
        if dated:
            latest = sorted(m.path for m in dated)[-1].rsplit("/", 1)[0]
            hint = f"; it holds dated runs, e.g. {latest}"
        raise NotARun(
            f"{folder!r} holds no finished run (no _SUCCESS and stats.json){hint}: give the --output folder of a run that completed"
        )
    with FileSystems.open(stats_path) as handle:
        stats = json.loads(handle.read().decode("utf-8"))
    return FinishedRun(folder=folder, stats=stats)
