"""The fixed cost of a run: CPU of a small in-memory run, here and at another commit, runs alternating.

    python bench/startup.py [--runs 10] [--against REV] [--docs 100]

A run's fixed cost (importing Beam, building and translating the graph, the runner's stages, the
checks and report after it) is what separates a 10k run's CPU per document from a 100k run's
(`bench/scaling.py`). This machine's speed drifts by 10% within minutes, so two commits are compared
by runs taken in turns, not one after the other: `--against REV` checks REV out in a temporary git
worktree and runs its CLI (with this interpreter) between the runs of the working tree. Prints each
tree's CPU seconds (user + system of the run's process), sorted, and their medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from pathlib import Path

from speed import ROOT, add_corpus_arguments, measure, planted_corpus, quiet_run_command


def run_cpu(tree: Path, corpus: Path, output: Path) -> float:
    """CPU seconds of one quiet run of `corpus` with the CLI and local profile of `tree`."""
    cmd = quiet_run_command(str(tree / "configs" / "local.yaml"), str(corpus), output)
    result = measure(cmd, stdout=subprocess.DEVNULL, cwd=tree)
    if result["returncode"]:
        raise SystemExit(f"the run in {tree} failed (exit {result['returncode']})")
    return result["cpu"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_arguments(parser, docs=100)
    parser.add_argument("--runs", type=int, default=10, help="runs of each tree")
    parser.add_argument("--against", metavar="REV", help="also run this commit, in turns with the working tree")
    args = parser.parse_args(argv)
    corpus = planted_corpus(args.docs, args.seed, Path(args.corpus_dir))
    with tempfile.TemporaryDirectory(prefix="corpusbeam-startup-") as work:
        trees = {"working tree": ROOT}
        if args.against:
            other = Path(work) / "against"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(other), args.against], cwd=ROOT, check=True, capture_output=True
            )
            trees[args.against] = other
        try:
            cpu: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.runs):
                for i, (name, tree) in enumerate(trees.items()):
                    cpu[name].append(run_cpu(tree, corpus, Path(work) / f"out-{i}"))
        finally:
            if args.against:
                subprocess.run(["git", "worktree", "remove", "--force", str(trees[args.against])], cwd=ROOT, check=True)
    print(f"CPU seconds of a {args.docs}-document run ({corpus.name}), {args.runs} runs a tree, in turns:")
    for name, values in cpu.items():
        print(f"  {name:<14} median {statistics.median(values):.2f} s   runs {' '.join(f'{v:.2f}' for v in sorted(values))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
