"""Graph logic of near-duplicate clustering, as pure functions the Beam stages call.

1. Each LSH bucket becomes a star of edges to its smallest key (k-1 edges, never k^2).
2. Connected components by alternating large-star / small-star rounds (Kiveris et al., 2014,
   "Connected Components in MapReduce and Beyond"): each round is one GroupByKey in Beam and
   the graph converges to one star per component, rooted at the component's smallest key.
The split of a candidate component into verified clusters is in `transforms.near_duplicates`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "bucket_star_edges",
    "large_star",
    "small_star",
    "star_check",
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
