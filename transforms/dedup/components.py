"""Graph logic of near-duplicate clustering, as pure numpy functions the Beam stages call.

Everything the graph stages shuffle is packed: int64 rows (band key and node, or the two ends of an
edge) travel as bytes, one shuffle element per partition of their first column and per bundle, so
a runner's shuffle (a JVM for Flink and Spark) handles a few elements per partition, not one per
pair or edge.

1. Each LSH bucket becomes a star of edges to its smallest key (k-1 edges, never k^2). A partition
   holds whole buckets, and its buckets are found by one numpy sort.
2. Connected components by alternating large-star / small-star rounds (Kiveris et al., 2014,
   "Connected Components in MapReduce and Beyond"): each step is one GroupByKey of partitions in
   Beam, computed for the whole partition with sorts, and the graph converges to one star per
   component, rooted at the component's smallest key. `local_components` reads each node's root
   off the stars; where the rounds were too few to converge, the edges of the nodes that are not
   yet in a star are finished on one worker (`min_components`) and their roots replace the local
   ones (`resolve_roots`), so any number of rounds gives the same components.
The split of a candidate component into verified clusters is in `transforms.dedup.decide`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = [
    "partition_of",
    "pack_rows",
    "unpack_rows",
    "split_partitions",
    "unique_rows",
    "partition_star_edges",
    "both_directions",
    "large_star",
    "small_star",
    "star_links",
    "local_components",
    "min_components",
    "resolve_roots",
]

_EMPTY = np.empty((0, 2), dtype=np.int64)


def partition_of(keys: np.ndarray, partitions: int) -> np.ndarray:
    """The partition of each signed 64-bit key: rows with one key (a bucket, a node) share one."""
    return np.asarray(keys, dtype=np.int64) % partitions


def pack_rows(rows: np.ndarray) -> bytes:
    """int64 rows as one shuffle value: bytes, not a Python object per row."""
    return np.ascontiguousarray(rows, dtype="<i8").tobytes()


def unpack_rows(payloads: Iterable[bytes], width: int = 2) -> np.ndarray:
    """The rows of packed payloads, as one (n, width) int64 array."""
    arrays = [np.frombuffer(payload, dtype="<i8").reshape(-1, width) for payload in payloads]
    return np.concatenate(arrays) if arrays else np.empty((0, width), dtype=np.int64)


def split_partitions(rows: np.ndarray, partitions: int) -> list[tuple[int, np.ndarray]]:
    """(partition, rows) for every partition the rows' first column falls in, in partition order."""
    if not len(rows):
        return []
    parts = partition_of(rows[:, 0], partitions)
    order = np.argsort(parts, kind="stable")
    parts, rows = parts[order], rows[order]
    bounds = np.flatnonzero(np.diff(parts)) + 1
    return list(zip(parts[np.r_[0, bounds]].tolist(), np.split(rows, bounds)))


def unique_rows(rows: np.ndarray) -> np.ndarray:
    """`np.unique(rows, axis=0)`: the distinct rows of a 2-d array, sorted by the first column, then
    the next. numpy sorts the rows as structured records for that; a lexsort of the columns and a
    mask of changed rows take less than half its time, and the graph stages spend much of theirs here."""
    if len(rows) < 2:
        return rows.copy()
    rows = rows[np.lexsort(rows.T[::-1])]
    changed = np.empty(len(rows), dtype=bool)
    changed[0] = True
    np.any(rows[1:] != rows[:-1], axis=1, out=changed[1:])
    return rows[changed]


