"""Beam composites of the dedup stage: exact groups, MinHash LSH buckets, connected components,
and the split of each candidate component into verified clusters.

Graph (shuffle keys are plain ints; values are small or packed bytes except in the final join):

    docs --BandKeys--> (band partition, packed (band_key, node) pairs) --BucketEdges (one sort per
        partition)--> packed star edges (node, bucket_min)
    edges --ConnectedComponents (large-star / small-star rounds on packed node partitions; the edges
        they leave outside a star finished on one worker)--> (node, component)
    {docs: (node, Document), component: (node, component)} --JoinComponents (one GroupByKey)-->
        node without component -> finished cluster of its exact copies
        node with component    -> (component, Unit) --GroupComponents--> split_component

Incremental mode adds earlier runs' index rows (`PriorDoc`s) as nodes: their stored band keys join
the buckets and they join JoinComponents as `prior`, so they lead the clusters they are in.
`IndexKeptDocuments` turns the documents a run keeps into the index rows of the next runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

from transforms.config import DedupConfig
from transforms.dedup.components import (
    both_directions,
    large_star,
    local_components,
    min_components,
    pack_rows,
    partition_star_edges,
    resolve_roots,
    small_star,
    split_partitions,
    star_links,
    unpack_rows,
)
from transforms.dedup.decide import (
    Member,
    Unit,
    candidate_threshold,
    cluster_key,
    exact_key,
    finalize_cluster,
    group_exact,
    resolve_lsh,
    split_component,
)
from transforms.dedup.index import PriorDoc, index_row, prior_node, prior_rank
from transforms.dedup.minhash import MinHasher, band_keys
from transforms.guarded import guarded
from transforms.metrics import NAMESPACE, get_counter_inc_fn
from transforms.records import REJECTED_TAG, Document

__all__ = [
    "DeduplicateDocuments",
    "IndexKeptDocuments",
    "BucketEdges",
    "ConnectedComponents",
    "JoinComponents",
    "node_values",
    "CLUSTERS_TAG",
    "SHUFFLE_SENT",
    "SHUFFLE_RECEIVED",
]

logger = logging.getLogger(__name__)

CLUSTERS_TAG = "clusters"
# Every shuffle of the dedup stage counts what goes in and what comes out; the driver fails the run
# when they differ (a runner that loses elements). Documents are counted by the accounting check;
# band keys, edges, component ids and units would only lose duplicates, silently.
SHUFFLE_SENT = "dedup:shuffle-sent"
SHUFFLE_RECEIVED = "dedup:shuffle-received"
_sent = Metrics.counter(NAMESPACE, SHUFFLE_SENT)
_received = Metrics.counter(NAMESPACE, SHUFFLE_RECEIVED)
_count = get_counter_inc_fn()  # for plain functions; resolves the running bundle at each call


def _received_list(values: Iterable) -> list:
    """A shuffle's grouped values as a list, counted as received."""
    values = list(values)
    _received.inc(len(values))
    return values


def _send(rows: np.ndarray, partitions: int) -> Iterator[tuple[int, bytes]]:
    """(partition, packed rows) per partition of the rows' first column, counted as sent."""
    for part, chunk in split_partitions(rows, partitions):
        _sent.inc(len(chunk))
        yield part, pack_rows(chunk)


def _received_rows(payloads: Iterable[bytes], width: int = 2) -> np.ndarray:
    """The rows of a grouped partition's packed payloads, counted as received."""
    rows = unpack_rows(payloads, width)
    _received.inc(len(rows))
    return rows


_FLUSH_PAIRS = 1 << 20  # 16 MB of pairs: a bundle of any size holds at most this many


class _PairBuffer:
    """(band key, node) pairs of one bundle, kept as arrays and cut into band partitions: the shuffle
    gets a packed element per partition and bundle (or per `_FLUSH_PAIRS`), not one per band of
    every document, which a job-service runner would pass through its JVM one by one."""

    def __init__(self, partitions: int) -> None:
        self._partitions = partitions
        self._pairs: list[np.ndarray] = []
        self._size = 0

    def add(self, keys: Sequence[int], node: int) -> bool:
        """Buffer a node's band keys; True when the buffer should be flushed."""
        pairs = np.empty((len(keys), 2), dtype=np.int64)
        pairs[:, 0] = keys
        pairs[:, 1] = node
        self._pairs.append(pairs)
        self._size += len(keys)
        return self._size >= _FLUSH_PAIRS

    def flush(self) -> Iterator[tuple[int, bytes]]:
        """(partition, packed pairs) for every partition the buffered pairs fall in; empties the buffer."""
        if not self._pairs:
            return
        pairs = np.concatenate(self._pairs)
        self._pairs, self._size = [], 0
        yield from _send(pairs, self._partitions)


