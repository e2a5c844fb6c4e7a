import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.config import DedupConfig
from transforms.dedup import decide
from transforms.dedup.components import (
    both_directions,
    large_star,
    local_components,
    min_components,
    pack_rows,
    partition_of,
    partition_star_edges,
    resolve_roots,
    small_star,
    split_partitions,
    star_links,
    unique_rows,
    unpack_rows,
)
from transforms.dedup.decide import Unit, cluster_key, exact_key, finalize_cluster, group_exact, rank_key, split_component
from transforms.dedup.minhash import MinHasher, containment_from_jaccard, exact_jaccard
from transforms.records import Document
from transforms.tokens import TEXT_SEED, shared_hasher


def edge_array(edges):
    return np.array(list(edges), dtype=np.int64).reshape(-1, 2)


def run_rounds(edges, rounds=20, partitions=3):
    """The Beam rounds of ConnectedComponents, simulated: every step runs per partition."""

    def step(rows, fn):
        return np.concatenate([fn(part) for _, part in split_partitions(rows, partitions)] or [edge_array([])])

    rows = both_directions(edge_array(edges))
    for _ in range(rounds):
        rows = both_directions(step(step(rows, large_star), small_star))
    return rows[: len(rows) // 2]  # the (child, parent) half


def union_find(nodes, edges):
    parent = {n: n for n in nodes}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in nodes}


@given(
    st.lists(st.tuples(st.integers(-3, 3), st.integers(-(2**63), 2**63 - 1), st.integers(0, 1)), max_size=40),
    st.integers(1, 3),
)
def test_unique_rows_is_numpys_unique_of_rows(rows, width):
    """Repeated rows, few first-column values and the int64 extremes: distinct rows in numpy's order."""
    array = np.array([row[:width] for row in rows], dtype=np.int64).reshape(-1, width)
    got = unique_rows(array)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.unique(array, axis=0))


def test_each_bucket_of_a_partition_is_a_star_to_its_minimum():
    pairs = np.array([(1, 5), (1, 3), (1, 9), (1, 3), (2, 4), (2, 4), (7, 9), (7, 3), (8, 11)], dtype=np.int64)
    # bucket 1: 5 and 9 to 3; bucket 2 holds one node; bucket 7 repeats the edge (9, 3); 8 is a singleton
    assert partition_star_edges(pairs).tolist() == [[5, 3], [9, 3]]
    assert partition_star_edges(pairs[:1]).shape == (0, 2)


@pytest.mark.parametrize("seed", range(3))
def test_packed_partitions_give_the_stars_of_their_buckets(seed):
    rng = np.random.default_rng(seed)
    keys = rng.choice(rng.integers(-(2**63), 2**63 - 1, 400, dtype=np.int64), 2000)
    nodes = rng.integers(-(2**63), 2**63 - 1, 2000, dtype=np.int64)
    pairs = np.stack([keys, nodes], axis=1)
    expected = set()
    for key in set(keys.tolist()):
        members = sorted(set(nodes[keys == key].tolist()))
        expected |= {(node, members[0]) for node in members[1:]}
    parts = split_partitions(pairs, 7)
    assert [part for part, _ in parts] == sorted(set(partition_of(keys, 7).tolist()))
    assert all(set(partition_of(rows[:, 0], 7).tolist()) == {part} for part, rows in parts)
    got = [tuple(edge) for _, rows in parts for edge in partition_star_edges(unpack_rows([pack_rows(rows)])).tolist()]
    assert len(got) == len(expected) and set(got) == expected


def test_star_steps_match_their_definition():
    # node 5's neighbours 3, 9, 12: the larger ones hang off min(5, 3) = 3; 3 itself is smaller
    assert large_star(both_directions(edge_array([(5, 3), (5, 9), (5, 12), (5, 5)]))).tolist() == [[5, 3], [9, 3], [12, 3]]
    # node 9's smaller neighbours 5 and 3: 9 and 5 hang off 3; node 4 has none smaller
    assert small_star(edge_array([(9, 5), (9, 3), (4, 7)])).tolist() == [[5, 3], [9, 3]]


