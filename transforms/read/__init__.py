"""Read: raw shards -> Documents, `rejected` rows and per-file record counts; also earlier runs' index.

`transform` holds the Beam composites; the pure modules parse one record each: `formats` (which
reader a file needs), `jsonl`, `text_files`, `warc`, `compressed` (gzip/zstd framing and damage),
`limits` (size, binary, UTF-8 and line-length checks every format shares).
"""

from transforms.exports import lazy_exports

__all__ = ["ReadRawShards", "ReadPriorIndex", "FILE_COUNTS_TAG"]
__getattr__ = lazy_exports(__name__, "transform", __all__)