class _BandKeysFn(beam.DoFn):
    """Document -> (node, Document) (main), and the (band key, node) pairs of every band of the
    documents' MinHash signatures, packed per band partition (BANDS_TAG). The node is the
    document's exact-text key, or its own key with `exact` off."""

    BANDS_TAG = "bands"

    def __init__(self, config: DedupConfig, bands: int, rows: int) -> None:
        self._config = config
        self._bands = bands
        self._rows = rows

    def setup(self) -> None:
        self._hasher = MinHasher(self._config.num_perm, self._config.ngram, self._config.seed)
        self._inc = get_counter_inc_fn()

    def start_bundle(self) -> None:
        self._buffer = _PairBuffer(self._config.shuffle_partitions)

    @guarded("minhash")
    def process(self, doc: Document) -> Iterator[object]:
        node = exact_key(doc.text) if self._config.exact else doc.doc_key
        shingles = self._hasher.shingle_hashes(doc.text)
        # Every key before any output: a document this fails on must leave no pair in the buffer.
        keys = band_keys(self._hasher.signature(shingles), self._bands, self._rows) if shingles.size else []
        yield node, doc
        if not keys:
            self._inc("dedup:no-shingles")
        elif self._buffer.add(keys, node):
            for part in self._buffer.flush():
                yield beam.pvalue.TaggedOutput(self.BANDS_TAG, part)

    def finish_bundle(self) -> Iterator[object]:
        for part in self._buffer.flush():
            yield beam.pvalue.TaggedOutput(self.BANDS_TAG, GlobalWindows.windowed_value(part))


class _PriorBandsFn(beam.DoFn):
    """(node, PriorDoc) of an earlier run -> its stored band keys, packed as `_BandKeysFn` packs."""

    def __init__(self, partitions: int) -> None:
        self._partitions = partitions

    def start_bundle(self) -> None:
        self._buffer = _PairBuffer(self._partitions)

    def process(self, element: tuple[int, PriorDoc]) -> Iterator[tuple[int, bytes]]:
        node, prior = element
        if prior.band_keys and self._buffer.add(prior.band_keys, node):
            yield from self._buffer.flush()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for part in self._buffer.flush():
            yield GlobalWindows.windowed_value(part)


def _partition_edges(element: tuple[int, Iterable[bytes]]) -> Iterator[bytes]:
    """(band partition, packed pairs) -> the packed star edges of every bucket in the partition."""
    edges = partition_star_edges(_received_rows(element[1]))
    _count("dedup:candidate-links", len(edges))
    if len(edges):
        yield pack_rows(edges)


class BucketEdges(beam.PTransform):
    """(band partition, packed (band key, node) pairs) -> packed undirected edges that connect every
    LSH bucket: a star to its smallest node (k-1 edges per bucket of k nodes, each distinct edge
    once per partition).

    A partition holds whole buckets, as int64 arrays sorted in one go: a hot bucket (a template on
    a million pages) costs 16 bytes a page there, not a Python object per page on one worker.
    """

    def expand(self, band_pairs: beam.PCollection) -> beam.PCollection:
        return band_pairs | "GroupBandPartitions" >> beam.GroupByKey() | "BucketStars" >> beam.FlatMap(_partition_edges)


def _first_links(payload: bytes, partitions: int) -> Iterator[tuple[int, bytes]]:
    """Packed edges -> both directions of each, by the partition of their first node."""
    return _send(both_directions(unpack_rows([payload])), partitions)


def _large_star(element: tuple[int, Iterable[bytes]], partitions: int) -> Iterator[tuple[int, bytes]]:
    """A partition of (node, neighbour) rows -> large-star edges (larger, smaller) by the larger end."""
    return _send(large_star(_received_rows(element[1])), partitions)


def _small_star(element: tuple[int, Iterable[bytes]], partitions: int, last: bool) -> Iterator[tuple[int, bytes]]:
    """A partition of (larger, smaller) rows -> small-star edges, in both directions for the next
    round, or as star links by both ends for the convergence check after the last round."""
    edges = small_star(_received_rows(element[1]))
    return _send(star_links(edges) if last else both_directions(edges), partitions)


