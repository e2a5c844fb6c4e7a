"""A learned line classifier in place of the main block's rule scores, on the ScrapingHub set.

    python bench/line_classifier_eval.py [--input ../shared/bench/cleaning/scrapinghub-181.jsonl.gz]

What jusText and boilerpipe do on HTML blocks, on the lines of plain page text: each line (after the
line rules, as it reaches the main block) gets shallow features (words, sentence end, word length,
letters, digits, capitals, title-case words, stop-word density, commas, separators, bullets,
position, links, years, a final colon, ellipses, repeats on the page, sentences), the same of the two
lines before and after it, and the prose density of the 11 lines around it. A logistic regression
weighted by words is fitted on half A (a line is content when at least half its word 4-grams are in
the gold body). Context smoothing: a second regression adds the neighbours' first-stage
probabilities. Both stages are cross-fitted in 5 folds on half A, so every half-A figure is out of
fold; half B gets the models fitted on all of half A. Three decodings:
- instead of the rules' main block: the maximum-sum run over (p - threshold) x words, then the comment cut;
- as a filter after the rules: the product's cleaned text without its lines of p < threshold, unless
  that would remove more than 35% of the page's words (then the rules' text stays);
- the same filter idempotent: models fitted on the lines of the rules' output (not of the page), applied
  to the output again and again until nothing changes (or a pass would cross the 35%).

Prints, per stage, decoding and threshold, F1/P/R on half A and half B beside the rule-based cleaning.
A comparison, not part of the product: a threshold is chosen on half A, and the rules stay unless that
choice beats them there and on half B.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cleaning_eval import SHARED, f1, half_of, page_scores  # noqa: E402

from transforms.clean.boilerplate import _units, cut_comments, drop_boilerplate, trim_edges  # noqa: E402
from transforms.clean.document import CleanRules, clean_document, prepare_document  # noqa: E402
from transforms.config import CleanConfig  # noqa: E402
from transforms.metrics import noop_counter  # noqa: E402
from transforms.records import Document  # noqa: E402

_TOKEN = re.compile(r"\w+")
_SENTENCE = re.compile(r"[.!?][\"'”’)]?(\s|$)")
_LINK = re.compile(r"https?:|www\.|@|\.com\b")
_YEAR = re.compile(r"\b(19|20)\d\d\b")
_END = tuple(".!?:;\"'”’»)…。！？」』")
_STOP = frozenset(
    "the a an and or of to in on at for with by from as is are was were be been it its this that these those he she "
    "they we you i his her their our your not but if than then so which who whom what when where how all any some no "
    "there here has have had do does did will would can could should may might must also into about over after before "
    "up out more most other such only just very".split()
)
FOLDS = 5
GUARD = 0.35  # the filter never removes more than this share of a page's words


def lines_of(text: str) -> list[str]:
    """The non-blank scoring units of a text, as the main block sees them."""
    lines = text.split("\n")
    return [joined for first, last in _units(lines) if (joined := " ".join(lines[first:last]).strip())]


def _title_run(words: list[str]) -> int:
    run = 0
    for word in words[:6]:
        if word[:1].isupper() or word[:1].isdigit() or (run and word.lower() in _STOP and len(word) <= 3):
            run += 1
        else:
            break
    return run


def line_features(lines: list[str]) -> np.ndarray:
    counts = Counter(lines)
    rows = []
    for i, line in enumerate(lines):
        words = line.split()
        n = len(words)
        letters = sum(c.isalpha() for c in line) or 1
        lower = [w.lower().strip(".,;:!?\"'()") for w in words]
        run = _title_run(words)
        rows.append(
            [
                math.log1p(n),
                float(line.endswith(_END)),
                min(len(line) / max(n, 1), 15) / 10,
                sum(c.isalpha() for c in line) / max(len(line), 1),
                sum(c.isdigit() for c in line) / max(len(line), 1),
                sum(c.isupper() for c in line) / letters,
                sum(w[:1].isupper() for w in words) / max(n, 1),
                sum(w in _STOP for w in lower) / max(n, 1),
                (line.count(",") + line.count(";")) / max(n, 1),
                float(any(c in line for c in "|»·>/")),
                float(line[:1] in "-•*·–—>"),
                i / max(len(lines) - 1, 1),
                float(bool(_LINK.search(line))),
                float(bool(_YEAR.search(line))),
                float(line.endswith(":")),
                float(n >= 10 and line.endswith(_END)),
                run / 6,
                float(run >= 3 and n > run + 3),
                float(n >= 15 and not line.endswith(_END)),
                float(line.endswith(("...", "…"))),
                float(counts[line] > 1),
                min(len(_SENTENCE.findall(line)), 5) / 5,
            ]
        )
    features = np.array(rows, dtype=float)
    context = [features]
    for offset in (-2, -1, 1, 2):
        shifted = np.zeros((len(lines), 2))
        for i in range(len(lines)):
            if 0 <= i + offset < len(lines):
                shifted[i] = features[i + offset, [0, 15]]
        context.append(shifted)
    density = [features[max(0, i - 5) : i + 6, 15].mean() for i in range(len(lines))]
    context.append(np.array(density)[:, None])
    return np.hstack(context)


def with_neighbours(features: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Stage-2 features: stage 1's, and the first-stage probabilities of the lines around."""
    cols = [features]
    for offset in (-2, -1, 1, 2):
        q = np.zeros(len(p))
        for i in range(len(p)):
            if 0 <= i + offset < len(p):
                q[i] = p[i + offset]
        cols.append(q[:, None])
    cols.append(np.array([p[max(0, i - 5) : i + 6].mean() for i in range(len(p))])[:, None])
    return np.hstack(cols)


