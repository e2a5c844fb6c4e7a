"""`corpusbeam inspect DIR [--cluster ID]`: a finished run, or one of its clusters, in the terminal."""

from __future__ import annotations

import textwrap

from pipelines.report.html import gather
from pipelines.report.outputs import FinishedRun, reason_stage

__all__ = ["run_summary", "cluster_summary", "ClusterNotFound"]

_SNIPPET_CHARS = 300


class ClusterNotFound(LookupError):
    """No cluster with that id; the message says where to find ids."""


def _table(rows: list[tuple[str, str]], indent: str = "  ") -> list[str]:
    width = max((len(name) for name, _ in rows), default=0)
    return [f"{indent}{name:<{width}}  {value}" for name, value in rows]


def run_summary(run: FinishedRun) -> str:
    """Counts, stage funnel, rejections, clusters, languages and timing of a run."""
    data = gather(run, with_examples=False)
    stats = data.stats
    meta = stats.get("run", {})
    lines = [
        f"run in {run.folder}",
        f"  runner {meta.get('runner', '?')}, wall time {meta.get('wall_seconds', 0):,.1f} s",
        "",
        "stage funnel",
    ]
    lines += _table([(name, f"{count:>12,}") for name, count in data.funnel])
    lines += ["", f"rejected {stats['rejected']:,} (rejected/ has each record with its reason)"]
    lines += _table([(f"{reason} [{reason_stage(reason)}]", f"{n:>12,}") for reason, _, n in data.reasons]) or ["  none"]
    lines += ["", f"near duplicates: {stats['duplicates']:,} documents in {stats['clusters']:,} clusters"]
    if data.lsh:
        bands, rows, threshold, _ = data.lsh
        lines.append(f"  threshold {threshold}, LSH {bands} bands x {rows} rows")
    lines += _table([(f"size {name}", f"{n:>12,} clusters") for name, n in data.cluster_sizes])
    if data.largest:
        cluster_id, size = data.largest
        lines.append(
            f"  largest: cluster {cluster_id} ({size} documents): corpusbeam inspect {run.folder} --cluster {cluster_id}"
        )
    lines += ["", "languages"] + _table([(lang, f"{n:>12,}") for lang, n in data.languages])
    lines += ["", "sites (documents, of which near duplicates)"] + _table(
        [(site, f"{unique + duplicates:>12,}  {duplicates:>8,}") for site, (unique, duplicates) in data.sites]
    )
    if meta.get("stage_seconds"):
        lines += ["", "CPU seconds by stage"] + _table(
            [(stage, f"{sec:>12,.1f}") for stage, sec in meta["stage_seconds"].items()]
        )
    return "\n".join(lines)


def cluster_summary(run: FinishedRun, cluster_id: int) -> str:
    """One cluster: its representative and every member with similarity, containment and a text snippet."""
    columns = [
        "representative_id",
        "representative_run_date",
        "size",
        "member_ids",
        "member_keys",
        "similarities",
        "containments",
    ]
    clusters = run.lookup("clusters", "cluster_id", [cluster_id], columns).to_pylist()
    if not clusters:
        raise ClusterNotFound(
            f"no cluster {cluster_id} in {run.folder}: clusters/ lists the ids of clusters with more than one document "
            f"(`corpusbeam inspect {run.folder}` names the largest)"
        )
    cluster = clusters[0]
    docs = run.lookup("documents", "doc_key", cluster["member_keys"], ["doc_key", "url", "n_words", "text"]).to_pylist()
    by_key = {doc["doc_key"]: doc for doc in docs}
    lines = [f"cluster {cluster_id}: {cluster['size']} documents, representative {cluster['representative_id']}"]
    if cluster["representative_run_date"]:
        lines.append(f"  the representative was kept by the run of {cluster['representative_run_date']}")
    members = zip(cluster["member_ids"], cluster["member_keys"], cluster["similarities"], cluster["containments"])
    for i, (member, key, similarity, containment) in enumerate(members):
        doc = by_key.get(key, {})
        role = "representative" if i == 0 else f"similarity {similarity:.3f}, containment {containment:.3f}"
        lines.append("")
        lines.append(f"[{i}] {member}  ({role}; {doc.get('n_words', '?')} words)")
        if doc.get("url"):
            lines.append(f"    {doc['url']}")
        snippet = " ".join((doc.get("text") or "(text not in this run: an earlier run's document)").split())
        lines += textwrap.wrap(
            snippet[:_SNIPPET_CHARS] + ("…" if len(snippet) > _SNIPPET_CHARS else ""),
            100,
            initial_indent="    ",
            subsequent_indent="    ",
        )
    return "\n".join(lines)