def components_after(edges, rounds, partitions=3):
    """ConnectedComponents' steps after its rounds, simulated per partition: local roots, the
    unconverged edges finished together, the roots joined back by the partition of the local root."""
    links = star_links(run_rounds(edges, rounds, partitions))
    members, unconverged = [], []
    for _, part in split_partitions(links, partitions):
        roots, edges_left = local_components(part)
        members.append(roots[:, ::-1])
        unconverged.append(edges_left)
    finished = min_components(np.concatenate(unconverged))
    got = {}
    for part, rows in split_partitions(np.concatenate(members), partitions):
        roots = finished[finished[:, 0] % partitions == part]
        got |= dict(resolve_roots(rows, roots).tolist())
    return got, sum(map(len, unconverged))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("rounds", [1, 2, 3, 20])
def test_any_number_of_rounds_finds_the_components_of_random_graphs(seed, rounds):
    rng = random.Random(seed)
    nodes = rng.sample(range(-10_000, 10_000), 300)
    edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(250)]
    edges = [(a, b) for a, b in edges if a != b]
    chain = nodes[:60]  # a long path needs several rounds
    edges += list(zip(chain, chain[1:]))
    got, unconverged = components_after(edges, rounds)
    touched = {n for e in edges for n in e}
    assert got == union_find(touched, edges)
    if rounds == 20:
        assert unconverged == 0  # enough rounds: nothing is left for one worker
    if rounds == 1:
        assert unconverged > 0  # the chain is not a star after one round: the fallback is exercised


def test_local_roots_are_read_off_stars_and_other_nodes_give_their_edges():
    roots, left = local_components(star_links(edge_array([(5, 1), (6, 1)])))
    assert roots.tolist() == [[1, 1], [5, 1], [6, 1]] and left.shape == (0, 2)
    roots, left = local_components(star_links(edge_array([(5, 1), (5, 2)])))  # 5 has two parents
    assert roots.tolist() == [[1, 1], [2, 2], [5, 5]] and left.tolist() == [[5, 1], [5, 2]]
    roots, left = local_components(star_links(edge_array([(3, 1), (7, 3)])))  # 3 has a parent and a child
    assert roots.tolist() == [[1, 1], [3, 3], [7, 3]] and left.tolist() == [[3, 1], [3, 7]]
    assert resolve_roots(roots[:, ::-1], min_components(left)).tolist() == [[1, 1], [3, 1], [7, 1]]


@pytest.mark.parametrize("seed", range(3))
def test_min_components_roots_every_node_at_its_smallest(seed):
    rng = np.random.default_rng(seed)
    nodes = rng.choice(np.arange(-(10**6), 10**6), 500, replace=False)
    edges = nodes[rng.integers(0, 500, (400, 2))]
    chain = np.sort(nodes[:100])[::-1]  # a path from the largest to the smallest: the worst order to hook
    edges = np.concatenate([edges, np.stack([chain[:-1], chain[1:]], axis=1)])
    got = dict(min_components(edges).tolist())
    assert got == union_find(set(edges.ravel().tolist()), edges.tolist())
    assert min_components(edge_array([])).shape == (0, 2)


def make_doc(key: int, text: str, doc_id: str | None = None) -> Document:
    return Document(doc_key=key, id=doc_id or f"d{key}", source="s", record=key, text=text, n_words=len(text.split()))


WORDS = [f"w{i}" for i in range(1000)]


def words(start: int, stop: int) -> str:
    return " ".join(WORDS[start:stop])


def test_chain_does_not_merge_unrelated_ends():
    # 1-gram sets: A = w0..w99 (+1 word, so it is the longest), B = w50..w149, C = w100..w199.
    # J(A,B) ~ J(B,C) ~ 1/3 >= threshold, J(A,C) = 0: one connected component, but C is not
    # similar to the representative A, so it must not share A's cluster.
    config = DedupConfig(threshold=0.3, ngram=1, containment=0.0, verify="exact", keep="longest")
    units = [
        Unit(make_doc(1, words(0, 100) + " extra", "A")),
        Unit(make_doc(2, words(50, 150), "B")),
        Unit(make_doc(3, words(100, 200), "C")),
    ]
    clusters = split_component(units, MinHasher(128, 1, 1), config)
    assert [sorted(m[0].doc.id for m in c) for c in clusters] == [["A", "B"], ["C"]]