def labels(lines: list[str], gold: str) -> np.ndarray:
    tokens = _TOKEN.findall(gold.lower())
    shingles = {tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3)}
    joined = " " + " ".join(tokens) + " "
    out = []
    for line in lines:
        t = _TOKEN.findall(line.lower())
        if len(t) >= 4:
            own = [tuple(t[i : i + 4]) for i in range(len(t) - 3)]
            out.append(float(sum(s in shingles for s in own) >= 0.5 * len(own)))
        else:
            out.append(float(bool(t) and (" " + " ".join(t) + " ") in joined))
    return np.array(out)


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-2, iterations: int = 30) -> tuple:
    """Weighted, L2-regularised logistic regression by Newton's method on standardised features."""
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    beta = np.zeros(z.shape[1])
    penalty = l2 * w.sum()
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-z @ beta))
        gradient = z.T @ (w * (p - y)) + penalty * np.r_[beta[:-1], 0]
        hessian = (z * (w * p * (1 - p))[:, None]).T @ z + penalty * np.eye(len(beta))
        beta -= np.linalg.solve(hessian, gradient)
    return mean, scale, beta


def predict(model: tuple, x: np.ndarray) -> np.ndarray:
    mean, scale, beta = model
    return 1 / (1 + np.exp(-(np.hstack([(x - mean) / scale, np.ones((len(x), 1))]) @ beta)))


def stacked(pages: list[dict], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.concatenate([page[k] for page in pages]) for k in (key, "y", "w"))  # type: ignore[return-value]


def decode_filter(page: dict, p: np.ndarray, threshold: float) -> str:
    """The rules' cleaned text without the lines the classifier puts below `threshold`."""
    probability: dict[str, float] = {}
    for line, q in zip(page["lines"], p):
        probability.setdefault(line, q)
    kept = "\n".join(line for line in page["out"].split("\n") if probability.get(line.strip(), 1.0) >= threshold)
    return kept if len(kept.split()) >= (1 - GUARD) * len(page["out"].split()) else page["out"]


def fit_stages(pages: list[dict]) -> tuple[tuple, tuple]:
    """Stage 1 and stage 2 fitted on the lines of `pages` (stage 2 on stage 1's in-sample probabilities)."""
    first = fit(*stacked(pages, "x"))
    x2 = [with_neighbours(page["x"], predict(first, page["x"])) for page in pages]
    return first, fit(np.concatenate(x2), *stacked(pages, "x")[1:])


def decode_fixed_point(out: str, models: tuple[tuple, tuple], stage: int, threshold: float) -> str:
    """The output's lines filtered by the classifier of its own lines until a pass removes nothing."""
    lines = [line for line in out.split("\n") if line.strip()]
    total = sum(len(line.split()) for line in lines)
    while lines:
        x = line_features(lines)
        p = predict(models[0], x)
        if stage == 2:
            p = predict(models[1], with_neighbours(x, p))
        kept = [line for line, q in zip(lines, p) if q >= threshold]
        if len(kept) == len(lines) or sum(len(line.split()) for line in kept) < (1 - GUARD) * total:
            break
        lines = kept
    return "\n".join(lines)


