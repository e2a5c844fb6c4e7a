"""Planted near-duplicates from real text: pairwise recall and precision of corpusbeam's clusters.

    python bench/planted.py [--docs 10000] [--threshold 0.8] [--seed 7] [--set KEY=VALUE ...]
        [--volume '../shared/bench/volume/*.jsonl.zst'] [--keep DIR]

1. Originals: paragraphs of Project Gutenberg book chunks (`kind: body`), re-flowed to one
   paragraph per line and cut to about 500 words. Originals that already overlap another one
   (exact or near copies between editions, found with datasketch's MinHashLSH at 0.5 and checked
   exactly) are left out, so every pair across families has Jaccard < 0.5.
2. Families: about half of the originals get 1-3 variants, each made by one or two realistic edits:
   an exact copy; a site header and footer; 1-10% of the words replaced; one or two paragraphs
   dropped; a paragraph of another book inserted; two paragraphs swapped.
3. The exact word-5-gram Jaccard (tokens `\\w+` of the lower-cased text) of every pair inside a
   family is recorded; pairs across families are below 0.5 by construction.
4. `corpusbeam run` with `clean.enabled=false dedup.containment=0 dedup.threshold=T` (plus --set),
   then the scores of `neardup_eval.score`: recall over true pairs (J >= T), precision over all
   same-cluster pairs, and the share of duplicates whose Jaccard to their representative is >= T.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import io
import itertools
import json
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import zstandard
from neardup_eval import dedup_run, score

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VOLUME = str(ROOT.parent / "shared" / "bench" / "volume" / "*.jsonl.zst")
_TOKEN = re.compile(r"\w+")
_TARGET_WORDS = 500
_HEADERS = (
    "Originally published by The Valley Courier",
    "Reprinted with permission",
    "From our archive",
    "This story first appeared in the Sunday edition",
)
_FOOTERS = (
    "Copyright the author. All rights reserved.",
    "Share this story with a friend.",
    "Sign up for our weekly newsletter.",
)


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    tokens = _TOKEN.findall(text.lower())
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def originals_from(pattern: str, wanted: int, rng: random.Random) -> list[list[str]]:
    """Up to `wanted` documents as lists of paragraphs (~500 words) from book body chunks."""
    docs = []
    for path in sorted(glob.glob(pattern)):
        with open(path, "rb") as raw:
            for line in io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), encoding="utf-8"):
                record = json.loads(line)
                if record.get("kind") != "body":
                    continue
                paragraphs = [" ".join(p.split()) for p in record["text"].split("\n\n")]
                paragraphs = [p for p in paragraphs if len(p.split()) >= 20]
                words, doc = 0, []
                for paragraph in paragraphs:
                    doc.append(paragraph)
                    words += len(paragraph.split())
                    if words >= _TARGET_WORDS:
                        docs.append(doc)
                        words, doc = 0, []
    rng.shuffle(docs)
    return docs[: wanted * 2]  # twice as many as needed: overlapping ones are removed next


def without_overlaps(docs: list[list[str]], wanted: int) -> list[list[str]]:
    """Drop every document with Jaccard >= 0.5 to an earlier one (datasketch LSH, checked exactly)."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    kept, kept_shingles = [], {}
    for doc in docs:
        sh = shingles("\n".join(doc))
        if not sh:
            continue
        mh = MinHash(num_perm=128, seed=1)
        mh.update_batch([" ".join(s).encode() for s in sh])
        if any(jaccard(sh, kept_shingles[k]) >= 0.5 for k in lsh.query(mh)):
            continue
        key = len(kept)
        lsh.insert(key, mh)
        kept.append(doc)
        kept_shingles[key] = sh
        if len(kept) == wanted:
            break
    return kept


