"""`report.html`: one self-contained page (inline SVG and CSS, no script, no network) about a finished
run, built from its Parquet outputs and stats.json, so `corpusbeam report DIR` rebuilds it any time.

Sections: stage funnel, rejection reasons, cluster sizes, similarity of duplicates to their
representatives, the LSH S-curve of the run's settings, languages, sites with their duplicates,
document lengths, and a few clusters shown side by side with a word diff.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from dataclasses import dataclass
from html import escape

from apache_beam.io.filesystems import FileSystems

from pipelines.report import charts
from pipelines.report.outputs import FinishedRun, reason_stage, rejected_by_stage
from transforms.config import ConfigError, DedupConfig
from transforms.dedup.decide import candidate_threshold
from transforms.dedup.minhash import candidate_probability

__all__ = ["ReportData", "gather", "render", "write_report"]

_STAGE_COLORS = {"read": charts.COLORS[3], "clean": charts.COLORS[1], "quality": charts.COLORS[4], "internal": charts.COLORS[5]}
_EXAMPLES = 3
_TOP_SITES = 12
_EXAMPLE_WORDS = 250  # words of each side shown per example
_DIFF_MAX_WORDS = 5000  # words compared per side


@dataclass(frozen=True)
class Example:
    """One cluster: its representative and the member least similar to it, as word-diff HTML."""

    cluster_id: int
    size: int
    representative_id: str
    member_id: str
    similarity: float
    containment: float
    left_html: str
    right_html: str


@dataclass(frozen=True)
class ReportData:
    stats: dict
    funnel: list[tuple[str, int]]
    reasons: list[tuple[str, str, int]]  # (reason, stage, count), largest first
    cluster_sizes: list[tuple[str, int]]  # (size bin, clusters)
    similarities: list[tuple[str, int]]  # (similarity bin, duplicates)
    languages: list[tuple[str, int]]
    sites: list[tuple[str, tuple[int, int]]]  # (site, (unique documents, duplicates)), most documents first
    lengths: list[tuple[str, int]]  # (n_words bin, documents)
    lsh: tuple[int, int, float, float] | None  # bands, rows, threshold, containment
    examples: list[Example]
    largest: tuple[int, int] | None  # (cluster_id, size) of the largest cluster


def _funnel(stats: dict) -> list[tuple[str, int]]:
    by_stage = rejected_by_stage(stats)
    parsed = stats["input_records"] - by_stage["read"]
    cleaned = parsed - by_stage["clean"]
    return [
        ("input records", stats["input_records"]),
        ("parsed", parsed),
        ("cleaned", cleaned),
        ("passed quality", stats["documents"]),
        ("unique documents", stats["unique_documents"]),
    ]


def _power_bins(values: list[int], first: int) -> list[tuple[str, int]]:
    """Counts in bins below `first`, [first, 2 first), [2 first, 4 first), ...: from the lowest
    bin that holds a value to the highest."""
    if not values:
        return []
    counts = Counter(int(math.log2(v / first)) if v >= first else -1 for v in values)
    bins = []
    for k in range(min(counts), max(counts) + 1):
        name = f"<{first}" if k < 0 else f"{first << k}-{(first << (k + 1)) - 1}"
        bins.append((name, counts.get(k, 0)))
    return bins


def _cluster_size_bins(sizes: list[int]) -> list[tuple[str, int]]:
    """Clusters of 2, 3 and 4 documents, then power-of-two bins from 5."""
    if not sizes:
        return []
    small = [(str(size), sizes.count(size)) for size in (2, 3, 4)]
    return small + _power_bins([size for size in sizes if size >= 5], 5)


def _similarity_bins(values: list[float]) -> list[tuple[str, int]]:
    """Duplicates by similarity to their representative, 0.025 wide from the lowest seen; 1.0 alone."""
    if not values:
        return []
    exact = sum(1 for v in values if v >= 0.9995)
    low = min(math.floor(min(values) * 40) / 40, 0.975)
    bins = Counter(min(int((v - low) * 40 + 1e-9), int((1 - low) * 40) - 1) for v in values if v < 0.9995)
    width = round((1 - low) * 40)
    return [(f"{low + i / 40:.3f}", bins.get(i, 0)) for i in range(width)] + [("1 (exact)", exact)]


def _sites(sites: list[str | None], duplicate: list[bool]) -> list[tuple[str, tuple[int, int]]]:
    """The sites with the most documents, each split into unique documents and duplicates; the rest
    summed as 'other sites', and documents with no url as 'no url'."""
    counts: dict[str | None, list[int]] = {}
    for site, is_duplicate in zip(sites, duplicate):
        counts.setdefault(site, [0, 0])[1 if is_duplicate else 0] += 1
    named = sorted((site for site in counts if site is not None), key=lambda site: (-sum(counts[site]), site))
    rows = [(site, (counts[site][0], counts[site][1])) for site in named[:_TOP_SITES]]
    if len(named) > _TOP_SITES:
        rest = [counts[site] for site in named[_TOP_SITES:]]
        rows.append((f"{len(rest):,} other sites", (sum(u for u, _ in rest), sum(d for _, d in rest))))
    if None in counts:
        rows.append(("no url", (counts[None][0], counts[None][1])))
    return rows


_CONTEXT_WORDS = 30  # shown before the first passage both texts share


def _word_diff(left: str, right: str) -> tuple[str, str]:
    """Both texts as HTML with the words the other side lacks marked (<del> left, <ins> right).

    Each side starts a little before the first passage of 8+ words they share, so a copy cut from
    the middle of a longer text (joined by containment) is shown where it aligns.
    """
    all_a, all_b = left.split(), right.split()
    a, b = all_a[:_DIFF_MAX_WORDS], all_b[:_DIFF_MAX_WORDS]
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    first = next(((i1, j1) for tag, i1, i2, j1, _ in opcodes if tag == "equal" and i2 - i1 >= 8), (0, 0))
    start_a, start_b = max(0, first[0] - _CONTEXT_WORDS), max(0, first[1] - _CONTEXT_WORDS)
    sides = []
    for words, start, pick, mark, total in (
        (a, start_a, 0, "del", len(left.split())),
        (b, start_b, 1, "ins", len(right.split())),
    ):
        parts, end = ["…"] if start else [], start + _EXAMPLE_WORDS
        for tag, *spans in opcodes:
            lo, hi = spans[2 * pick], spans[2 * pick + 1]
            lo, hi = max(lo, start), min(hi, end)
            if lo >= hi:
                continue
            text = escape(" ".join(words[lo:hi]))
            parts.append(text if tag == "equal" else f"<{mark}>{text}</{mark}>")
        if total > end:
            parts.append("…")
        sides.append(" ".join(parts))
    return sides[0], sides[1]


_CLUSTER_COLUMNS = [
    "cluster_id",
    "representative_id",
    "representative_key",
    "size",
    "member_ids",
    "member_keys",
    "similarities",
    "containments",
]


def _lowest_similarity(cluster: dict) -> float:
    return min(cluster["similarities"][1:], default=1.0)


def _examples(run: FinishedRun, clusters: list[dict], largest: dict | None) -> list[Example]:
    """The `largest` cluster, then the clusters holding the least similar duplicates, up to `_EXAMPLES`;
    each with its least similar member."""
    if largest is None:
        return []
    chosen = [largest]
    for cluster in sorted(clusters, key=lambda c: (_lowest_similarity(c), c["cluster_id"])):
        if len(chosen) == _EXAMPLES:
            break
        if cluster is not largest:
            chosen.append(cluster)
    picks = []
    for cluster in chosen:
        members = list(zip(cluster["member_ids"], cluster["member_keys"], cluster["similarities"], cluster["containments"]))[1:]
        if members:
            picks.append((cluster, min(members, key=lambda m: (m[2], m[1]))))
    wanted = [c["representative_key"] for c, _ in picks] + [m[1] for _, m in picks]
    texts = run.lookup("documents", "doc_key", wanted, ["doc_key", "text"]).to_pylist()
    text_of = {row["doc_key"]: row["text"] for row in texts}
    examples = []
    for cluster, (member_id, member_key, similarity, containment) in picks:
        left, right = text_of.get(cluster["representative_key"]), text_of.get(member_key)
        if left is None or right is None:  # an earlier run's representative: its text is not here
            continue
        left_html, right_html = _word_diff(left, right)
        examples.append(
            Example(
                cluster["cluster_id"],
                cluster["size"],
                cluster["representative_id"],
                member_id,
                similarity,
                containment,
                left_html,
                right_html,
            )
        )
    return examples


def gather(run: FinishedRun, with_examples: bool = True) -> ReportData:
    """Everything the page shows, read from the run's tables (a few columns each) and stats;
    without examples no text is read."""
    stats = run.stats
    docs = run.read("documents", ["lang", "site", "n_words", "is_duplicate", "similarity"]).to_pydict()
    clusters = run.read("clusters", _CLUSTER_COLUMNS).to_pylist() if stats["clusters"] else []
    largest = min(clusters, key=lambda c: (-c["size"], c["cluster_id"]), default=None)
    similarities = [v for v, dup in zip(docs["similarity"], docs["is_duplicate"]) if dup and v is not None]
    languages = Counter(docs["lang"])
    top = [(lang or "unknown", n) for lang, n in languages.most_common(12)]
    rest = sum(languages.values()) - sum(n for _, n in top)
    if rest:
        top.append(("other", rest))
    lsh = None
    config = stats.get("run", {}).get("config", {}).get("dedup", {})
    if stats.get("run", {}).get("lsh") and config.get("enabled", True):
        lsh = (
            stats["run"]["lsh"]["bands"],
            stats["run"]["lsh"]["rows"],
            config.get("threshold", 0.8),
            config.get("containment", 0.0),
        )
    reasons = sorted(stats["rejected_by_reason"].items(), key=lambda kv: (-kv[1], kv[0]))
    return ReportData(
        stats=stats,
        funnel=_funnel(stats),
        reasons=[(reason, reason_stage(reason), n) for reason, n in reasons],
        cluster_sizes=_cluster_size_bins([c["size"] for c in clusters]),
        similarities=_similarity_bins(similarities),
        languages=top,
        sites=_sites(docs["site"], docs["is_duplicate"]),
        lengths=_power_bins(docs["n_words"], 16),
        lsh=lsh,
        examples=_examples(run, clusters, largest) if with_examples else [],
        largest=(largest["cluster_id"], largest["size"]) if largest else None,
    )


_CSS = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1360px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin:0 0 6px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(660px,1fr));gap:18px}
figure.chart{margin:0;border:1px solid #ddd;border-radius:6px;padding:12px;background:#fff}
figcaption{color:#555;font-size:13px;margin-top:4px}
table.kv{border-collapse:collapse;font-size:14px}table.kv td{padding:2px 14px 2px 0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.example{border:1px solid #ddd;border-radius:6px;padding:12px;margin:14px 0}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:14px;font-size:13px;line-height:1.45}
.pair div{background:#fafafa;padding:8px;border-radius:4px;max-height:360px;overflow:auto}
del{background:#f8d0cc;text-decoration:none}ins{background:#cdebc7;text-decoration:none}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
"""