def test_every_member_is_verified_against_the_representative():
    base = words(0, 200)
    near = words(0, 190) + " " + words(500, 510)
    far = words(100, 300)
    config = DedupConfig(threshold=0.8, ngram=3, containment=0.0)
    units = [Unit(make_doc(1, base)), Unit(make_doc(2, near)), Unit(make_doc(3, far))]
    clusters = split_component(units, MinHasher(128, 3, 1), config)
    sizes = sorted(len(c) for c in clusters)
    assert sizes == [1, 2]
    pair = next(c for c in clusters if len(c) == 2)
    assert {m[0].doc.doc_key for m in pair} == {1, 2}
    assert 0.8 <= pair[1][1] < 1.0 and 0.8 <= pair[1][2] < 1.0


def test_containment_joins_a_truncated_copy():
    full = words(0, 300)
    truncated = words(0, 250)  # Jaccard ~0.83 of the shingles, but contained entirely
    config = DedupConfig(threshold=0.9, ngram=5, containment=0.9)
    clusters = split_component([Unit(make_doc(1, full)), Unit(make_doc(2, truncated))], MinHasher(128, 5, 1), config)
    assert len(clusters) == 1
    (_, _, rep_containment), (_, jaccard, containment) = clusters[0]
    assert rep_containment == 1.0 and jaccard < 0.9 and containment > 0.99  # all of it is in the full text
    no_containment = DedupConfig(threshold=0.9, ngram=5, containment=0.0)
    assert (
        len(split_component([Unit(make_doc(1, full)), Unit(make_doc(2, truncated))], MinHasher(128, 5, 1), no_containment)) == 2
    )


@pytest.mark.parametrize("all_pairs_up_to", [16, 0], ids=["pairs-exact", "signatures-first"])
def test_a_member_joined_by_containment_has_its_exact_jaccard(monkeypatch, all_pairs_up_to):
    # A copy of the first 140 words of a 400-word text: Jaccard ~0.34, far under the threshold and
    # the estimate's margin, but all of it is in the longer text. Its recorded Jaccard and
    # containment are exact whether the component compares every pair exactly (small components) or
    # estimates first (signatures-first); before, the second kept the estimate.
    monkeypatch.setattr(decide, "_EXACT_ALL_UNITS", all_pairs_up_to)
    hasher = MinHasher(128, 5, 1)
    full, part = words(0, 400), words(0, 140)
    config = DedupConfig(threshold=0.8, ngram=5, containment=0.9, verify="exact")
    clusters = split_component([Unit(make_doc(1, full)), Unit(make_doc(2, part))], hasher, config)
    assert len(clusters) == 1
    (_, jaccard, containment) = clusters[0][1]
    assert jaccard == exact_jaccard(hasher.shingle_hashes(full), hasher.shingle_hashes(part)) == 136 / 396
    assert containment == pytest.approx(1.0)


@given(
    st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 5000)), max_size=30),
    st.integers(0, 5000),
)
def test_containment_of_a_component_at_once_is_the_pairwise_formula(pairs, lead_size):
    jaccard = np.array([j for j, _ in pairs], dtype=float)
    sizes = np.array([s for _, s in pairs], dtype=np.int64)
    expected = [containment_from_jaccard(j, min(s, lead_size), max(s, lead_size)) for j, s in pairs]
    assert decide._contained(jaccard, lead_size, sizes).tolist() == expected


@pytest.mark.parametrize("all_pairs_up_to", [16, 0], ids=["pairs-exact", "signatures-first"])
def test_containment_is_verified_exactly(monkeypatch, all_pairs_up_to):
    # 100 words of a 400-word text and 12 of another: 89% of the copy's shingles are in the longer
    # text, but the estimate (Jaccard 0.242 for 0.235) puts it at 91%. It is not a member.
    monkeypatch.setattr(decide, "_EXACT_ALL_UNITS", all_pairs_up_to)
    hasher = MinHasher(128, 5, 1)
    full, part = words(0, 400), words(0, 100) + " " + words(600, 612)
    config = DedupConfig(threshold=0.8, ngram=5, containment=0.9, verify="exact")
    assert len(split_component([Unit(make_doc(1, full)), Unit(make_doc(2, part))], hasher, config)) == 2