def variant(doc: list[str], donor: list[str], rng: random.Random) -> tuple[list[str], str]:
    """One near copy of `doc` made by one or two realistic edits, and their names."""
    if rng.random() < 1 / 6:
        return list(doc), "copy"
    edits = rng.sample(["frame", "words", "drop", "insert", "swap"], rng.choice((1, 2)))
    out = list(doc)
    for edit in edits:
        if edit == "frame":
            out = [rng.choice(_HEADERS), *out, rng.choice(_FOOTERS)]
        elif edit == "words":
            share = rng.uniform(0.01, 0.10)
            vocabulary = " ".join(donor).split()
            changed = []
            for paragraph in out:
                words = paragraph.split()
                for i in range(len(words)):
                    if rng.random() < share:
                        words[i] = rng.choice(vocabulary)
                changed.append(" ".join(words))
            out = changed
        elif edit == "drop" and len(out) > 3:
            for _ in range(rng.choice((1, 2))):
                out.pop(rng.randrange(len(out)))
        elif edit == "insert":
            out.insert(rng.randrange(len(out) + 1), rng.choice(donor))
        elif edit == "swap" and len(out) > 1:
            i = rng.randrange(len(out) - 1)
            out[i], out[i + 1] = out[i + 1], out[i]
    return out, "+".join(edits)


def build_corpus(volume: str, docs_wanted: int, seed: int, folder: Path) -> tuple[Path, dict[frozenset, float], dict]:
    """Write `corpus.jsonl.gz` under `folder`; returns it, the true pairs with their Jaccard, and stats."""
    rng = random.Random(seed)
    n_originals = int(docs_wanted / 1.9)  # half of them get 1-3 variants: ~0.9 variants each
    originals = without_overlaps(originals_from(volume, n_originals, rng), n_originals)
    records, pairs, edits = [], {}, defaultdict(int)
    # The book text holds about 42,000 originals of 500 words: beyond ~80,000 documents, families
    # grow instead (every original gets variants, as many as the size asked for needs on average).
    extra = docs_wanted / max(1, len(originals)) - 1
    for index, doc in enumerate(originals):
        family = [(f"o{index}", doc)]
        if extra > 1.0:
            count = int(extra) + (rng.random() < extra % 1)
        else:
            count = rng.choice((1, 2, 3)) if rng.random() < 0.5 else 0
        if count:
            for v in range(count):
                donor = originals[rng.randrange(len(originals))]
                text, kind = variant(doc, donor, rng)
                for edit in kind.split("+"):
                    edits[edit] += 1
                family.append((f"o{index}-v{v}", text))
        texts = {doc_id: "\n".join(paragraphs) for doc_id, paragraphs in family}
        sets = {doc_id: shingles(text) for doc_id, text in texts.items()}
        for a, b in itertools.combinations(texts, 2):
            pairs[frozenset((a, b))] = jaccard(sets[a], sets[b])
        records.extend({"id": doc_id, "text": text} for doc_id, text in texts.items())
        if len(records) >= docs_wanted:
            break
    rng.shuffle(records)
    corpus = folder / "corpus.jsonl.gz"
    with gzip.open(corpus, "wt", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    stats = {"documents": len(records), "originals": index + 1, "edits": dict(sorted(edits.items()))}
    return corpus, pairs, stats


def planted_parser(doc: str) -> argparse.ArgumentParser:
    """The options of the benchmarks that build a planted corpus and run on it."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--volume", default=DEFAULT_VOLUME)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--keep", help="write the corpus and the runs here (default: a temporary folder)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args, beam_args = planted_parser(__doc__).parse_known_args(argv)
    folder = Path(args.keep or tempfile.mkdtemp(prefix="corpusbeam-planted-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    corpus, pairs, stats = build_corpus(args.volume, args.docs, args.seed, folder)
    built = time.monotonic() - started
    true_pairs = [j for j in pairs.values() if j >= args.threshold]
    print(f"corpus {corpus}: {stats['documents']} documents, {stats['originals']} originals, built in {built:.0f}s")
    print(f"edits {stats['edits']}")
    print(f"family pairs {len(pairs)}, with Jaccard >= {args.threshold}: {len(true_pairs)}")
    clusters, reps, sets, wall = dedup_run(str(corpus), str(folder / "run"), args.threshold, args.overrides, beam_args)
    result = score(clusters, reps, pairs, args.threshold)
    print(f"settings {' '.join(sets)}  run {wall:.1f}s")
    print(f"true pairs {result['true_pairs']}  same-cluster pairs {result['same_cluster_pairs']}")
    print(
        f"recall {result['recall']:.4f}  precision {result['precision']:.4f}  "
        f"rep precision {result['rep_precision']:.4f} (of {result['duplicates']} duplicates)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