def decode_block(page: dict, p: np.ndarray, threshold: float) -> str:
    scores = page["w"] * (p - threshold)
    best = current = 0.0
    start = best_start = best_end = 0
    for i, score in enumerate(scores):
        if current <= 0:
            current, start = 0.0, i
        current += score
        if current > best:
            best, best_start, best_end = current, start, i + 1
    text = "\n".join(page["lines"][best_start:best_end] if best > 0 else page["lines"])
    return cut_comments(text, noop_counter) or text


def summary(scores: list[tuple[float, float]]) -> str:
    p, r = np.mean([s[0] for s in scores]), np.mean([s[1] for s in scores])
    return f"F1 {f1(p, r):.4f}  P {p:.4f}  R {r:.4f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=str(SHARED / "scrapinghub-181.jsonl.gz"))
    args = parser.parse_args(argv)
    rules = CleanRules.build(CleanConfig())
    pages = []
    with gzip.open(args.input, "rt", encoding="utf-8") as handle:
        for i, raw in enumerate(map(json.loads, handle)):
            doc = Document(doc_key=i, id=raw["id"], source="bench", record=i, text=raw["text"], url=raw.get("url"))
            prepared = prepare_document(doc, rules)
            text = trim_edges(drop_boilerplate(prepared.text, rules.boilerplate, noop_counter), noop_counter)
            lines = lines_of(text) or [""]
            cleaned = clean_document(doc, rules)
            out = cleaned.text if isinstance(cleaned, Document) else ""
            pages.append(
                {
                    "id": raw["id"],
                    "half": half_of(raw["id"]),
                    "gold": raw["gold"],
                    "lines": lines,
                    "x": line_features(lines),
                    "y": labels(lines, raw["gold"]),
                    "w": np.array([len(line.split()) for line in lines], dtype=float),
                    "out": out,
                    "rules": page_scores(raw["gold"], out),
                }
            )
    a = [page for page in pages if page["half"] == "A"]
    b = [page for page in pages if page["half"] == "B"]
    for stage, key, inputs in (("p1", "x", None), ("p2", "x2", "p1")):
        if inputs:
            for page in pages:
                page[key] = with_neighbours(page["x"], page[inputs])
        for k in range(FOLDS):  # out-of-fold probabilities on half A
            model = fit(*stacked([page for j, page in enumerate(a) if j % FOLDS != k], key))
            for page in a[k::FOLDS]:
                page[stage] = predict(model, page[key])
        model = fit(*stacked(a, key))
        for page in b:
            page[stage] = predict(model, page[key])
    on_output = []  # the same pages with the lines of the rules' output instead of the page's
    for page in pages:
        lines = [line for line in page["out"].split("\n") if line.strip()] or [""]
        weights = np.array([len(line.split()) for line in lines], dtype=float)
        on_output.append({"x": line_features(lines), "y": labels(lines, page["gold"]), "w": weights})
    out_a = [o for o, page in zip(on_output, pages) if page["half"] == "A"]
    fold_models = [fit_stages([o for j, o in enumerate(out_a) if j % FOLDS != k]) for k in range(FOLDS)]
    full_models = fit_stages(out_a)
    print(f"{'rules (the product)':42s} A {summary([p['rules'] for p in a])}   B {summary([p['rules'] for p in b])}")
    for decoding in ("block", "filter"):
        for stage in ("p1", "p2"):
            for threshold in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
                decode = decode_block if decoding == "block" else decode_filter
                row = [summary([page_scores(p["gold"], decode(p, p[stage], threshold)) for p in half]) for half in (a, b)]
                label = f"{decoding}, {'stage 1' if stage == 'p1' else 'stage 2 (smoothed)'}, p < {threshold}"
                print(f"{label:42s} A {row[0]}   B {row[1]}")
    for stage in (1, 2):
        for threshold in (0.1, 0.2, 0.3, 0.4):
            scores_a = [
                page_scores(p["gold"], decode_fixed_point(p["out"], fold_models[j % FOLDS], stage, threshold))
                for j, p in enumerate(a)
            ]
            scores_b = [page_scores(p["gold"], decode_fixed_point(p["out"], full_models, stage, threshold)) for p in b]
            label = f"fixed point, {'stage 1' if stage == 1 else 'stage 2 (smoothed)'}, p < {threshold}"
            print(f"{label:42s} A {summary(scores_a)}   B {summary(scores_b)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
