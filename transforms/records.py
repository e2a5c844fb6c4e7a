"""The record types that flow through the graph and the one declared Parquet schema of each output.

Every output column is declared here and only here; `README.md` documents the same columns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import re
from dataclasses import dataclass
from typing import overload

import numpy as np
import pyarrow as pa
import xxhash

from transforms.tokens import whitespace

__all__ = [
    "DOCUMENT_SCHEMA",
    "REJECTED_SCHEMA",
    "CLUSTER_SCHEMA",
    "INDEX_SCHEMA",
    "Document",
    "Rejected",
    "doc_key_for",
    "stable_key",
    "without_surrogates",
    "encodable",
    "REJECTED_TEXT_LIMIT",
    "document_row",
    "rejected_row",
    "count_words",
    "words_up_to",
    "REJECTED_TAG",
]

# The output every stage sends its Rejected rows to, beside its main output.
REJECTED_TAG = "rejected"


_SURROGATE = re.compile("[\ud800-\udfff]")


REJECTED_TEXT_LIMIT = 100_000  # characters (or bytes, before decoding) of a record kept in its rejected row


def encodable(text: str) -> bool:
    """Whether UTF-8 can encode `text`: not when it holds a lone surrogate (only a JSON escape makes one)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@overload
def without_surrogates(text: str) -> str: ...
@overload
def without_surrogates(text: None) -> None: ...
def without_surrogates(text: str | None) -> str | None:
    """`text` with each lone surrogate as U+FFFD: UTF-8 has no encoding for them, so Parquet writers,
    fastText and xxhash all raise on one. None (an optional field left empty) stays None."""
    return text if text is None or encodable(text) else _SURROGATE.sub("\ufffd", text)


# Characters from which counting words on a whitespace mask beats `str.split`, which makes every word.
_SPLIT_BELOW = 400


def count_words(text: str) -> int:
    """Whitespace-separated words (`len(text.split())`): a Document's `n_words`. A long text is
    counted on its whitespace mask, a word starting where a non-space follows a space (3.4 KB of
    text: 3-6 us against 15 us for the split)."""
    if len(text) < _SPLIT_BELOW:
        return len(text.split())
    space = whitespace(text)
    return int(np.count_nonzero(space[:-1] > space[1:])) + (not space[0])


def words_up_to(text: str, limit: int) -> int:
    """min(count_words(text), limit + 1): enough to compare with `limit`, without splitting a long
    paragraph into all its words (the split stops after `limit` of them)."""
    return len(text.split(None, limit))


def stable_key(*parts: object) -> int:
    """Signed 64-bit xxh3 of the parts joined by NUL: a shuffle key that is the same on every runner,
    worker and run, unlike Python's salted `hash()`, and fits Parquet's int64."""
    value = xxhash.xxh3_64_intdigest("\x00".join(map(str, parts)).encode())
    return value - (1 << 64) if value >= 1 << 63 else value


def doc_key_for(source: str, record: int) -> int:
    """Stable key of one input record, from where it was read.

    Input ids may repeat across shards, so the key is derived from the location, which is unique.
    """
    return stable_key(source, record)


@dataclass(frozen=True, slots=True)
class Document:
    """One input document; cleaning and dedup fill in fields with `replace`."""

    doc_key: int
    id: str
    source: str
    record: int
    text: str
    url: str | None = None
    site: str | None = None  # host of `url` without `www.`
    date: str | None = None  # publication date, ISO 8601 YYYY-MM-DD
    crawl_date: str | None = None  # when a crawler fetched the page (WARC-Date), ISO 8601 UTC timestamp
    title: str | None = None
    lang: str | None = None
    lang_score: float | None = None  # probability of `lang` from the language identifier
    metadata: str | None = None  # JSON object of the input fields we have no column for
    n_words: int = 0
    quality_score: float | None = None  # `transforms.clean.quality.quality_score`, for `dedup.keep: quality`
    cluster_id: int | None = None
    cluster_size: int = 1
    is_duplicate: bool = False
    duplicate_of: str | None = None
    duplicate_of_key: int | None = None
    similarity: float | None = None

    def replace(self, **changes: object) -> Document:
        """`dataclasses.replace`, without its per-call look-up of the fields (4.5 -> 2.8 us): a
        document is replaced several times on its way through the graph."""
        unknown = changes.keys() - _DOCUMENT_FIELD_SET
        if unknown:
            raise TypeError(f"Document has no field {', '.join(sorted(unknown))}")
        return Document(*[changes.get(name, value) for name, value in zip(_DOCUMENT_FIELDS, _document_values(self))])

    def __reduce__(self) -> tuple[type[Document], tuple]:
        """Pickled as the class and its field values: the slots dataclass default looks the fields up
        for each document and sets them one by one (Beam's coder round trip 7.9 -> 4.5 us)."""
        return Document, _document_values(self)

    @classmethod
    def read_at(cls, source: str, record: int, doc_id: str, text: str, **fields: object) -> Document:
        """A document as read from `source` at `record`; its `doc_key` derives from that location."""
        return cls(doc_key=doc_key_for(source, record), id=doc_id, source=source, record=record, text=text, **fields)


