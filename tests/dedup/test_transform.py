"""Tier 2: the dedup stage's composites with TestPipeline + assert_that."""

from collections.abc import Iterable

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.util import assert_that, equal_to

from tests.dedup.test_components import edge_array, union_find
from transforms.config import DedupConfig
from transforms.dedup.components import pack_rows, unpack_rows
from transforms.dedup.decide import cluster_key
from transforms.dedup.index import PriorDoc
from transforms.dedup.transform import (
    CLUSTERS_TAG,
    BucketEdges,
    ConnectedComponents,
    DeduplicateDocuments,
    JoinComponents,
    node_values,
)
from transforms.records import Document


def test_connected_components_assign_the_component_minimum(test_pipeline):
    edges = [(5, 3), (3, 9), (9, 12), (12, 40), (40, 41), (7, 8), (-2, 100)]
    expected = union_find({n for e in edges for n in e}, edges)
    with test_pipeline as p:
        # edges packed as they leave BucketEdges, in two payloads
        payloads = [pack_rows(edge_array(edges[:3])), pack_rows(edge_array(edges[3:]))]
        result = p | beam.Create(payloads) | ConnectedComponents(rounds=6, partitions=3)
        assert_that(result, equal_to(sorted(expected.items())))


def test_connected_components_finish_on_one_worker_what_too_few_rounds_leave(test_pipeline):
    chain = list(range(64, 0, -1))  # a path: one round leaves most of it outside a star
    edges = list(zip(chain, chain[1:])) + [(100, 90), (90, 95)]
    expected = union_find({n for e in edges for n in e}, edges)
    with test_pipeline as p:
        result = p | beam.Create([pack_rows(edge_array(edges))]) | ConnectedComponents(rounds=1, partitions=3)
        assert_that(result, equal_to(sorted(expected.items())))


def doc(key: int, text: str, doc_id: str) -> Document:
    return Document(doc_key=key, id=doc_id, source="mem", record=key, text=text, n_words=len(text.split()))


def _sorted_node(element: tuple[int, Iterable[object]]) -> tuple[int, list[str], list[str], list[int]]:
    node, values = element
    docs, priors, components = node_values(values)
    return node, sorted(d.id for d in docs), sorted(p.id for p in priors), components


def test_join_components_gives_each_node_its_documents_earlier_documents_and_component(test_pipeline):
    prior = PriorDoc("earlier", 9, 9, "2026-12-01", 40, 1, (), np.zeros(4, dtype=np.uint32), None)
    docs = [(10, doc(1, "a", "one")), (10, doc(2, "a", "copy")), (20, doc(3, "b", "alone")), (30, doc(4, "c", "linked"))]
    with test_pipeline as p:
        joined = {
            "docs": p | "Docs" >> beam.Create(docs),
            "component": p | "Components" >> beam.Create([(30, 10), (10, 10), (40, 10)]),
            "prior": p | "Prior" >> beam.Create([(40, prior)]),
        } | JoinComponents()
        assert_that(
            joined | beam.Map(_sorted_node),
            equal_to(
                [
                    (10, ["copy", "one"], [], [10]),
                    (20, ["alone"], [], []),
                    (30, ["linked"], [], [10]),
                    (40, [], ["earlier"], [10]),
                ]
            ),
        )


WORDS = [f"w{i}" for i in range(3000)]


def words(start: int, stop: int) -> str:
    return " ".join(WORDS[start:stop])


def test_deduplicate_marks_exact_and_near_duplicates(test_pipeline):
    base = words(0, 300)
    near = words(0, 150) + " changed " + words(151, 300)
    docs = [
        doc(1, base, "orig"),
        doc(2, base.upper(), "exact-copy"),  # same normalised text
        doc(3, near, "near-copy"),
        doc(4, words(1000, 1300), "other"),
        doc(5, "", "empty"),
    ]
    config = DedupConfig(threshold=0.8, containment=0.0, keep="min_id")
    with test_pipeline as p:
        out = p | beam.Create(docs) | DeduplicateDocuments(config)
        rows = out["documents"] | beam.Map(lambda d: (d.id, d.cluster_size, d.is_duplicate, d.duplicate_of))
        assert_that(
            rows,
            equal_to(
                [
                    ("exact-copy", 3, False, None),  # min_id: "exact-copy" < "near-copy" < "orig"
                    ("near-copy", 3, True, "exact-copy"),
                    ("orig", 3, True, "exact-copy"),
                    ("other", 1, False, None),
                    ("empty", 1, False, None),
                ]
            ),
            label="documents",
        )
        sizes = out[CLUSTERS_TAG] | beam.Map(lambda r: (r["representative_id"], r["size"], sorted(r["member_ids"])))
        assert_that(sizes, equal_to([("exact-copy", 3, ["exact-copy", "near-copy", "orig"])]), label="clusters")