class _LocalRootsFn(beam.DoFn):
    """A partition of star links -> (node's local root, node) rows packed by the partition of the
    root (main), and the edges of its nodes that are not yet in a star, packed under one key
    (UNCONVERGED_TAG)."""

    UNCONVERGED_TAG = "unconverged"

    def __init__(self, partitions: int) -> None:
        self._partitions = partitions

    def process(self, element: tuple[int, Iterable[bytes]]) -> Iterator[object]:
        roots, unconverged = local_components(_received_rows(element[1], width=3))
        yield from _send(roots[:, ::-1], self._partitions)
        if len(unconverged):
            _count("dedup:unconverged-edges", len(unconverged))
            for part in _send(unconverged, 1):
                yield beam.pvalue.TaggedOutput(self.UNCONVERGED_TAG, part)


def _finish_on_one_worker(
    element: tuple[int, Iterable[bytes]], rounds: int, partitions: int
) -> Iterator[tuple[int, tuple[bytes]]]:
    """All edges of the nodes the rounds left outside a star -> (node, component) rows of their
    components, packed by the partition of the node, each payload in a 1-tuple: `_assign` tells them
    from the local roots' payloads (bytes) by type."""
    edges = _received_rows(element[1])
    roots = min_components(edges)
    logger.info(
        "connected components: %d edges of %d nodes not in a star after dedup.cc_rounds=%d rounds, finished on one worker",
        len(edges),
        len(roots),
        rounds,
    )
    return ((part, (payload,)) for part, payload in _send(roots, partitions))


def _assign(element: tuple[int, Iterable[bytes | tuple[bytes]]]) -> Iterator[tuple[int, int]]:
    """A partition of (local root, node) rows (bytes) and of finished (node, component) rows (in
    1-tuples) -> (node, component) per node, counted as sent into the join with the documents."""
    members, finished = [], []
    for payload in element[1]:
        if isinstance(payload, tuple):
            finished.append(payload[0])
        else:
            members.append(payload)
    components = resolve_roots(_received_rows(members), _received_rows(finished))
    _sent.inc(len(components))
    return map(tuple, components.tolist())


class ConnectedComponents(beam.PTransform):
    """Packed undirected edges (int64 (a, b) rows as bytes) -> (node, component) for every node on
    an edge.

    The component id is the smallest node key of the component, so it does not depend on the
    runner, the worker count, the input order or the number of rounds. Rounds are unrolled in the
    graph (Beam batch graphs are static); each step groups packed partitions of nodes, so a step
    is a few shuffle elements per partition whatever the edge count. After the last round, each
    node's root is read off its star; the edges of nodes not yet in a star (long chains need more
    rounds) are finished on one worker and their roots joined back, so too few rounds cost time on
    one worker, never a wrong component or a failed run.
    """

    def __init__(self, rounds: int, partitions: int) -> None:
        super().__init__()
        self._rounds = rounds
        self._partitions = partitions

    def expand(self, edges: beam.PCollection) -> beam.PCollection:
        parts = self._partitions
        links = edges | "LargeStarEdges" >> beam.FlatMap(_first_links, parts)
        for i in range(self._rounds):
            last = i == self._rounds - 1
            links = (
                links
                | f"LargeStarGroup{i}" >> beam.GroupByKey()
                | f"LargeStar{i}" >> beam.FlatMap(_large_star, parts)
                | f"SmallStarGroup{i}" >> beam.GroupByKey()
                | f"SmallStar{i}" >> beam.FlatMap(_small_star, parts, last)
            )
        local = (
            links
            | "GroupStarLinks" >> beam.GroupByKey()
            | "LocalRoots" >> beam.ParDo(_LocalRootsFn(parts)).with_outputs(_LocalRootsFn.UNCONVERGED_TAG, main="members")
        )
        finished = (
            local[_LocalRootsFn.UNCONVERGED_TAG]
            | "GroupUnconverged" >> beam.GroupByKey()
            | "FinishOnOneWorker" >> beam.FlatMap(_finish_on_one_worker, self._rounds, parts)
        )
        # A Flatten and a GroupByKey, the payloads told apart by type, not a CoGroupByKey (a tagging
        # step per input and one to collect: three steps, each a few ms of every run's start-up).
        return (
            (local.members, finished)
            | "RootValues" >> beam.Flatten()
            | "JoinRoots" >> beam.GroupByKey()
            | "AssignComponents" >> beam.FlatMap(_assign)
        )


