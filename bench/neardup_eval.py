"""Pairwise recall and precision of corpusbeam's clusters against a file of true pairs.

    python bench/neardup_eval.py [--input ../shared/bench/neardup/spdx-licenses.jsonl.gz]
        [--pairs ../shared/bench/neardup/spdx-licenses.pairs.tsv] [--threshold 0.8] [--set KEY=VALUE ...]

Runs `corpusbeam run` with `clean.enabled=false dedup.containment=0 dedup.threshold=T` (plus any
--set), then scores the `documents/` output:
  recall    = true pairs (Jaccard >= T in the pairs file) whose two ids share a cluster / true pairs
  precision = same-cluster pairs with Jaccard >= T / all same-cluster pairs
  rep precision = duplicates whose Jaccard to their representative is >= T / all duplicates
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pyarrow.dataset as ds

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "bench" / "neardup"


def load_pairs(path: Path) -> dict[frozenset, float]:
    pairs = {}
    with open(path, encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            a, b, j = line.rstrip("\n").split("\t")
            pairs[frozenset((a, b))] = float(j)
    return pairs


def score(clusters: dict[int, list[str]], reps: dict[str, str], pairs: dict[frozenset, float], threshold: float) -> dict:
    label = {doc: cid for cid, members in clusters.items() for doc in members}
    true_pairs = [p for p, j in pairs.items() if j >= threshold]
    found = sum(1 for p in true_pairs if len({label.get(x, x) for x in p}) == 1)
    same = [frozenset(p) for members in clusters.values() for p in itertools.combinations(sorted(members), 2)]
    good = sum(1 for p in same if pairs.get(p, 0.0) >= threshold)
    rep_good = sum(1 for doc, rep in reps.items() if pairs.get(frozenset((doc, rep)), 0.0) >= threshold)
    return {
        "true_pairs": len(true_pairs),
        "recall": found / len(true_pairs) if true_pairs else 1.0,
        "same_cluster_pairs": len(same),
        "precision": good / len(same) if same else 1.0,
        "duplicates": len(reps),
        "rep_precision": rep_good / len(reps) if reps else 1.0,
    }


def dedup_run(
    input_path: str, output: str, threshold: float, overrides: list[str], beam_args: list[str]
) -> tuple[dict[int, list[str]], dict[str, str], list[str], float]:
    """Run dedup alone (cleaning and containment off) -> (ids by cluster, representative of each
    duplicate, the --set values used, wall seconds)."""
    from pipelines.run import run

    sets = ["clean.enabled=false", "dedup.containment=0", f"dedup.threshold={threshold}", *overrides]
    started = time.monotonic()
    run(["--input", input_path, "--output", output, "--overwrite", *sum((["--set", s] for s in sets), []), *beam_args])
    wall = time.monotonic() - started
    table = ds.dataset(f"{output}/documents", format="parquet").to_table(
        columns=["id", "cluster_id", "is_duplicate", "duplicate_of"]
    )
    clusters: dict[int, list[str]] = defaultdict(list)
    reps = {}
    for row in table.to_pylist():
        clusters[row["cluster_id"]].append(row["id"])
        if row["is_duplicate"]:
            reps[row["id"]] = row["duplicate_of"]
    return clusters, reps, sets, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=str(SHARED / "spdx-licenses.jsonl.gz"))
    parser.add_argument("--pairs", default=str(SHARED / "spdx-licenses.pairs.tsv"))
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--output", help="keep the run here (default: a temporary folder)")
    args, beam_args = parser.parse_known_args(argv)
    output = args.output or tempfile.mkdtemp(prefix="corpusbeam-neardup-")
    clusters, reps, sets, wall = dedup_run(args.input, output, args.threshold, args.overrides, beam_args)
    table_rows = sum(len(m) for m in clusters.values())
    result = score(clusters, reps, load_pairs(Path(args.pairs)), args.threshold)
    print(f"input {args.input}  threshold {args.threshold}  settings {' '.join(sets)}")
    print(f"documents {table_rows}  clusters>1 {sum(1 for m in clusters.values() if len(m) > 1)}  wall {wall:.1f}s")
    print(f"true pairs {result['true_pairs']}  same-cluster pairs {result['same_cluster_pairs']}")
    print(
        f"recall {result['recall']:.3f}  precision {result['precision']:.3f}  "
        f"rep precision {result['rep_precision']:.3f} (of {result['duplicates']} duplicates)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
