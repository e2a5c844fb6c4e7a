"""The same documents give the same clusters whatever the order and the sharding of the input."""

from __future__ import annotations

import json
import random

import pyarrow.dataset as ds

from pipelines.cli import main


def corpus(seed: int = 3) -> list[dict]:
    """40 originals of 150 words and about 40 near copies (word edits, dropped sentences, exact copies)."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(5000)]
    docs = []
    for o in range(40):
        sentences = [" ".join(rng.choices(vocabulary, k=15)) + "." for _ in range(10)]
        docs.append({"id": f"o{o}", "text": " ".join(sentences)})
        for v in range(rng.choice((0, 1, 2))):
            edited = [s for s in sentences if rng.random() > 0.05]
            words = " ".join(edited).split()
            for i in range(len(words)):
                if rng.random() < 0.015:
                    words[i] = rng.choice(vocabulary)
            docs.append({"id": f"o{o}-v{v}", "text": " ".join(words)})
        if o % 10 == 0:
            docs.append({"id": f"o{o}-copy", "text": " ".join(sentences)})
    return docs


def write_shards(folder, docs: list[dict], shards: int) -> None:
    folder.mkdir()
    for s in range(shards):
        (folder / f"part-{s}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs[s::shards]))


def outcome(out) -> tuple[set, set]:
    """Documents by id and clusters by id: everything but `source`, `record` and `doc_key`, which say
    where a record was read."""
    docs = ds.dataset(str(out / "documents"), format="parquet").to_table().to_pylist()
    clusters = ds.dataset(str(out / "clusters"), format="parquet").to_table().to_pylist()
    doc_rows = {
        (
            d["id"],
            d["text"],
            d["cluster_id"],
            d["cluster_size"],
            d["is_duplicate"],
            d["duplicate_of"],
            d["similarity"],
            d["quality_score"],
        )
        for d in docs
    }
    cluster_rows = {
        (
            c["cluster_id"],
            c["representative_id"],
            c["size"],
            tuple(sorted(zip(c["member_ids"], c["similarities"], c["containments"]))),
        )
        for c in clusters
    }
    return doc_rows, cluster_rows


def test_shuffled_resharded_input_on_two_workers_gives_identical_documents_and_clusters(tmp_path):
    """Run A: one shard in order, in memory. Run B: three shards in another order, two SDK worker processes."""
    docs = corpus()
    shuffled = list(docs)
    random.Random(11).shuffle(shuffled)
    write_shards(tmp_path / "a", docs, 1)
    write_shards(tmp_path / "b", shuffled, 3)
    results = []
    runner = {"a": [], "b": ["--direct_running_mode=multi_processing", "--direct_num_workers=2", "--allow_local_workers"]}
    for name in ("a", "b"):
        out = tmp_path / f"out-{name}"
        args = ["run", "--input", str(tmp_path / name / "*.jsonl"), "--output", str(out), "--set", "quality.min_words=10"]
        assert main([*args, *runner[name]]) == 0
        results.append(outcome(out))
    (docs_a, clusters_a), (docs_b, clusters_b) = results
    assert len(docs_a) == len(docs) and sum(1 for d in docs_a if d[4]) >= 25  # many duplicates to compare
    assert docs_a == docs_b
    assert clusters_a == clusters_b
