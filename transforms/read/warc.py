"""WARC/WET records -> Documents: `conversion` records (WET) are plain text; `response` records with
HTML go through resiliparse's main-content extractor. Pure functions over a record's parts; the Beam
reader in `transforms.read.transform` iterates the archive with warcio (which handles per-record gzip).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from transforms.metadata import crawl_timestamp
from transforms.records import Document, Rejected

__all__ = ["CONTENT_RECORD_TYPES", "arc_headers", "record_to_document", "html_to_text", "iter_lenient_records"]

# The record types that hold a page; warcinfo, request and metadata records describe the crawl.
CONTENT_RECORD_TYPES = ("conversion", "response", "resource")
_CHARSET_RE = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("text/plain",)


def html_to_text(html: bytes, content_type: str | None) -> str:
    """The main content of an HTML page as text (resiliparse; navigation and footers dropped)."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    match = _CHARSET_RE.search(content_type or "")
    encoding = match[1] if match else detect_encoding(html)
    return extract_plain_text(bytes_to_str(html, encoding), main_content=True)


def arc_headers(headers: dict[str, str]) -> dict[str, str]:
    """The WARC names of an ARC record's header fields (`uri`, `archive-date` as 14 digits).

    ARC records have no record id; the document id is then the archive's path and the offset,
    which stay the same on every run (warcio's arc2warc would invent a random UUID).
    """
    converted = {"WARC-Target-URI": headers.get("uri", "")}
    stamp = headers.get("archive-date", "")
    if len(stamp) == 14 and stamp.isdigit():
        converted["WARC-Date"] = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:{stamp[10:12]}:{stamp[12:]}Z"
    return converted


def record_to_document(
    record_type: str,
    headers: dict[str, str],
    content_type: str | None,
    payload: bytes,
    source: str,
    offset: int,
    max_doc_bytes: int,
) -> Document | Rejected:
    """One content record -> Document, or Rejected with the reason it holds no usable text.

    Args:
        record_type: the WARC-Type (one of `CONTENT_RECORD_TYPES`).
        headers: the WARC headers of the record.
        content_type: the HTTP Content-Type of a response, the WARC Content-Type otherwise.
        payload: the record's content (the HTTP body for a response).
        source: the archive's path.
        offset: byte offset of the record in the archive: its location in `rejected/`.
        max_doc_bytes: a larger payload is rejected as `too_large` before it is parsed.
    """
    record_id = headers.get("WARC-Record-ID") or f"{source}@{offset}"
    if len(payload) > max_doc_bytes:
        return Rejected(source, offset, "too_large", None, id=record_id, detail=f"{len(payload)} bytes")
    kind = (content_type or "").split(";")[0].strip().lower()
    if record_type == "conversion" or kind in _TEXT_TYPES:
        text = payload.decode("utf-8", "replace")
    elif kind in _HTML_TYPES:
        try:
            text = html_to_text(payload, content_type)
        except Exception as err:  # noqa: BLE001 - a page the extractor cannot read is a reject, not a crash
            return Rejected(source, offset, "html_extraction_failed", None, id=record_id, detail=str(err)[:500])
    else:
        return Rejected(source, offset, "unsupported_content_type", None, id=record_id, detail=kind or "none")
    if not text.strip():
        return Rejected(source, offset, "empty_text", text, id=record_id)
    metadata = {"warc_type": record_type, "content_type": kind or None}
    fields = json.dumps({k: v for k, v in metadata.items() if v}, sort_keys=True)
    return Document.read_at(
        source,
        offset,
        record_id,
        text,
        url=headers.get("WARC-Target-URI"),
        crawl_date=crawl_timestamp(headers.get("WARC-Date")),
        metadata=fields,
    )


_VERSION_LINES = (b"WARC/1.0", b"WARC/1.1")


def iter_lenient_records(lines: Iterable[bytes]) -> Iterator[tuple[int, str, dict[str, str], bytes]]:
    """(offset, WARC-Type, headers, content) of an uncompressed archive, ignoring Content-Length.

    Some WET files (cc_net's, hand-edited ones, files whose line ends were converted) carry lengths
    that do not match their content, which a strict reader rejects at the first record. Here a
    record starts at a `WARC/1.x` line and its content runs to the next one, as cc_net reads WET.
    `lines` are the file's lines with their line ends.
    """
    offset = position = 0
    headers: dict[str, str] | None = None
    content: list[bytes] = []
    in_headers = False
    for line in lines:
        stripped = line.rstrip(b"\r\n")
        if stripped in _VERSION_LINES:
            if headers is not None:
                yield offset, headers.get("WARC-Type", ""), headers, b"".join(content).strip(b"\r\n")
            offset, headers, content, in_headers = position, {}, [], True
        elif headers is not None and in_headers:
            if not stripped:
                in_headers = False
            else:
                name, _, value = stripped.decode("utf-8", "replace").partition(":")
                headers[name.strip()] = value.strip()
        elif headers is not None:
            content.append(line)
        position += len(line)
    if headers is not None:
        yield offset, headers.get("WARC-Type", ""), headers, b"".join(content).strip(b"\r\n")
