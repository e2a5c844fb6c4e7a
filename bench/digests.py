"""Digests of what a run writes, on four data sets: to show that a change (a refactor, a faster
coder) leaves every output as it was.

    python bench/digests.py [--runner FnApiRunner] [--work out/digests]

For each data set: the sorted rows of documents/, rejected/ and clusters/ and the stats.json counts
(without its `run` section), hashed. Data sets: the bundled samples, the SPDX licences of
../shared shuffled into three shards, the 10k planted corpus (`bench/planted.py`, built once) and
the WARC samples of ../shared. Inputs are written to fixed paths under --work, because a record's
source path is part of its key: compare digests made with the same --work.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

from engines import content
from speed import ROOT, planted_corpus

SHARED = ROOT.parent / "shared"


def spdx_shards(folder: Path) -> str:
    """The SPDX licences shuffled (seed 5) into three JSONL shards; the pattern of their files."""
    if not folder.exists():
        with gzip.open(SHARED / "bench" / "neardup" / "spdx-licenses.jsonl.gz", "rt", encoding="utf-8") as handle:
            records = [line for line in handle if line.strip()]
        random.Random(5).shuffle(records)
        folder.mkdir(parents=True)
        for s in range(3):
            (folder / f"spdx-{s}.jsonl").write_text("".join(records[s::3]))
    return str(folder / "*.jsonl")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runner", default="FnApiRunner")
    parser.add_argument("--work", default=str(ROOT / "out" / "digests"))
    args = parser.parse_args(argv)
    work = Path(args.work).resolve()
    data_sets = {
        "samples": ["--input", "samples/*.jsonl*", "--input", "samples/notes/*.txt"],
        "spdx": ["--input", spdx_shards(work / "spdx-shards")],
        "planted-10k": ["--input", str(planted_corpus(10_000, 7, ROOT / "out" / "bench"))],
        "warc": ["--input", str(SHARED / "data" / "warc" / "*.warc*"), "--input", str(SHARED / "data" / "warc" / "*.wet")],
    }
    data_sets["warc"] += ["--set", "quality.enabled=false"]
    print(f"{'data set':12s} {'records':>8s} {'documents':>9s}  digest")
    for name, inputs in data_sets.items():
        out = work / "runs" / name
        cmd = [sys.executable, "-m", "pipelines.cli", "--quiet", "run", "--config", "configs/local.yaml", *inputs]
        subprocess.run(
            [*cmd, "--output", str(out), "--overwrite", f"--runner={args.runner}"], cwd=ROOT, check=True, capture_output=True
        )
        tables, stats = content(out)
        digest = hashlib.sha256(json.dumps([tables, stats]).encode()).hexdigest()[:16]
        counts = json.loads(stats)
        print(f"{name:12s} {counts['input_records']:8d} {counts['documents']:9d}  {digest}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
