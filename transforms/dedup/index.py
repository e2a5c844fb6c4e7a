"""The dedup index that incremental runs hand on to each other, as pure functions.

A run with `--incremental` writes one `index/` row per document it kept (`INDEX_SCHEMA`): its id,
cluster, LSH band keys, MinHash signature and, with `dedup.verify: exact`, its shingle hashes. A
later run reads the rows of earlier runs back as `PriorDoc`s: they enter the LSH graph next to the
new documents, lead the clusters they are in, and are never written again, so a new document that
repeats an earlier one is marked `is_duplicate` with `duplicate_of` = the earlier document's id.

Signatures and band keys only compare under the same hashing, so each index file carries the
parameters it was written with (`index_params`) and a run refuses an index written with others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from transforms.config import DedupConfig
from transforms.dedup.minhash import SCHEME, band_keys
from transforms.records import Document, stable_key

__all__ = [
    "PARAMS_KEY",
    "PriorDoc",
    "index_params",
    "params_problem",
    "index_row",
    "prior_from_row",
    "prior_node",
    "prior_rank",
]

PARAMS_KEY = b"corpusbeam.index"  # Parquet schema metadata key of the parameters
_SIGNATURE_DTYPE = np.dtype("<u4")
_SHINGLE_DTYPE = np.dtype("<u8")


@dataclass(frozen=True, slots=True)
class PriorDoc:
    """A document an earlier run kept, as its index row describes it (its text is not carried)."""

    id: str
    doc_key: int
    cluster_id: int
    run_date: str
    text_key: int
    n_shingles: int
    band_keys: tuple[int, ...]
    signature: np.ndarray  # uint32[num_perm]
    shingles: np.ndarray | None  # sorted unique uint64, None when the index was written without them


def index_params(config: DedupConfig, bands: int, rows: int) -> dict[str, int]:
    """What must be equal between the run that wrote an index and a run that reads it: the
    text hashing's scheme (`minhash.SCHEME`) and the MinHash/LSH settings."""
    return {
        "scheme": SCHEME,
        "num_perm": config.num_perm,
        "ngram": config.ngram,
        "seed": config.seed,
        "bands": bands,
        "rows": rows,
    }


def params_problem(found: bytes | None, expected: dict[str, int]) -> str | None:
    """Why an index file written with the parameters `found` (its metadata value) cannot be used."""
    if found is None:
        return "it is not a corpusbeam index (no corpusbeam.index metadata)"
    written = json.loads(found)
    scheme = written.get("scheme", 1)  # indexes written before the scheme was recorded hash as scheme 1
    if scheme != expected["scheme"]:
        return (
            f"it was written with text hashing scheme {scheme}, and this version of corpusbeam hashes with "
            f"scheme {expected['scheme']}: its signatures, band keys and exact keys do not compare"
        )
    differ = [f"{k}={written.get(k)} (this run: {v})" for k, v in expected.items() if written.get(k) != v]
    if differ:
        return "it was written with other MinHash/LSH settings: " + ", ".join(differ)
    return None


def index_row(
    doc: Document,
    text_key: int,
    shingles: np.ndarray,
    signature: np.ndarray,
    bands: int,
    rows: int,
    run_date: str,
    with_shingles: bool,
) -> dict[str, object]:
    """The `index/` row of a kept document (its cluster fields are set)."""
    return {
        "id": doc.id,
        "doc_key": doc.doc_key,
        "cluster_id": doc.cluster_id,
        "run_date": run_date,
        "text_key": text_key,
        "n_shingles": int(shingles.size),
        "band_keys": band_keys(signature, bands, rows),
        "signature": signature.astype(_SIGNATURE_DTYPE).tobytes(),
        "shingles": shingles.astype(_SHINGLE_DTYPE).tobytes() if with_shingles else None,
    }


def prior_from_row(row: dict) -> PriorDoc:
    """An `index/` row as read back by pyarrow -> PriorDoc."""
    shingles = row.get("shingles")
    return PriorDoc(
        id=row["id"],
        doc_key=row["doc_key"],
        cluster_id=row["cluster_id"],
        run_date=row["run_date"],
        text_key=row["text_key"],
        n_shingles=row["n_shingles"],
        band_keys=tuple(row["band_keys"]),
        signature=np.frombuffer(row["signature"], dtype=_SIGNATURE_DTYPE).astype(np.uint32),
        shingles=None if shingles is None else np.frombuffer(shingles, dtype=_SHINGLE_DTYPE).astype(np.uint64),
    )


def prior_node(prior: PriorDoc, exact: bool) -> int:
    """Graph node of an earlier document: with exact grouping, new exact copies share it."""
    return prior.text_key if exact else stable_key("prior", prior.doc_key)


def prior_rank(prior: PriorDoc) -> tuple:
    """Earlier documents lead their clusters oldest first; ties end on the id and doc_key."""
    return (prior.run_date, prior.id, prior.doc_key)
