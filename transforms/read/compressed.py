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

__all__ = ["DamagedFrame", "TruncatedStream", "ZSTD_MAGIC", "decompressing_reader", "compression_of", "zstd_frame_reads"]

_CHUNK = 1 << 20
_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zstd": "zstd"}


class TruncatedStream(EOFError):
    """The compressed stream ended before the end of its last frame or member."""


class DamagedFrame(ValueError):
    """A zstd frame that does not decompress; `frame_start` is its byte offset in the file. The frames
    after it are independent: reading can resume at the next one (`zstd_frame_reads` finds it)."""

    def __init__(self, message: str, frame_start: int) -> None:
        super().__init__(message)
        self.frame_start = frame_start


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def zstd_frame_reads(data: bytes) -> bool:
    """Whether `data`, the start of a candidate frame, decompresses (up to its first 1 MB) without error."""
    try:
        zstandard.ZstdDecompressor().decompressobj().decompress(data)
    except zstandard.ZstdError:
        return False
    return True


def compression_of(path: str) -> str | None:
    """`gzip`, `bz2`, `xz`, `zstd` from the file name, or None for an uncompressed file."""
    lower = path.lower()
    return next((kind for suffix, kind in _SUFFIXES.items() if lower.endswith(suffix)), None)


class _ZstdReader(io.RawIOBase):
    """Concatenated zstd frames, decompressed; raises `TruncatedStream` if the last frame is cut, and
    `DamagedFrame` (after returning the data of the frames before it) at a frame that is corrupt."""

    def __init__(self, raw, start: int = 0) -> None:
        super().__init__()
        self._raw = raw
        self._decompressor = zstandard.ZstdDecompressor()
        self._frame = self._decompressor.decompressobj()
        self._in_frame = False  # bytes of the current frame have been fed
        self._pending = memoryview(b"")
        self._read_to = start  # file offset of the next raw byte
        self._frame_start = start  # file offset of the current frame
        self._error: DamagedFrame | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            if self._error is not None:
                raise self._error
            chunk = self._raw.read(_CHUNK)
            if not chunk:
                if self._in_frame:
                    raise TruncatedStream("zstd stream ended inside a frame")
                return 0
            self._pending = memoryview(self._feed(chunk, self._read_to))
            self._read_to += len(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]  # a view: no copy of the rest
        return size

    def _feed(self, chunk: bytes, at: int) -> bytes:
        out = []
        while chunk:
            self._in_frame = True
            try:
                out.append(self._frame.decompress(chunk))
            except zstandard.ZstdError as err:
                self._error = DamagedFrame(f"the zstd frame at byte {self._frame_start} is damaged ({err})", self._frame_start)
                break
            if not self._frame.eof:
                break
            at += len(chunk) - len(self._frame.unused_data)
            chunk = self._frame.unused_data
            self._frame_start = at
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


def decompressing_reader(raw, kind: str | None, start: int = 0):
    """A binary reader of `raw` decompressed as `kind` (None: as it is).

    Unbuffered on purpose: each `read(n)` returns what one step decompressed, so the data before a
    cut is returned before the call that raises `TruncatedStream` (a buffered reader filling a
    large request would drop it with the exception).
    """
    if kind is None:
        return raw
    if kind == "zstd":
        return _ZstdReader(raw, start)
    opener = {"gzip": gzip.GzipFile, "bz2": bz2.BZ2File, "xz": lzma.LZMAFile}[kind]
    return _raising_truncation(opener(fileobj=raw) if kind == "gzip" else opener(raw))
