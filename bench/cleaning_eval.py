"""Boilerplate removal on the ScrapingHub article-extraction benchmark, with the benchmark's own metric.

    python bench/cleaning_eval.py [--input ../shared/bench/cleaning/scrapinghub-181.jsonl.gz] [--set KEY=VALUE ...]
        [--worst N]

Each page's full plain text (`text`) goes through `clean_document` with the configured cleaning (every
per-page step; the corpus-wide site template step needs several pages of one site, and the benchmark
has at most two, so the script says so instead of running it); the
output is scored against the gold article body: tokens `\\w+`, 4-word shingle multisets, per page
precision and recall (both 1 when gold and output are empty), mean P and mean R, F1 of the means.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections import Counter
from pathlib import Path

from transforms.clean.document import CleanRules, clean_document
from transforms.config import load_config
from transforms.metadata import site_of
from transforms.records import Document

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench" / "cleaning"
_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter:
    tokens = _TOKEN.findall(text)
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def page_scores(gold: str, output: str) -> tuple[float, float]:
    g, o = shingles(gold), shingles(output)
    if not g and not o:
        return 1.0, 1.0
    tp = sum((g & o).values())
    fp = sum((o - g).values())
    fn = sum((g - o).values())
    total = tp + fp + fn
    tp, fp, fn = tp / total, fp / total, fn / total
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=str(SHARED / "scrapinghub-181.jsonl.gz"))
    parser.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "configs" / "local.yaml"))
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--worst", type=int, default=0, help="list the N pages with the lowest F1")
    args = parser.parse_args(argv)
    config = load_config(args.config, args.overrides)
    rules = CleanRules.build(config.clean)
    with gzip.open(args.input, "rt", encoding="utf-8") as handle:
        pages = [json.loads(line) for line in handle]
    scores = []
    for i, page in enumerate(pages):
        doc = Document(doc_key=i, id=page["id"], source="bench", record=i, text=page["text"], url=page.get("url"))
        result = clean_document(doc, rules)
        output = result.text if isinstance(result, Document) else ""
        scores.append((page["id"], *page_scores(page["gold"], output)))
    mean_p = sum(s[1] for s in scores) / len(scores)
    mean_r = sum(s[2] for s in scores) / len(scores)
    f1 = 2 * mean_p * mean_r / (mean_p + mean_r) if mean_p + mean_r else 0.0
    print(f"pages {len(scores)}  F1 {f1:.4f}  P {mean_p:.4f}  R {mean_r:.4f}")
    # The corpus-wide step (site template lines) needs several pages of a site; say whether it could act.
    per_site = Counter(site_of(page.get("url")) for page in pages)
    per_site.pop(None, None)
    most = max(per_site.values(), default=0)
    if most < config.clean.site_lines_min_pages:
        print(f"site template lines: not applicable (at most {most} pages per site < clean.site_lines_min_pages)")
    if args.worst:
        for page_id, p, r in sorted(scores, key=lambda s: 2 * s[1] * s[2] / (s[1] + s[2]) if s[1] + s[2] else 0)[: args.worst]:
            print(f"  {page_id}  P {p:.3f}  R {r:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
