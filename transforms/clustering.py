"""Graph logic of near-duplicate clustering, as pure functions the Beam stages call.

1. Each LSH bucket becomes a star of edges to its smallest key (k-1 edges, never k^2).
2. Connected components by alternating large-star / small-star rounds (Kiveris et al., 2014,
   "Connected Components in MapReduce and Beyond"): each round is one GroupByKey in Beam and
   the graph converges to one star per component, rooted at the component's smallest key.
3. Inside a candidate component the pairwise similarities are known, and the component is split
   into clusters by correlation clustering (pivot start + local moves), so a chain A~B~C with A
   and C unrelated does not become one cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "bucket_star_edges",
    "large_star",
    "small_star",
    "star_check",
    "correlation_clusters",
]


def bucket_star_edges(keys: Iterable[int]) -> list[tuple[int, int]]:
    """Edges (member, root) from every member of one LSH bucket to the bucket's smallest key."""
    unique = sorted(set(keys))
    if len(unique) < 2:
        return []
    root = unique[0]
    return [(key, root) for key in unique[1:]]


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


def _pivot_start(adjacent: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Greedy start: the unassigned node with most similar unassigned neighbours takes them all."""
    k = adjacent.shape[0]
    labels = np.full(k, -1, dtype=np.int64)
    unassigned = np.ones(k, dtype=bool)
    label = 0
    while unassigned.any():
        degree = (adjacent & unassigned[None, :]).sum(axis=1)
        candidates = np.flatnonzero(unassigned)
        # Highest degree first; ties go to the better representative (lower priority rank).
        pivot = candidates[np.lexsort((priority[candidates], -degree[candidates]))[0]]
        members = unassigned & adjacent[pivot]
        members[pivot] = True
        labels[members] = label
        unassigned &= ~members
        label += 1
    return labels


def correlation_clusters(
    adjacent: np.ndarray, priority: np.ndarray, split_penalty: float = 1.0, max_rounds: int = 50
) -> list[list[int]]:
    """Split one candidate component into clusters of mutually similar documents.

    Maximises (similar pairs kept together) - split_penalty * (dissimilar pairs kept together)
    by local moves from a pivot start: each node in turn moves to the cluster where it gains
    most, or out on its own when every cluster costs it. Deterministic: nodes are visited in
    `priority` order and ties keep the current cluster.

    Args:
        adjacent: k x k symmetric bool matrix, True where a pair is similar enough.
        priority: rank of each node as a representative (0 = best); also the visiting order.
        split_penalty: weight of a dissimilar pair inside a cluster.
        max_rounds: bound on the local-move rounds (each round visits every node once).

    Returns:
        Clusters as lists of node indices, each sorted by priority, the best node first.
    """
    k = adjacent.shape[0]
    adjacent = adjacent.copy()
    np.fill_diagonal(adjacent, False)
    weights = np.where(adjacent, 1.0, -split_penalty)
    np.fill_diagonal(weights, 0.0)
    labels = _pivot_start(adjacent, priority)
    order = np.argsort(priority, kind="stable")
    for _ in range(max_rounds):
        moved = False
        for node in order:
            n_labels = int(labels.max()) + 1
            gain = np.bincount(labels, weights=weights[node], minlength=n_labels)
            current = labels[node]
            best = int(np.argmax(gain))
            if gain[best] > gain[current] + 1e-9 and gain[best] > 0:
                labels[node] = best
                moved = True
            elif gain[current] < -1e-9 and np.count_nonzero(labels == current) > 1:
                labels[node] = n_labels  # better alone than with this cluster
                moved = True
        if not moved:
            break
    clusters: dict[int, list[int]] = {}
    for node in order:
        clusters.setdefault(int(labels[node]), []).append(int(node))
    return sorted(clusters.values(), key=lambda members: priority[members[0]])