def test_exact_key_is_the_sequence_of_words():
    """Case, spacing and punctuation do not count; a changed, missing or moved word does."""
    key = exact_key("The cat sat, on the mat.")
    assert exact_key("the  CAT sat on\nthe mat") == key == exact_key("The cat -- sat ... on the mat!")
    assert exact_key("The cat sat on a mat.") != key
    assert exact_key("The cat sat on the.") != key
    assert exact_key("The sat cat on the mat.") != key
    assert exact_key("Thecat sat on the mat.") != key


def test_exact_key_of_a_text_without_words_is_its_characters():
    assert exact_key("!!  ??") == exact_key("!! \n??") != exact_key("?? !!")
    assert exact_key("") != exact_key("...")


def test_exact_key_is_the_same_whether_the_cleaning_hashed_the_text_or_not():
    text = words(5000, 5400)
    first = exact_key(text)  # hashed here, then remembered by the shared hasher
    assert shared_hasher(TEXT_SEED).hashes(text) is shared_hasher(TEXT_SEED).hashes(text)
    assert exact_key(text) == first == exact_key(str(text + " ").rstrip())  # an equal text, another object


def test_the_default_dedup_seed_is_the_cleanings_token_seed():
    """MinHash reuses the token hashes the cleaning computed only when their seeds are equal."""
    assert DedupConfig().seed == TEXT_SEED


def test_exact_groups_keep_the_best_and_finalize_sets_fields():
    a = make_doc(10, "Same text here", "b-id")
    b = make_doc(11, "same   TEXT here", "a-id")
    assert exact_key(a.text) == exact_key(b.text)
    unit = group_exact([a, b], keep="min_id")
    assert unit.doc.id == "a-id" and [d.id for d in unit.copies] == ["b-id"]
    member = Unit(make_doc(12, "Other text"), (make_doc(13, "Other text"),))
    docs, row = finalize_cluster([(unit, 1.0, 1.0), (member, 0.85, 0.9)])
    by_id = {d.id: d for d in docs}
    assert {d.cluster_id for d in docs} == {cluster_key(b)} and {d.cluster_size for d in docs} == {4}
    assert not by_id["a-id"].is_duplicate and by_id["a-id"].duplicate_of is None
    assert by_id["b-id"].similarity == 1.0 and by_id["d12"].similarity == 0.85 and by_id["d13"].similarity == 0.85
    assert {by_id[i].duplicate_of for i in ("b-id", "d12", "d13")} == {"a-id"}
    assert row["size"] == 4 and row["representative_id"] == "a-id" and row["member_ids"][0] == "a-id"
    assert row["similarities"] == [1.0, 1.0, 0.85, 0.85] and row["containments"] == [1.0, 1.0, 0.9, 0.9]


def test_singleton_has_no_cluster_row():
    docs, row = finalize_cluster([(Unit(make_doc(1, "x")), 1.0, 1.0)])
    assert row is None and docs[0].cluster_id == cluster_key(make_doc(1, "x")) and docs[0].cluster_size == 1


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        ("longest", "long"),
        ("earliest_date", "early"),
        ("quality", "good"),
        ("min_id", "a-first"),
    ],
)
def test_keep_policies_choose_the_representative(keep, expected):
    docs = [
        make_doc(1, words(0, 120), "long").replace(n_words=120, date="2024-05-01", quality_score=0.5),
        make_doc(2, words(0, 100), "early").replace(n_words=100, date="2020-01-01", quality_score=0.6),
        make_doc(3, words(0, 110), "good").replace(n_words=110, date=None, quality_score=0.9),
        make_doc(4, words(0, 90), "a-first").replace(n_words=90, date="2023-01-01", quality_score=None),
    ]
    ranked = sorted(docs, key=lambda d: rank_key(d, keep))
    assert ranked[0].id == expected
    # The choice does not depend on the order documents arrive in.
    assert sorted(reversed(docs), key=lambda d: rank_key(d, keep))[0].id == expected


def test_keep_policy_ties_end_on_id_and_key():
    twins = [make_doc(7, "x y z", "same").replace(date="2020-01-01"), make_doc(3, "x y z", "same").replace(date="2020-01-01")]
    for keep in ("longest", "earliest_date", "quality", "min_id"):
        assert sorted(twins, key=lambda d: rank_key(d, keep))[0].doc_key == 3
