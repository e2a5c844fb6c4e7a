"""Decompressing readers that fail on a truncated stream instead of ending quietly.

Beam's own gzip reader, and zstandard's stream reader, return the data before a cut and then end as
if the file were whole, so a shard cut off in a copy would lose its tail without a trace. These
readers raise `TruncatedStream` at the cut; the shard reader keeps the records before it and writes a
`read_error` row for the rest. No Beam import: tests call them on bytes.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma

import zstandard

__all__ = ["TruncatedStream", "decompressing_reader", "compression_of"]

_CHUNK = 1 << 20
_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zstd": "zstd"}


class TruncatedStream(EOFError):
    """The compressed stream ended before the end of its last frame or member."""


def compression_of(path: str) -> str | None:
    """`gzip`, `bz2`, `xz`, `zstd` from the file name, or None for an uncompressed file."""
    lower = path.lower()
    return next((kind for suffix, kind in _SUFFIXES.items() if lower.endswith(suffix)), None)


class _ZstdReader(io.RawIOBase):
    """Concatenated zstd frames, decompressed; raises `TruncatedStream` if the last frame is cut."""

    def __init__(self, raw) -> None:
        super().__init__()
        self._raw = raw
        self._decompressor = zstandard.ZstdDecompressor()
        self._frame = self._decompressor.decompressobj()
        self._in_frame = False  # bytes of the current frame have been fed
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = self._raw.read(_CHUNK)
            if not chunk:
                if self._in_frame:
                    raise TruncatedStream("zstd stream ended inside a frame")
                return 0
            self._pending = memoryview(self._feed(chunk))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]  # a view: no copy of the rest
        return size

    def _feed(self, chunk: bytes) -> bytes:
        out = []
        while chunk:
            self._in_frame = True
            out.append(self._frame.decompress(chunk))
            if not self._frame.eof:
                break
            chunk = self._frame.unused_data
            self._frame = self._decompressor.decompressobj()
            self._in_frame = False
        return b"".join(out)


def _raising_truncation(reader):
    """Wrap a stdlib reader so its EOFError on a cut stream becomes `TruncatedStream`."""

    class _Reader(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            try:
                data = reader.read1(len(buffer))  # one step: data before a cut is returned first
            except EOFError as err:
                raise TruncatedStream(str(err)) from err
            buffer[: len(data)] = data
            return len(data)

    return _Reader()


def decompressing_reader(raw, kind: str | None):
    """A binary reader of `raw` decompressed as `kind` (None: as it is).

    Unbuffered on purpose: each `read(n)` returns what one step decompressed, so the data before a
    cut is returned before the call that raises `TruncatedStream` (a buffered reader filling a
    large request would drop it with the exception).
    """
    if kind is None:
        return raw
    if kind == "zstd":
        return _ZstdReader(raw)
    opener = {"gzip": gzip.GzipFile, "bz2": bz2.BZ2File, "xz": lzma.LZMAFile}[kind]
    return _raising_truncation(opener(fileobj=raw) if kind == "gzip" else opener(raw))
