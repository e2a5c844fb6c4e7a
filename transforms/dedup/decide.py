"""Per-group decisions of the dedup stage, as pure functions over Documents.

- `exact_key`: documents with the same words in the same order share one graph node.
- `split_component`: the documents of one candidate component -> clusters of near-duplicates,
  using exact shingle Jaccard (`dedup.verify: exact`) or the signature estimate.
- `finalize_cluster`: cluster -> Documents with their cluster fields, and its `clusters/` row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xxhash

from transforms.config import DedupConfig
from transforms.dedup.index import PriorDoc, prior_rank
from transforms.dedup.minhash import MinHasher, containment_from_jaccard, exact_jaccard, lsh_parameters
from transforms.records import Document, stable_key
from transforms.tokens import TEXT_SEED, shared_hasher

__all__ = [
    "Unit",
    "Member",
    "cluster_key",
    "exact_key",
    "rank_key",
    "group_exact",
    "split_component",
    "finalize_cluster",
    "candidate_threshold",
    "resolve_lsh",
]

# Exact Jaccard is computed only for pairs whose estimate is at most this far below the threshold
# (4.5 standard deviations of the estimate at 128 permutations): the others cannot reach it.
_EXACT_MARGIN = 0.2
# Up to this many units, exact verification compares every pair exactly and computes no signature:
# a pair's exact Jaccard (a merge of two sorted arrays, ~5 us) costs less than the signatures that
# would rule some pairs out (~40 us a unit) while a component has fewer than about 17 units.
_EXACT_ALL_UNITS = 16
# Seeds the exact key of a text's token hashes, apart from a key of characters (a text without words).
_WORDS_KEY_SEED = 1


@dataclass(frozen=True, slots=True)
class Unit:
    """A graph node: one representative text and its exact copies (equal normalised text).

    The node of a document an earlier run kept (`prior`, incremental mode) has no document of this
    run as its representative: every document at it is an exact copy of the earlier one.
    """

    doc: Document | None
    copies: tuple[Document, ...] = ()
    prior: PriorDoc | None = None
    text_key: int | None = None  # exact_key of the texts when the graph node is it (it was computed there)

    @property
    def size(self) -> int:
        """Documents of the node, an earlier run's document included."""
        return 1 + len(self.copies)

    def __reduce__(self) -> tuple[type[Unit], tuple]:
        """Pickled as the class and its field values, as `Document` is: the frozen slots default
        sets each field through `object.__setattr__` (Beam's coder round trip of a (component, Unit) 9.7 -> 7.6 us)."""
        return Unit, (self.doc, self.copies, self.prior, self.text_key)


def exact_key(text: str) -> int:
    """Signed 64-bit key of the text's words: its lower-cased `\\w+` tokens in order, as
    `transforms.tokens` hashes them. Texts that differ only in case, spacing or punctuation share it
    (the node key in the graph): their word shingles are equal, so verification would join them at
    Jaccard 1 anyway. The cleaning hashed most final texts with the same shared hasher, which
    remembers them, so a key costs a look-up and one xxh3 (2 us) instead of normalising the text
    again (32 us). A text without a word keys on its case-folded, whitespace-collapsed characters."""
    tokens = shared_hasher(TEXT_SEED).hashes(text)
    if tokens.size:
        value = xxhash.xxh3_64_intdigest(tokens.astype("<u8", copy=False).tobytes(), _WORDS_KEY_SEED)
    else:
        value = xxhash.xxh3_64_intdigest(" ".join(text.casefold().split()).encode("utf-8"))
    return value - (1 << 63)


def cluster_key(doc: Document, text_key: int | None = None) -> int:
    """Id of the cluster a document represents: a hash of its id and its text's `exact_key`
    (`text_key`, when the caller has it already).

    It depends on the representative's content only, not on where it was read (`doc_key` does),
    so it is the same whatever the input order, sharding, runner or worker count.
    """
    return stable_key(doc.id, exact_key(doc.text) if text_key is None else text_key)