class JoinComponents(beam.PTransform):
    """{"docs": (node, Document), "component": (node, component id)[, "prior": (node, PriorDoc)]} ->
    (node, the Documents, PriorDocs and component id at it, in any order; `node_values` sorts them).

    One GroupByKey over the values, told apart by their type: a CoGroupByKey would wrap every value
    in a tuple with its tag on its way in and build a dict of lists per node on its way out, for each
    of the run's documents.
    """

    def expand(self, keyed: dict[str, beam.PCollection]) -> beam.PCollection:
        return tuple(keyed.values()) | "AllNodeValues" >> beam.Flatten() | "GroupNodes" >> beam.GroupByKey()


def node_values(values: Iterable[object]) -> tuple[list[Document], list[PriorDoc], list[int]]:
    """A node's grouped values (`JoinComponents`) -> its documents, earlier runs' documents and
    component ids (at most one; the ids are counted as received)."""
    docs, priors, components = [], [], []
    for value in values:
        if isinstance(value, Document):
            docs.append(value)
        elif isinstance(value, PriorDoc):
            priors.append(value)
        else:
            components.append(value)
    _received.inc(len(components))
    return docs, priors, components


class _ResolveNodeFn(beam.DoFn):
    """Joined node -> finished Documents (no component) or (component, Unit) for the split."""

    def __init__(self, keep: str, exact: bool) -> None:
        self._keep = keep
        self._exact = exact  # the node is then the texts' exact_key

    def setup(self) -> None:
        self._inc = get_counter_inc_fn()

    @guarded("exact_duplicates", lambda element: element[1])
    def process(self, element: tuple[int, Iterable[object]]) -> list[object]:
        node, values = element
        docs, priors, components = node_values(values)
        # Equal texts kept by several earlier runs (a backfill): the oldest leads.
        prior = min(priors, key=prior_rank) if priors else None
        if not docs and not (prior and components):
            return []  # an earlier document with nothing of this run near it
        unit = group_exact(docs, self._keep, prior, node if self._exact else None)
        if unit.copies:
            self._inc("dedup:exact-duplicates", len(unit.copies))
        if components:
            _sent.inc()
            return [beam.pvalue.TaggedOutput("in_component", (components[0], unit))]
        return list(_emit_cluster([(unit, 1.0, 1.0)]))


def _emit_cluster(members: list[Member]) -> Iterator[object]:
    docs, row = finalize_cluster(members)
    yield from docs
    if row is not None:
        yield beam.pvalue.TaggedOutput(CLUSTERS_TAG, row)


def _unit_documents(element: tuple[int, Iterable[Unit]]) -> list[Document]:
    return [doc for unit in element[1] for doc in (unit.doc, *unit.copies) if doc is not None]


