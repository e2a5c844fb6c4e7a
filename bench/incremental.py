"""Two daily batches through incremental runs: are exactly the planted cross-batch repeats flagged?

    python bench/incremental.py [--docs 10000] [--threshold 0.8] [--seed 7] [--set KEY=VALUE ...]
        [--volume '../shared/bench/volume/*.jsonl.zst'] [--keep DIR]

1. The planted corpus of `bench/planted.py` (families of an original and 0-3 edited copies, exact
   word-5-gram Jaccard of every pair inside a family, < 0.5 across families).
2. Day 1: the first half of the families' originals, and each of their copies with probability 1/2.
   Day 2: the other copies of those families (near-copies of day-1 documents) and every document of
   the second half of the families.
3. `corpusbeam run --run_date 2026-11-01 --incremental` on day 1, then `--run_date 2026-11-02
   --incremental` on day 2 (which reads day 1's index), both with `clean.enabled=false
   dedup.containment=0 dedup.threshold=T`, plus --set.
4. Truth: a day-2 document is a cross-batch repeat when its Jaccard to a document day 1 kept
   (`is_duplicate` false) is >= T. Flagged: day-2 documents whose `duplicate_of` is a day-1
   document. Prints both sets' sizes, their overlap, and what differs, with the Jaccard.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.dataset as ds
from planted import build_corpus, planted_parser

DAYS = ("2026-11-01", "2026-11-02")


def family(doc_id: str) -> int:
    return int(doc_id.split("-")[0][1:])


def split_days(corpus: Path, folder: Path, seed: int) -> tuple[Path, Path, dict[str, int]]:
    """Write day1.jsonl.gz and day2.jsonl.gz from the planted corpus."""
    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    half = (max(family(r["id"]) for r in records) + 1) // 2
    rng = random.Random(seed)
    days: tuple[list, list] = ([], [])
    for record in sorted(records, key=lambda r: r["id"]):
        first_half = family(record["id"]) < half
        original = "-" not in record["id"]
        days[0 if first_half and (original or rng.random() < 0.5) else 1].append(record)
    paths = []
    for name, day in zip(("day1", "day2"), days):
        rng.shuffle(day)
        path = folder / f"{name}.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in day)
        paths.append(path)
    return paths[0], paths[1], {"day1": len(days[0]), "day2": len(days[1])}


def run_day(day: Path, output: Path, date: str, sets: list[str], beam_args: list[str]) -> tuple[dict, float]:
    from pipelines.run import run

    started = time.monotonic()
    flags = ["--input", str(day), "--output", str(output), "--run_date", date, "--incremental", "--overwrite"]
    stats = run([*flags, *sum((["--set", s] for s in sets), []), *beam_args])
    return stats, time.monotonic() - started


def documents(output: Path, date: str) -> list[dict]:
    folder = output / f"run_date={date}" / "documents"
    return ds.dataset(str(folder), format="parquet").to_table(columns=["id", "is_duplicate", "duplicate_of"]).to_pylist()


def main(argv: list[str] | None = None) -> int:
    args, beam_args = planted_parser(__doc__).parse_known_args(argv)
    folder = Path(args.keep or tempfile.mkdtemp(prefix="corpusbeam-incremental-"))
    folder.mkdir(parents=True, exist_ok=True)
    corpus, pairs, _ = build_corpus(args.volume, args.docs, args.seed, folder)
    day1, day2, sizes = split_days(corpus, folder, args.seed)
    print(f"day 1: {sizes['day1']} documents, day 2: {sizes['day2']} documents ({folder})")
    sets = ["clean.enabled=false", "dedup.containment=0", f"dedup.threshold={args.threshold}", *args.overrides]
    output = folder / "corpus"
    for day, date in zip((day1, day2), DAYS):
        stats, wall = run_day(day, output, date, sets, beam_args)
        print(
            f"{date}: {stats['documents']} documents, {stats['duplicates']} duplicates "
            f"({stats['duplicates_of_earlier_runs']} of earlier runs) in {wall:.1f}s"
        )
    kept1 = {r["id"] for r in documents(output, DAYS[0]) if not r["is_duplicate"]}
    second = documents(output, DAYS[1])
    best = {}  # day-2 id -> (Jaccard, day-1 kept id) of its closest day-1 kept document
    for pair, jaccard in pairs.items():
        a, b = tuple(pair)
        for new, old in ((a, b), (b, a)):
            if old in kept1 and jaccard > best.get(new, (0.0, ""))[0]:
                best[new] = (jaccard, old)
    day2_ids = {r["id"] for r in second}
    truth = {doc for doc in day2_ids if best.get(doc, (0.0, ""))[0] >= args.threshold}
    flagged = {r["id"]: r["duplicate_of"] for r in second if r["duplicate_of"] in kept1}
    right = truth & flagged.keys()
    rep_ok = sum(1 for doc, rep in flagged.items() if pairs.get(frozenset((doc, rep)), 0.0) >= args.threshold)
    print(f"planted cross-batch repeats (J >= {args.threshold} to a day-1 kept document): {len(truth)}")
    print(f"flagged as repeats of day-1 documents: {len(flagged)}; both: {len(right)}")
    print(
        f"recall {len(right) / max(1, len(truth)):.4f}  precision {len(right) / max(1, len(flagged)):.4f}  "
        f"duplicate_of with J >= {args.threshold}: {rep_ok}/{len(flagged)}"
    )
    for doc in sorted(truth - flagged.keys()):
        print(f"  missed {doc}: J {best[doc][0]:.3f} to {best[doc][1]}")
    for doc in sorted(flagged.keys() - truth):
        print(f"  extra  {doc} -> {flagged[doc]}: J {pairs.get(frozenset((doc, flagged[doc])), 0.0):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
