"""Which reader a file needs, from its name: JSONL, WARC/WET/ARC, or one plain-text document."""

from __future__ import annotations

__all__ = ["COMPRESSION_SUFFIXES", "input_format"]

COMPRESSION_SUFFIXES = (".gz", ".zst", ".zstd", ".bz2", ".xz")
_JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
_WARC_SUFFIXES = (".warc", ".wet", ".arc")


def input_format(path: str) -> str:
    """`jsonl`, `warc` or `text`, from the file name with its compression suffix removed."""
    name = path.lower()
    for suffix in COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name.endswith(_WARC_SUFFIXES):
        return "warc"
    return "jsonl" if name.endswith(_JSONL_SUFFIXES) else "text"
