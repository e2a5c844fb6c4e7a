"""Graph logic of near-duplicate clustering, as pure functions the Beam stages call.

1. Each LSH bucket becomes a star of edges to its smallest key (k-1 edges, never k^2). The
   (band key, node) pairs travel packed, a partition of whole buckets per shuffle key, and a
   partition's buckets are found by one numpy sort.
2. Connected components by alternating large-star / small-star rounds (Kiveris et al., 2014,
   "Connected Components in MapReduce and Beyond"): each round is one GroupByKey in Beam and
   the graph converges to one star per component, rooted at the component's smallest key.
The split of a candidate component into verified clusters is in `transforms.near_duplicates`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "band_partition",
    "pack_pairs",
    "unpack_pairs",
    "partition_star_edges",
    "large_star",
    "small_star",
    "star_check",
]


def band_partition(band_keys: np.ndarray, partitions: int) -> np.ndarray:
    """The band partition of each signed 64-bit band key: a bucket lies whole in one partition."""
    return np.asarray(band_keys, dtype=np.int64) % partitions


def pack_pairs(pairs: np.ndarray) -> bytes:
    """(band key, node) int64 rows as one shuffle value: bytes, not a Python object per pair."""
    return np.ascontiguousarray(pairs, dtype="<i8").tobytes()


def unpack_pairs(payloads: Iterable[bytes]) -> np.ndarray:
    """The (band key, node) rows of packed payloads, as one (n, 2) int64 array."""
    arrays = [np.frombuffer(payload, dtype="<i8").reshape(-1, 2) for payload in payloads]
    return np.concatenate(arrays) if arrays else np.empty((0, 2), dtype=np.int64)


def partition_star_edges(pairs: np.ndarray) -> list[tuple[int, int]]:
    """Distinct edges (member, root) from every member of every LSH bucket in `pairs` ((band key,
    node) rows of whole buckets) to its bucket's smallest node, for all buckets of a partition in
    one sort."""
    pairs = np.unique(pairs, axis=0)  # sorted by band key, then node; repeated pairs once
    if len(pairs) < 2:
        return []
    keys, nodes = pairs[:, 0], pairs[:, 1]
    first = np.empty(len(keys), dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    roots = nodes[np.maximum.accumulate(np.where(first, np.arange(len(keys)), 0))]
    edges = np.unique(np.stack([nodes[~first], roots[~first]], axis=1), axis=0)  # one edge per pair of nodes
    return [(int(a), int(b)) for a, b in edges.tolist()]


def large_star(node: int, neighbours: Iterable[int]) -> list[tuple[int, int]]:
    """Connect every strictly larger neighbour of `node` to the smallest of node and neighbours."""
    ns = set(neighbours)
    ns.discard(node)
    if not ns:
        return []
    low = min(min(ns), node)
    return [(v, low) for v in ns if v > node]


def small_star(node: int, smaller_neighbours: Iterable[int]) -> list[tuple[int, int]]:
    """Connect `node` and its smaller neighbours to the smallest of them."""
    ns = {v for v in smaller_neighbours if v < node}
    if not ns:
        return []
    low = min(ns)
    return [(v, low) for v in ns | {node} if v != low]


def star_check(node: int, parents: Sequence[int], children: Sequence[int]) -> bool:
    """True when the edges at `node` are those of a converged star forest.

    Converged: a node has at most one parent, and a node with a parent has no children.
    """
    distinct_parents = set(parents)
    return len(distinct_parents) <= 1 and not (distinct_parents and children)
