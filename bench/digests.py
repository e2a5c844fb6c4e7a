"""Digests of what a run writes, on four data sets: to show that a change (a refactor, a faster
coder) leaves every output as it was.

    python bench/digests.py [--runner FnApiRunner] [--work out/digests]

For each data set: the sorted rows of documents/, rejected/ and clusters/ and the stats.json counts
(without its `run` section), hashed. Beside the digest, the duplicates and how many of them are
not verified against their representative (exact shingle Jaccard under the threshold and containment
under `dedup.containment`), or carry a `similarity` that is not their exact Jaccard to it. Data sets: the bundled samples, the SPDX licences of
../shared shuffled into three shards, the 10k planted corpus (`bench/planted.py`, built once) and
the WARC samples of ../shared. Inputs are written to fixed paths under --work, because a record's
source path is part of its key: compare digests made with the same --work.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
from engines import content
from speed import ROOT, planted_corpus

from transforms.config import DedupConfig, load_config
from transforms.dedup.minhash import MinHasher, containment_from_jaccard, exact_jaccard

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


def check_members(documents: Path, config: DedupConfig) -> tuple[int, int, int]:
    """(duplicates, those neither Jaccard >= threshold nor contained >= containment in their
    representative, those whose `similarity` is not their exact Jaccard to it), by exact shingle sets."""
    rows = ds.dataset(str(documents), format="parquet").to_table(
        columns=["doc_key", "text", "is_duplicate", "duplicate_of_key", "similarity"]
    )
    texts = dict(zip(rows["doc_key"].to_pylist(), rows["text"].to_pylist()))
    hasher = MinHasher(config.num_perm, config.ngram, config.seed)
    representative = functools.cache(lambda key: hasher.shingle_hashes(texts[key]))  # once per cluster
    duplicates = rows.filter(rows["is_duplicate"]).to_pylist()
    unverified = estimated = 0
    for row in duplicates:
        member, lead = hasher.shingle_hashes(row["text"]), representative(row["duplicate_of_key"])
        jaccard = exact_jaccard(member, lead)
        contained = containment_from_jaccard(jaccard, min(member.size, lead.size), max(member.size, lead.size))
        unverified += jaccard < config.threshold and (config.containment <= 0 or contained < config.containment)
        estimated += abs(jaccard - row["similarity"]) > 1e-6  # float32 in Parquet
    return len(duplicates), unverified, estimated


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
    config = load_config(str(ROOT / "configs" / "local.yaml")).dedup
    print(
        f"{'data set':12s} {'records':>8s} {'documents':>9s}  {'digest':16s}  {'duplicates':>10s} {'unverified':>10s} {'estimated':>9s}"
    )
    for name, inputs in data_sets.items():
        out = work / "runs" / name
        cmd = [sys.executable, "-m", "pipelines.cli", "--quiet", "run", "--config", "configs/local.yaml", *inputs]
        subprocess.run(
            [*cmd, "--output", str(out), "--overwrite", f"--runner={args.runner}"], cwd=ROOT, check=True, capture_output=True
        )
        tables, stats = content(out)
        digest = hashlib.sha256(json.dumps([tables, stats]).encode()).hexdigest()[:16]
        counts = json.loads(stats)
        duplicates, unverified, estimated = check_members(out / "documents", config)
        print(
            f"{name:12s} {counts['input_records']:8d} {counts['documents']:9d}  {digest}  {duplicates:10d} {unverified:10d} {estimated:9d}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