def _candidate_threshold(stats: dict) -> float | None:
    """The similarity down to which the run's bands look for candidates (lower with containment)."""
    try:
        return candidate_threshold(DedupConfig(**stats["run"]["config"]["dedup"]))
    except (KeyError, TypeError, ConfigError):
        return None


def _figure(name: str, title: str, svg: str, caption: str) -> str:
    return f'<figure class="chart" data-chart="{name}"><h2>{escape(title)}</h2>{svg}<figcaption>{caption}</figcaption></figure>'


def render(data: ReportData) -> str:
    """The whole page as one HTML string."""
    stats = data.stats
    run = stats.get("run", {})
    figures = [
        _figure("funnel", "Stage funnel", charts.bar_rows(data.funnel, "stage funnel"), "Records left after each stage."),
        _figure(
            "rejections",
            "Rejected records by reason",
            charts.bar_rows(
                [(reason, n) for reason, _, n in data.reasons], "rejections", [_STAGE_COLORS[s] for _, s, _ in data.reasons]
            ),
            '<span class="legend">'
            + "".join(f'<span style="background:{c}"></span>{s}' for s, c in _STAGE_COLORS.items())
            + "</span> Every rejected record is in <code>rejected/</code> with its reason.",
        ),
        _figure(
            "cluster_sizes",
            "Near-duplicate cluster sizes",
            charts.columns(data.cluster_sizes, "cluster sizes", "documents in the cluster", "clusters"),
            f"{stats['clusters']:,} clusters with more than one document; {stats['duplicates']:,} duplicates in all.",
        ),
        _figure(
            "similarity",
            "Similarity of duplicates to their representative",
            charts.columns(data.similarities, "similarity", "Jaccard similarity (word shingles)", "duplicates"),
            "Exact copies are counted apart; the rest were verified at or above the threshold, or joined as contained copies.",
        ),
    ]
    if data.lsh is not None:
        bands, rows, threshold, containment = data.lsh
        points = [(s / 100, float(candidate_probability(s / 100, bands, rows))) for s in range(101)]
        markers = [(threshold, f"threshold {threshold}")]
        sought = _candidate_threshold(data.stats)
        if sought is not None and abs(sought - threshold) > 1e-3:
            markers.append((sought, f"candidates from {sought:.3f}"))
        figures.append(
            _figure(
                "lsh",
                f"LSH S-curve: {bands} bands x {rows} rows",
                charts.curve(
                    points, "probability that a pair becomes a candidate", markers, "Jaccard similarity", "P(candidate)"
                ),
                "Probability that two documents of a given similarity share a band and are compared"
                + (f"; containment {containment} lowers the band threshold." if containment else "."),
            )
        )
    figures += [
        _figure("languages", "Languages", charts.bar_rows(data.languages, "languages"), "Documents by identified language."),
        _figure(
            "sites",
            "Sites",
            charts.stacked_rows(data.sites, ["unique", "duplicates"], "sites"),
            f'<span class="legend"><span style="background:{charts.COLORS[0]}"></span>unique'
            f'<span style="background:{charts.COLORS[1]}"></span>near-duplicates</span> Documents by site (the host '
            "of their url). A site made mostly of duplicates republishes or mirrors other sites.",
        ),
        _figure(
            "lengths",
            "Document lengths",
            charts.columns(data.lengths, "lengths", "words", "documents"),
            "Documents by word count.",
        ),
    ]
    summary_rows = [
        ("input files", stats["input_files"]),
        ("input records", stats["input_records"]),
        ("documents", stats["documents"]),
        ("unique documents", stats["unique_documents"]),
        ("duplicates", stats["duplicates"]),
        ("clusters", stats["clusters"]),
        ("rejected", stats["rejected"]),
    ]
    summary = "".join(f'<tr><td>{escape(k)}</td><td class="n">{v:,}</td></tr>' for k, v in summary_rows)
    if run.get("wall_seconds") is not None:
        summary += f'<tr><td>wall time</td><td class="n">{run["wall_seconds"]:,.1f} s</td></tr>'
    examples = "".join(
        f'<div class="example" data-cluster="{e.cluster_id}"><h2>Cluster {e.cluster_id} ({e.size} documents)</h2>'
        f"<p>Representative <code>{escape(e.representative_id)}</code> and its least similar member "
        f"<code>{escape(e.member_id)}</code> (Jaccard similarity {e.similarity:.3f}, containment {e.containment:.3f}). "
        "Words only on the left are <del>marked</del>, words only on the right are <ins>marked</ins>.</p>"
        f'<div class="pair"><div>{e.left_html}</div><div>{e.right_html}</div></div></div>'
        for e in data.examples
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>corpusbeam run report</title><style>{_CSS}</style></head><body>"
        f"<h1>corpusbeam run report</h1><p><code>{escape(str(run.get('output', '')))}</code> · runner {escape(str(run.get('runner', '?')))}</p>"
        f'<table class="kv">{summary}</table>'
        f'<div class="grid">{"".join(figures)}</div>'
        f"<h2 style='margin-top:24px'>Example clusters</h2>{examples or '<p>No near-duplicate clusters in this run.</p>'}"
        "</body></html>"
    )


def write_report(run: FinishedRun, path: str) -> str:
    """Build the page of `run` and write it to `path` (any Beam filesystem); returns `path`."""
    html = render(gather(run))
    with FileSystems.create(path) as handle:
        handle.write(html.encode("utf-8"))
    return path