def test_dedup_disabled_keeps_every_document_single(test_pipeline):
    docs = [doc(1, "same text", "a"), doc(2, "same text", "b")]
    with test_pipeline as p:
        out = p | beam.Create(docs) | DeduplicateDocuments(DedupConfig(enabled=False))
        assert_that(
            out["documents"] | beam.Map(lambda d: (d.id, d.cluster_id, d.cluster_size, d.is_duplicate)),
            equal_to([("a", cluster_key(docs[0]), 1, False), ("b", cluster_key(docs[1]), 1, False)]),
        )


@pytest.mark.parametrize("partitions", [1, 3])
def test_bucket_edges_span_each_bucket_with_k_minus_1_edges(test_pipeline, partitions):
    from transforms.dedup.transform import _PairBuffer

    hot = [(77, node) for node in range(-500, 500)]  # one hot bucket of 1,000 nodes
    small = [(5, 3), (5, 9), (6, 9), (6, 40), (8, 1000), (5, 3)]  # 5 and 6 share node 9; 8 is a singleton
    expected_components = union_find({n for _, n in hot + small}, [(-500, n) for _, n in hot] + [(3, 9), (9, 40)])
    packed = []
    for start in range(0, len(hot + small), 100):  # as bundles of 100 pairs would send them
        buffer = _PairBuffer(partitions)
        for key, node in (hot + small)[start : start + 100]:
            buffer.add([key], node)
        packed += list(buffer.flush())
    assert {part for part, _ in packed} == {key % partitions for key in (77, 5, 6, 8)}
    with test_pipeline as p:
        edges = p | beam.Create(packed) | BucketEdges()
        edge_rows = edges | "Edges" >> beam.FlatMap(lambda payload: map(tuple, unpack_rows([payload]).tolist()))
        assert_that(edge_rows | "Count" >> beam.combiners.Count.Globally(), equal_to([999 + 1 + 1]), label="KMinus1")
        components = edges | ConnectedComponents(rounds=6, partitions=partitions)
        expected = sorted((n, c) for n, c in expected_components.items() if n != 1000)
        assert_that(components, equal_to(expected), label="Components")


def test_a_chain_of_near_duplicates_does_not_merge_its_unrelated_ends(test_pipeline):
    # J(A,B) ~ J(B,C) ~ 0.82 >= 0.8, J(A,C) ~ 0.67: one candidate component, two clusters.
    docs = [doc(1, words(0, 200) + " end", "A"), doc(2, words(20, 220), "B"), doc(3, words(40, 240), "C")]
    config = DedupConfig(threshold=0.8, containment=0.0, keep="longest")
    with test_pipeline as p:
        out = p | beam.Create(docs) | DeduplicateDocuments(config)
        rows = out["documents"] | beam.Map(lambda d: (d.id, d.cluster_size, d.duplicate_of))
        assert_that(rows, equal_to([("A", 2, None), ("B", 2, "A"), ("C", 1, None)]))


def test_a_copy_that_lost_a_quarter_of_the_article_joins_it_by_containment(test_pipeline):
    # 75% of the article: Jaccard ~0.75 < 0.8, but every shingle of the copy is in the article.
    article, copy = doc(1, words(0, 400), "article"), doc(2, words(0, 300), "truncated")
    with test_pipeline as p:
        out = p | beam.Create([article, copy]) | DeduplicateDocuments(DedupConfig(threshold=0.8, containment=0.9))
        rows = out[CLUSTERS_TAG] | beam.Map(
            lambda r: (r["member_ids"], [round(x, 2) for x in r["similarities"]], r["containments"])
        )
        assert_that(rows, equal_to([(["article", "truncated"], [1.0, 0.75], [1.0, 1.0])]))
