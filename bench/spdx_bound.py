"""Upper bound on pairwise recall at a given pairwise precision, for ANY partition into clusters.

    python bench/spdx_bound.py [--pairs ../shared/bench/neardup/spdx-licenses.pairs.tsv] [--threshold 0.8] [--precision 0.95]

Clusters are a partition, but "Jaccard >= T" is not transitive: when A~B and B~C but not A~C, a
partition must either split a true pair or join a false one. This integer program (scipy's HiGHS)
finds the partition with the most true pairs together subject to precision >= P, using the exact
Jaccard of every pair in the file (pairs outside the file have Jaccard < 0.5 < T).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench" / "neardup"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", default=str(SHARED / "spdx-licenses.pairs.tsv"))
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--precision", type=float, default=0.95)
    args = parser.parse_args(argv)
    positive = []
    with open(args.pairs, encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            a, b, j = line.rstrip("\n").split("\t")
            if float(j) >= args.threshold:
                positive.append(tuple(sorted((a, b))))
    # Only documents joined by true pairs can usefully share a cluster: solve per component.
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in positive:
        parent[find(a)] = find(b)
    components: dict[str, list[str]] = {}
    for node in list(parent):
        components.setdefault(find(node), []).append(node)
    index = {}
    for members in components.values():
        for pair in itertools.combinations(sorted(members), 2):
            index[pair] = len(index)
    true = set(positive)
    tp = np.array([1.0 if pair in true else 0.0 for pair in index])
    rows = []
    for members in components.values():
        for a, b, c in itertools.combinations(sorted(members), 3):
            ab, ac, bc = index[(a, b)], index[(a, c)], index[(b, c)]
            rows += [((ab, 1), (bc, 1), (ac, -1)), ((ab, 1), (ac, 1), (bc, -1)), ((ac, 1), (bc, 1), (ab, -1))]
    matrix = lil_matrix((len(rows) + 1, len(index)))
    for r, terms in enumerate(rows):
        for col, value in terms:
            matrix[r, col] = value
    # precision >= P  <=>  (1 - P) * TP - P * FP >= 0
    matrix[len(rows), :] = (1 - args.precision) * tp - args.precision * (1 - tp)
    lower = [-np.inf] * len(rows) + [0.0]
    upper = [1.0] * len(rows) + [np.inf]
    result = milp(
        -tp,
        constraints=[LinearConstraint(matrix.tocsr(), lower, upper)],
        integrality=np.ones(len(index)),
        bounds=Bounds(0, 1),
        options={"time_limit": 600},
    )
    chosen = np.round(result.x)
    found, false = float(tp @ chosen), float((1 - tp) @ chosen)
    print(f"true pairs at J >= {args.threshold}: {len(positive)}  (solver status {result.status}: {result.message})")
    print(f"best partition with precision >= {args.precision}: {found:.0f} true pairs together, {false:.0f} false")
    print(f"=> recall <= {found / len(positive):.3f} for any clustering at that precision")
    return 0


if __name__ == "__main__":
    sys.exit(main())