_DOCUMENT_FIELDS = tuple(field.name for field in dataclasses.fields(Document))
_DOCUMENT_FIELD_SET = frozenset(_DOCUMENT_FIELDS)
_document_values = operator.attrgetter(*_DOCUMENT_FIELDS)


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input record that did not become a document, with the reason why."""

    source: str
    record: int
    reason: str
    text: str | None
    id: str | None = None
    detail: str | None = None


DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("doc_key", pa.int64(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("record", pa.int64(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("site", pa.string()),
        pa.field("date", pa.date32()),
        pa.field("crawl_date", pa.timestamp("ms", tz="UTC")),
        pa.field("title", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("lang_score", pa.float32()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("n_words", pa.int32(), nullable=False),
        pa.field("quality_score", pa.float32()),
        pa.field("metadata", pa.string()),
        pa.field("cluster_id", pa.int64(), nullable=False),
        pa.field("cluster_size", pa.int32(), nullable=False),
        pa.field("is_duplicate", pa.bool_(), nullable=False),
        pa.field("duplicate_of", pa.string()),
        pa.field("duplicate_of_key", pa.int64()),
        pa.field("similarity", pa.float32()),
    ]
)

REJECTED_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("record", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
        pa.field("text", pa.string()),
    ]
)

CLUSTER_SCHEMA = pa.schema(
    [
        pa.field("cluster_id", pa.int64(), nullable=False),
        pa.field("representative_id", pa.string(), nullable=False),
        pa.field("representative_key", pa.int64(), nullable=False),
        # Set when the representative was kept by an earlier run (incremental mode): that run's date.
        pa.field("representative_run_date", pa.string()),
        pa.field("size", pa.int32(), nullable=False),
        pa.field("member_ids", pa.list_(pa.string()), nullable=False),
        pa.field("member_keys", pa.list_(pa.int64()), nullable=False),
        pa.field("similarities", pa.list_(pa.float32()), nullable=False),
        pa.field("containments", pa.list_(pa.float32()), nullable=False),
    ]
)


# The dedup index a run writes for later runs (`--incremental`): one row per document it kept.
INDEX_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("doc_key", pa.int64(), nullable=False),
        pa.field("cluster_id", pa.int64(), nullable=False),
        pa.field("run_date", pa.string(), nullable=False),  # YYYY-MM-DD of the run that kept it
        pa.field("text_key", pa.int64(), nullable=False),  # exact key of its words (`dedup.decide.exact_key`)
        pa.field("n_shingles", pa.int32(), nullable=False),
        pa.field("band_keys", pa.list_(pa.int64()), nullable=False),
        pa.field("signature", pa.binary(), nullable=False),  # uint32[num_perm], little-endian
        pa.field("shingles", pa.binary()),  # sorted unique uint64 shingle hashes; null with dedup.verify: estimate
    ]
)


def document_row(doc: Document) -> dict[str, object]:
    """The Parquet row of a finished document (its cluster fields are set)."""
    return {
        "id": doc.id,
        "doc_key": doc.doc_key,
        "source": doc.source,
        "record": doc.record,
        "url": doc.url,
        "site": doc.site,
        "date": dt.date.fromisoformat(doc.date) if doc.date else None,
        "crawl_date": dt.datetime.fromisoformat(doc.crawl_date) if doc.crawl_date else None,
        "title": doc.title,
        "lang": doc.lang,
        "lang_score": doc.lang_score,
        "text": doc.text,
        "n_words": doc.n_words,
        "quality_score": doc.quality_score,
        "metadata": doc.metadata,
        "cluster_id": doc.cluster_id,
        "cluster_size": doc.cluster_size,
        "is_duplicate": doc.is_duplicate,
        "duplicate_of": doc.duplicate_of,
        "duplicate_of_key": doc.duplicate_of_key,
        "similarity": doc.similarity,
    }


def rejected_row(rej: Rejected) -> dict[str, object]:
    """The Parquet row of a rejected record; its strings made encodable, so a rejection never fails
    the write (its text may come from anywhere in a broken record)."""
    return {
        "id": without_surrogates(rej.id),
        "source": without_surrogates(rej.source),
        "record": rej.record,
        "reason": rej.reason,
        "detail": without_surrogates(rej.detail),
        "text": without_surrogates(rej.text),
    }
