"""Boilerplate removal on the ScrapingHub article-extraction benchmark, with the benchmark's own metric.

    python bench/cleaning_eval.py [--input ../shared/bench/cleaning/scrapinghub-181.jsonl.gz] [--set KEY=VALUE ...]
        [--worst N] [--ablation] [--per-page]

Each page's full plain text (`text`) goes through `clean_document` with the configured cleaning (every
per-page step; the corpus-wide site template step needs several pages of one site, and the benchmark
has at most two, so the script says so instead of running it); the
output is scored against the gold article body: tokens `\\w+`, 4-word shingle multisets, per page
precision and recall (both 1 when gold and output are empty), mean P and mean R, F1 of the means.

Also printed: the raw text's scores; the same figures on two fixed halves of the set (by page id:
half A is where rule parameters may be tuned, half B is held out, and both are reported); the
pages where cleaning lowers a page's F1 below the raw text's by more than 0.1, listed; and with
`--ablation`, each line rule switched off in turn: the recall it costs and the precision it gives.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections import Counter
from pathlib import Path

from transforms.clean.boilerplate import compile_boilerplate_rules
from transforms.clean.document import SWITCHABLE_STEPS, CleanRules, clean_document
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


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def half_of(page_id: str) -> str:
    """A page's fixed half: A (parameters may be fitted here) or B (held out)."""
    return "AB"[int(page_id[:8], 16) % 2] if len(page_id) >= 8 else "A"


def evaluate(pages: list[dict], rules: CleanRules) -> list[tuple[str, float, float]]:
    """(page id, P, R) of the cleaned text of every page."""
    scores = []
    for i, page in enumerate(pages):
        doc = Document(doc_key=i, id=page["id"], source="bench", record=i, text=page["text"], url=page.get("url"))
        result = clean_document(doc, rules)
        output = result.text if isinstance(result, Document) else ""
        scores.append((page["id"], *page_scores(page["gold"], output)))
    return scores


def summary(scores: list[tuple[str, float, float]]) -> tuple[float, float, float]:
    """F1 of the mean P and the mean R, with both means."""
    mean_p = sum(s[1] for s in scores) / len(scores)
    mean_r = sum(s[2] for s in scores) / len(scores)
    return f1(mean_p, mean_r), mean_p, mean_r


def report(label: str, scores: list[tuple[str, float, float]]) -> str:
    f, p, r = summary(scores)
    return f"{label:24s} pages {len(scores):3d}  F1 {f:.4f}  P {p:.4f}  R {r:.4f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=str(SHARED / "scrapinghub-181.jsonl.gz"))
    parser.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "configs" / "local.yaml"))
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--worst", type=int, default=0, help="list the N pages with the lowest F1")
    parser.add_argument("--ablation", action="store_true", help="switch each line rule off in turn")
    parser.add_argument("--per-page", action="store_true", help="print every page's cleaned and raw F1")
    args = parser.parse_args(argv)
    config = load_config(args.config, args.overrides)
    with gzip.open(args.input, "rt", encoding="utf-8") as handle:
        pages = [json.loads(line) for line in handle]
    scores = evaluate(pages, CleanRules.build(config.clean))
    raw = [(page["id"], *page_scores(page["gold"], page["text"])) for page in pages]
    print(report("cleaned", scores))
    for half in "AB":
        print(report(f"  half {half} ({'fit' if half == 'A' else 'held out'})", [s for s in scores if half_of(s[0]) == half]))
    print(report("raw text", raw))
    # The corpus-wide step (site template lines) needs several pages of a site; say whether it could act.
    per_site = Counter(site_of(page.get("url")) for page in pages)
    per_site.pop(None, None)
    most = max(per_site.values(), default=0)
    if most < config.clean.site_lines_min_pages:
        print(f"site template lines: not applicable (at most {most} pages per site < clean.site_lines_min_pages)")
    worse = [(c[0], f1(*c[1:]), f1(*r[1:])) for c, r in zip(scores, raw) if f1(*c[1:]) < f1(*r[1:]) - 0.1]
    print(f"pages where cleaning lowers F1 by more than 0.1: {len(worse)} of {len(pages)} ({len(worse) / len(pages):.1%})")
    for page_id, cleaned, before in sorted(worse, key=lambda w: w[1] - w[2]):
        print(f"  {page_id}  cleaned F1 {cleaned:.3f}  raw F1 {before:.3f}")
    if args.per_page:
        print("every page: cleaned F1, raw text F1, half")
        for (page_id, p, r), (_, raw_p, raw_r) in zip(scores, raw):
            print(f"  {page_id}  {f1(p, r):.3f}  {f1(raw_p, raw_r):.3f}  {half_of(page_id)}")
    if args.worst:
        print(f"the {args.worst} pages with the lowest F1:")
        for page_id, p, r in sorted(scores, key=lambda s: f1(s[1], s[2]))[: args.worst]:
            print(f"  {page_id}  P {p:.3f}  R {r:.3f}")
    if args.ablation:
        base_f, base_p, base_r = summary(scores)
        print("ablation: each rule off in turn (recall cost and precision gain of the rule = what turning it off changes)")
        print(f"  {'rule off':16s} {'F1':>7s} {'P':>7s} {'R':>7s}   {'recall cost':>11s} {'precision gain':>14s}")
        for name in [rule[0] for rule in compile_boilerplate_rules()] + list(SWITCHABLE_STEPS):
            f, p, r = summary(evaluate(pages, CleanRules.build(config.clean, off=[name])))
            print(f"  {name:16s} {f:7.4f} {p:7.4f} {r:7.4f}   {r - base_r:+11.4f} {base_p - p:+14.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