def _group_starts(keys: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in sorted `keys`, as a boolean mask."""
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return first


def _group_first(first: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row, the value at the start of its run (`first` from `_group_starts`): the group's
    smallest value when rows are sorted by key, then value, as `np.unique` leaves them."""
    return values[np.maximum.accumulate(np.where(first, np.arange(len(values)), 0))]


def partition_star_edges(pairs: np.ndarray) -> np.ndarray:
    """Distinct edges (member, root) from every member of every LSH bucket in `pairs` ((band key,
    node) rows of whole buckets) to its bucket's smallest node, for all buckets of a partition in
    one sort."""
    pairs = unique_rows(pairs)  # sorted by band key, then node; repeated pairs once
    if len(pairs) < 2:
        return _EMPTY
    first = _group_starts(pairs[:, 0])
    nodes = pairs[:, 1]
    roots = _group_first(first, nodes)
    return unique_rows(np.stack([nodes[~first], roots[~first]], axis=1))  # one edge per pair of nodes


def both_directions(edges: np.ndarray) -> np.ndarray:
    """(a, b) and (b, a) for every edge: a large-star step needs every neighbour of a node."""
    return np.concatenate([edges, edges[:, ::-1]])


def large_star(edges: np.ndarray) -> np.ndarray:
    """Edges (u, v) holding every neighbour v of each u -> (v, m) for every neighbour v > u, where
    m is the smallest of u and its neighbours: larger neighbours hang off the local minimum."""
    edges = unique_rows(edges[edges[:, 0] != edges[:, 1]])  # sorted by u
    if not len(edges):
        return _EMPTY
    u, v = edges[:, 0], edges[:, 1]
    low = np.minimum(_group_first(_group_starts(u), v), u)
    larger = v > u
    return unique_rows(np.stack([v[larger], low[larger]], axis=1))


def small_star(edges: np.ndarray) -> np.ndarray:
    """Edges (u, v) with v < u, all of each u's smaller neighbours -> edges from u and each of
    them to the smallest of them, m: (u, m) and (v, m) for v != m."""
    edges = unique_rows(edges[edges[:, 1] < edges[:, 0]])  # sorted by u
    if not len(edges):
        return _EMPTY
    u, v = edges[:, 0], edges[:, 1]
    first = _group_starts(u)
    low = _group_first(first, v)
    others = v != low
    out = np.concatenate([np.stack([u[first], low[first]], axis=1), np.stack([v[others], low[others]], axis=1)])
    return unique_rows(out)


def star_links(edges: np.ndarray) -> np.ndarray:
    """Edges (child, parent) -> rows (node, other, is_parent) for both ends, to check per node."""
    parent_of = np.column_stack([edges, np.ones(len(edges), dtype=np.int64)])
    child_of = np.column_stack([edges[:, ::-1], np.zeros(len(edges), dtype=np.int64)])
    return np.concatenate([parent_of, child_of])


def local_components(links: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (node, other, is_parent) of every node of a partition -> ((node, local root) rows for
    every node, (node, other) edges of the nodes where the edges are not yet a star forest).

    In a star forest a node has at most one parent, and a node with a parent has no children; its
    root is its parent, or itself when it has only children. A node that breaks this (two parents,
    or a parent and children: the rounds were too few) is its own local root here, and all its
    edges go to `min_components`. Every edge that joins two stars has such a node at one end, so
    the component of a node is the `min_components` root of its local root, if it has one
    (`resolve_roots`), else the local root itself.
    """
    links = unique_rows(links)  # sorted by node, then other, children first
    if not len(links):
        return _EMPTY, _EMPTY
    nodes, others, is_parent = links[:, 0], links[:, 1], links[:, 2] == 1
    first = _group_starts(nodes)
    starts = np.flatnonzero(first)
    parents = np.add.reduceat(is_parent.astype(np.int64), starts)
    sizes = np.diff(np.r_[starts, len(nodes)])
    bad = (parents > 1) | ((parents == 1) & (sizes > 1))
    # A good node with a parent has exactly one row, its parent; a root's rows are all children.
    root = np.where((parents == 1) & ~bad, others[starts], nodes[starts])
    unconverged = np.repeat(bad, sizes)
    return np.stack([nodes[starts], root], axis=1), np.stack([nodes[unconverged], others[unconverged]], axis=1)


def min_components(edges: np.ndarray) -> np.ndarray:
    """Undirected (a, b) edges -> (node, component) rows for every node on them, the component
    being its smallest node: labels hooked along the edges to the smaller one, then compressed by
    pointer jumping, until nothing changes (a few passes, each over all edges at once)."""
    if not len(edges):
        return _EMPTY
    nodes, index = np.unique(edges, return_inverse=True)  # index order is node order
    a, b = index.reshape(-1, 2).T
    label = np.arange(nodes.size)
    while True:
        low = np.minimum(label[a], label[b])
        hooked = label.copy()
        np.minimum.at(hooked, a, low)
        np.minimum.at(hooked, b, low)
        np.minimum.at(hooked, label, hooked)  # a node's old label takes the smaller one too
        while not np.array_equal(jumped := hooked[hooked], hooked):
            hooked = jumped
        if np.array_equal(hooked, label):
            return np.stack([nodes, nodes[label]], axis=1)
        label = hooked


def resolve_roots(members: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """(local root, node) rows and (node, component) rows of `min_components` -> (node, component)
    for every member: the component of its local root where there is one, else the local root."""
    if not len(members):
        return _EMPTY
    component = members[:, 0].copy()
    if len(roots):
        roots = unique_rows(roots)  # sorted by node; each node once
        at = np.minimum(np.searchsorted(roots[:, 0], component), len(roots) - 1)
        found = roots[at, 0] == component
        component[found] = roots[at[found], 1]
    return np.stack([members[:, 1], component], axis=1)