def rank_key(doc: Document, keep: str) -> tuple:
    """Sort key of a document as a representative: the smallest is kept.

    `longest`: most words, then most characters; `earliest_date`: the earliest publication date
    (documents without one come last), then longest; `quality`: the highest `quality_score` (none
    last), then longest; `min_id`: the smallest id. Ties end on the id and the unique doc_key, so
    the choice never depends on input order, runner or workers.
    """
    longest = (-doc.n_words, -len(doc.text))
    if keep == "longest":
        return (*longest, doc.id, doc.doc_key)
    if keep == "earliest_date":
        return (doc.date is None, doc.date or "", *longest, doc.id, doc.doc_key)
    if keep == "quality":
        return (doc.quality_score is None, -(doc.quality_score or 0.0), *longest, doc.id, doc.doc_key)
    return (doc.id, doc.doc_key)


def group_exact(docs: Sequence[Document], keep: str, prior: PriorDoc | None = None, text_key: int | None = None) -> Unit:
    """Documents with one exact key (`text_key`, if known) -> a Unit whose representative is the
    best by `keep`, or the earlier run's document `prior` when there is one (an earlier document is
    never replaced)."""
    ordered = sorted(docs, key=lambda d: rank_key(d, keep))
    if prior is not None:
        return Unit(None, tuple(ordered), prior, text_key)
    return Unit(ordered[0], tuple(ordered[1:]), text_key=text_key)


def _unit_rank(unit: Unit, keep: str) -> tuple:
    """Earlier runs' documents lead first (oldest first), then this run's by the keep policy."""
    if unit.prior is not None:
        return (0, prior_rank(unit.prior))
    return (1, rank_key(unit.doc, keep))


def candidate_threshold(config: DedupConfig) -> float:
    """The Jaccard LSH must catch: the threshold, or lower when containment can also join a pair.

    A copy that keeps a fraction c of a longer document has Jaccard about c; we seek candidates
    down to threshold * containment (0.72 for 0.8 and 0.9).
    """
    if config.containment > 0:
        return min(config.threshold, config.threshold * config.containment)
    return config.threshold


def resolve_lsh(config: DedupConfig) -> tuple[int, int]:
    """Bands x rows of a run: from the config, or chosen for the candidate threshold."""
    if config.bands:
        return config.bands, config.rows
    return lsh_parameters(candidate_threshold(config), config.num_perm)


def _contained(jaccard: np.ndarray, lead_size: int, sizes: np.ndarray) -> np.ndarray:
    """Share of the shorter of each pair contained in the longer one, implied by their Jaccard, for
    a leader's candidates at once."""
    return containment_from_jaccard(jaccard, np.minimum(sizes, lead_size), np.maximum(sizes, lead_size))


