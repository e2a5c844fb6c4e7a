"""Write: rows -> Parquet tables, and every output counted into `stats.json`.

`transform` holds the Beam composites; the pure modules: `parquet` (Hive folders, a file written
row by row in bounded row groups, the row check), `stats` (the counts behind `stats.json`),
`accounting` (every input record is a document or a rejected row).
"""

from transforms.exports import lazy_exports

__all__ = ["ParquetTable", "WriteParquetTables", "WriteParquetRows", "CheckDocumentRows", "ComputeRunStats"]
__getattr__ = lazy_exports(__name__, "transform", __all__)
