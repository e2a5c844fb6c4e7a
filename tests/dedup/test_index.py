"""The index of incremental runs: its rows round-trip, its parameters must match, and an earlier
run's document leads the clusters it is in and is never a member."""

from __future__ import annotations

import json

import numpy as np

from tests.dedup.test_components import make_doc, words
from transforms.config import DedupConfig
from transforms.dedup.decide import Unit, exact_key, finalize_cluster, group_exact, split_component
from transforms.dedup.index import index_params, index_row, params_problem, prior_from_row
from transforms.dedup.minhash import MinHasher

HASHER = MinHasher(128, 5, 1)


def prior_of(doc, run_date="2026-11-01", with_shingles=True, cluster_id=None):
    shingles = HASHER.shingle_hashes(doc.text)
    kept = doc.replace(cluster_id=cluster_id if cluster_id is not None else doc.doc_key)
    row = index_row(kept, exact_key(doc.text), shingles, HASHER.signature(shingles), 9, 13, run_date, with_shingles)
    return prior_from_row(row)


def test_index_row_round_trip_keeps_signature_and_shingles():
    doc = make_doc(7, words(0, 300), "earlier")
    prior = prior_of(doc, cluster_id=42)
    shingles = HASHER.shingle_hashes(doc.text)
    assert prior.id == "earlier" and prior.cluster_id == 42 and prior.n_shingles == shingles.size
    assert np.array_equal(prior.shingles, shingles) and np.array_equal(prior.signature, HASHER.signature(shingles))
    assert len(prior.band_keys) == 9 and prior.text_key == exact_key(doc.text)
    assert prior_of(doc, with_shingles=False).shingles is None


def test_index_parameters_must_match():
    expected = index_params(DedupConfig(), 9, 13)
    assert params_problem(json.dumps(expected).encode(), expected) is None
    problem = params_problem(json.dumps({**expected, "num_perm": 64}).encode(), expected)
    assert "num_perm=64 (this run: 128)" in problem
    assert "not a corpusbeam index" in params_problem(None, expected)


def test_an_index_of_another_text_hashing_scheme_is_refused():
    expected = index_params(DedupConfig(), 9, 13)
    older = {key: value for key, value in expected.items() if key != "scheme"}  # written before schemes were recorded
    assert "scheme 1" in params_problem(json.dumps(older).encode(), expected)
    assert f"scheme {expected['scheme']}" in params_problem(json.dumps(older).encode(), expected)
    assert "scheme 7" in params_problem(json.dumps({**expected, "scheme": 7}).encode(), expected)


def test_earlier_document_leads_and_is_never_a_member():
    config = DedupConfig(threshold=0.8, containment=0.0)
    earlier = prior_of(make_doc(1, words(0, 300), "old"))
    # Longer than the earlier document, so it would be kept in a single run; here it is the repeat.
    longer = Unit(make_doc(2, words(0, 300) + " " + words(600, 620), "new-long"))
    unrelated = Unit(make_doc(3, words(300, 600), "new-other"))
    clusters = split_component([longer, unrelated, Unit(None, (), earlier)], HASHER, config)
    assert len(clusters) == 2
    led = next(c for c in clusters if c[0][0].prior is not None)
    assert [m[0].doc.id for m in led[1:]] == ["new-long"] and led[1][1] >= 0.8
    docs, row = finalize_cluster(led)
    assert [d.id for d in docs] == ["new-long"]  # the earlier document is not written again
    assert docs[0].is_duplicate and docs[0].duplicate_of == "old" and docs[0].duplicate_of_key == 1
    assert docs[0].cluster_id == earlier.cluster_id and docs[0].cluster_size == 2
    assert row["representative_id"] == "old" and row["representative_run_date"] == "2026-11-01"
    assert row["member_ids"] == ["old", "new-long"] and row["size"] == 2


def test_earlier_documents_do_not_absorb_each_other_and_alone_emit_nothing():
    config = DedupConfig(threshold=0.8, containment=0.0)
    a = prior_of(make_doc(1, words(0, 300), "old-a"))
    b = prior_of(make_doc(2, words(0, 290) + " " + words(700, 710), "old-b"), run_date="2026-11-02")
    assert split_component([Unit(None, (), b), Unit(None, (), a)], HASHER, config) == []
    # A new copy between them joins the oldest.
    new = Unit(make_doc(3, words(0, 300), "new"))
    clusters = split_component([Unit(None, (), b), new, Unit(None, (), a)], HASHER, config)
    assert [[m[0].prior.id if m[0].prior else m[0].doc.id for m in c] for c in clusters] == [["old-a", "new"]]


def test_exact_copies_of_an_earlier_document_are_its_duplicates():
    earlier = prior_of(make_doc(1, words(0, 300), "old"))
    copies = [make_doc(5, words(0, 300), "copy-b"), make_doc(4, words(0, 300), "copy-a")]
    unit = group_exact(copies, "longest", earlier)
    assert unit.doc is None and unit.prior is earlier and len(unit.copies) == 2
    docs, row = finalize_cluster([(unit, 1.0, 1.0)])
    assert {d.id: d.duplicate_of for d in docs} == {"copy-a": "old", "copy-b": "old"}
    assert row["size"] == 3 and {d.similarity for d in docs} == {1.0}


def test_verification_against_an_earlier_document_is_exact():
    base = words(20, 420)
    near = words(20, 380) + " " + words(800, 850)
    shingles = HASHER.shingle_hashes(base), HASHER.shingle_hashes(near)
    inter = np.intersect1d(*shingles).size
    jaccard = inter / (shingles[0].size + shingles[1].size - inter)
    estimate = (HASHER.signature(shingles[0]) == HASHER.signature(shingles[1])).mean()
    assert jaccard < 0.8 <= estimate  # the signatures alone would call them duplicates
    earlier = prior_of(make_doc(1, base, "old"))
    new = Unit(make_doc(2, near, "new"))
    exact = DedupConfig(threshold=0.8, containment=0.0, verify="exact")
    clusters = split_component([Unit(None, (), earlier), new], HASHER, exact)
    assert [len(c) for c in clusters] == [1] and clusters[0][0][0].doc.id == "new"
    estimated = DedupConfig(threshold=0.8, containment=0.0, verify="estimate")
    clusters = split_component([Unit(None, (), prior_of(make_doc(1, base, "old"), with_shingles=False)), new], HASHER, estimated)
    assert [len(c) for c in clusters] == [2]