def _similar_to(
    leader: int,
    candidates: np.ndarray,
    shingles: list[np.ndarray | None],
    sizes: np.ndarray,
    sigs: np.ndarray | None,
    exact: bool,
    config: DedupConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """(similar?, Jaccard) of each candidate to the leader.

    Without signatures (`sigs` None) every Jaccard is exact. Otherwise the estimate comes first, and
    with `exact` the pairs it cannot rule out are computed exactly: those near the threshold and
    those it would join by containment, so that a member's Jaccard and containment are exact.
    """
    if sigs is None:
        jaccard = np.array([exact_jaccard(shingles[leader], shingles[c]) for c in candidates], dtype=float)
    else:
        jaccard = (sigs[candidates] == sigs[leader]).mean(axis=1)
        if exact and shingles[leader] is not None:
            check = jaccard >= candidate_threshold(config) - _EXACT_MARGIN
            if config.containment > 0:
                check |= _contained(jaccard, sizes[leader], sizes[candidates]) >= config.containment
            for n in np.flatnonzero(check):
                jaccard[n] = exact_jaccard(shingles[leader], shingles[candidates[n]])
    similar = jaccard >= config.threshold
    if config.containment > 0:
        similar |= _contained(jaccard, sizes[leader], sizes[candidates]) >= config.containment
    return similar, jaccard


Member = tuple[Unit, float, float]  # a unit, its Jaccard to the representative, its containment in it


def split_component(units: Sequence[Unit], hasher: MinHasher, config: DedupConfig) -> list[list[Member]]:
    """One candidate component -> clusters, each a list of (unit, Jaccard to its representative,
    share of the unit's shingles contained in the representative).

    The best remaining unit by the keep policy becomes a representative and takes every remaining
    unit similar to it; repeat until none remain. So every duplicate is verified against the
    document that is kept, and a chain of pairwise links never pulls in a document that is not
    itself close to the representative. Similarity is exact shingle Jaccard (`dedup.verify:
    exact`, up to `dedup.max_pairwise` units) or the signature estimate.

    Earlier runs' documents (incremental mode) lead first and are never members: they were kept
    and published before. A cluster of one earlier document alone is left out.
    """
    units = sorted(units, key=lambda u: _unit_rank(u, config.keep))
    shingles = [u.prior.shingles if u.prior else hasher.shingle_hashes(u.doc.text) for u in units]
    sizes = np.array([u.prior.n_shingles if u.prior else s.size for u, s in zip(units, shingles)])
    exact = config.verify == "exact" and len(units) <= config.max_pairwise
    if exact and len(units) <= _EXACT_ALL_UNITS and all(s is not None for s in shingles):
        sigs = None  # every pair compared exactly: no estimate needed
    else:
        sigs = np.stack([u.prior.signature if u.prior else hasher.signature(s) for u, s in zip(units, shingles)])
    remaining = np.array([u.prior is None for u in units])
    clusters = []
    for leader, unit in enumerate(units):
        if unit.prior is None and not remaining[leader]:
            continue
        remaining[leader] = False
        candidates = np.flatnonzero(remaining)
        similar, jaccard = _similar_to(leader, candidates, shingles, sizes, sigs, exact, config)
        members = candidates[similar]
        if unit.prior is not None and members.size == 0 and not unit.copies:
            continue
        remaining[members] = False
        cluster = [(unit, 1.0, 1.0)]
        for m, j in zip(members, jaccard[similar]):
            cluster.append((units[m], float(j), containment_from_jaccard(float(j), int(sizes[m]), int(sizes[leader]))))
        clusters.append(cluster)
    return clusters


def finalize_cluster(members: Sequence[Member]) -> tuple[list[Document], dict[str, object] | None]:
    """Set the cluster fields of every document of one cluster; its first unit is the representative.

    Returns the documents of this run and, for clusters of more than one document, the `clusters/`
    row. An earlier run's representative keeps its cluster id and is not returned again.
    """
    lead = members[0][0]
    size = sum(member[0].size for member in members)
    if lead.prior is None:
        rep_id, rep_key, cluster_id, earlier = lead.doc.id, lead.doc.doc_key, cluster_key(lead.doc, lead.text_key), None
        out = [lead.doc.replace(cluster_id=cluster_id, cluster_size=size)]
    else:
        rep_id, rep_key, cluster_id, earlier = lead.prior.id, lead.prior.doc_key, lead.prior.cluster_id, lead.prior.run_date
        out = []
    ids, keys = [rep_id], [rep_key]
    similarities, containments = [1.0], [1.0]
    for index, (unit, sim, contained) in enumerate(members):
        # The representative's exact copies are identical to it (its member entry is 1.0, 1.0); a
        # member's copies are as close to it as the member.
        docs = unit.copies if index == 0 else (unit.doc, *unit.copies)
        for doc in docs:
            out.append(
                doc.replace(
                    cluster_id=cluster_id,
                    cluster_size=size,
                    is_duplicate=True,
                    duplicate_of=rep_id,
                    duplicate_of_key=rep_key,
                    similarity=sim,
                )
            )
            ids.append(doc.id)
            keys.append(doc.doc_key)
            similarities.append(sim)
            containments.append(contained)
    if size == 1:
        return out, None
    row = {
        "cluster_id": cluster_id,
        "representative_id": rep_id,
        "representative_key": rep_key,
        "representative_run_date": earlier,
        "size": size,
        "member_ids": ids,
        "member_keys": keys,
        "similarities": similarities,
        "containments": containments,
    }
    return out, row