class _SplitComponentFn(beam.DoFn):
    """(component, Units) -> finished Documents of its verified clusters, and cluster rows."""

    def __init__(self, config: DedupConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._hasher = MinHasher(self._config.num_perm, self._config.ngram, self._config.seed)
        self._inc = get_counter_inc_fn()

    @guarded("near_duplicates", _unit_documents)
    def process(self, element: tuple[int, Iterable[Unit]]) -> Iterator[object]:
        clusters = split_component(_received_list(element[1]), self._hasher, self._config)
        self._inc("dedup:candidate-components")
        for members in clusters:
            if len(members) > 1:
                self._inc("dedup:near-duplicate-clusters")
            yield from _emit_cluster(members)


def _nothing(_: Document) -> list[dict]:
    return []


class _SingletonFn(beam.DoFn):
    """Dedup disabled: every document is its own cluster."""

    def process(self, doc: Document) -> Iterator[Document]:
        yield doc.replace(cluster_id=cluster_key(doc), cluster_size=1)


def _key_prior(prior: PriorDoc, exact: bool) -> tuple[int, PriorDoc]:
    return prior_node(prior, exact), prior


class DeduplicateDocuments(beam.PTransform):
    """Documents -> the same Documents with cluster fields set (main) and `clusters` rows.

    Every input document comes out exactly once; duplicates are marked, never dropped here, so
    the output keeps all of them and a user filters on `is_duplicate`. The input is a PCollection
    of Documents, or {"documents": ..., "prior": PriorDocs of earlier runs} in incremental mode.
    """

    def __init__(self, config: DedupConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, inputs: beam.PCollection | dict) -> beam.pvalue.DoOutputsTuple | dict:
        config = self._config
        docs, prior = (inputs["documents"], inputs.get("prior")) if isinstance(inputs, dict) else (inputs, None)
        if not config.enabled:
            singles = docs | "NoDedup" >> beam.ParDo(_SingletonFn())
            empty = docs | "NoClusters" >> beam.FlatMap(_nothing)
            return {"documents": singles, CLUSTERS_TAG: empty, REJECTED_TAG: docs | "NoRejected" >> beam.FlatMap(_nothing)}
        bands, rows = resolve_lsh(config)
        logger.info("LSH: %d bands x %d rows for threshold %.3f", bands, rows, candidate_threshold(config))
        hashed = docs | "BandKeys" >> beam.ParDo(_BandKeysFn(config, bands, rows)).with_outputs(
            _BandKeysFn.BANDS_TAG, REJECTED_TAG, main="keyed"
        )
        band_nodes = hashed[_BandKeysFn.BANDS_TAG]
        joined = {"docs": hashed.keyed}
        if prior is not None:
            prior_keyed = prior | "PriorNode" >> beam.Map(_key_prior, config.exact)
            band_nodes = (
                band_nodes,
                prior_keyed | "PriorBandKeys" >> beam.ParDo(_PriorBandsFn(config.shuffle_partitions)),
            ) | "AllBandKeys" >> beam.Flatten()
            joined["prior"] = prior_keyed
        joined["component"] = (
            band_nodes
            | "BucketEdges" >> BucketEdges()
            | "ConnectedComponents" >> ConnectedComponents(config.cc_rounds, config.shuffle_partitions)
        )
        resolved = (
            joined
            | "JoinComponents" >> JoinComponents()
            | "ResolveNodes"
            >> beam.ParDo(_ResolveNodeFn(config.keep, config.exact)).with_outputs(
                "in_component", CLUSTERS_TAG, REJECTED_TAG, main="documents"
            )
        )
        split = (
            resolved.in_component
            | "GroupComponents" >> beam.GroupByKey()
            | "SplitComponents"
            >> beam.ParDo(_SplitComponentFn(config)).with_outputs(CLUSTERS_TAG, REJECTED_TAG, main="documents")
        )
        documents = (resolved.documents, split.documents) | "AllDocuments" >> beam.Flatten()
        clusters = (resolved[CLUSTERS_TAG], split[CLUSTERS_TAG]) | "AllClusters" >> beam.Flatten()
        rejected = (hashed[REJECTED_TAG], resolved[REJECTED_TAG], split[REJECTED_TAG]) | "AllDedupRejected" >> beam.Flatten()
        return {"documents": documents, CLUSTERS_TAG: clusters, REJECTED_TAG: rejected}


class _IndexRowFn(beam.DoFn):
    """A kept (not duplicate) finished Document -> its `index/` row."""

    def __init__(self, config: DedupConfig, run_date: str) -> None:
        self._config = config
        self._run_date = run_date

    def setup(self) -> None:
        self._hasher = MinHasher(self._config.num_perm, self._config.ngram, self._config.seed)
        self._bands, self._rows = resolve_lsh(self._config)
        self._with_shingles = self._config.verify == "exact"  # exact verification needs them later

    def process(self, doc: Document) -> Iterator[dict[str, object]]:
        if doc.is_duplicate:
            return
        shingles = self._hasher.shingle_hashes(doc.text)
        signature = self._hasher.signature(shingles)
        # A text without shingles gets no band keys (as in the run itself): it can match only exactly.
        bands = self._bands if shingles.size else 0
        yield index_row(doc, exact_key(doc.text), shingles, signature, bands, self._rows, self._run_date, self._with_shingles)


class IndexKeptDocuments(beam.PTransform):
    """Finished Documents -> `index/` rows of those this run keeps, for later incremental runs."""

    def __init__(self, config: DedupConfig, run_date: str) -> None:
        super().__init__()
        self._config = config
        self._run_date = run_date

    def expand(self, documents: beam.PCollection) -> beam.PCollection:
        return documents | "IndexRows" >> beam.ParDo(_IndexRowFn(self._config, self._run_date))
