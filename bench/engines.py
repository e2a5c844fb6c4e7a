"""The same `corpusbeam run` on every local engine, on the planted corpus: time, CPU, memory, same output.

    python bench/engines.py [--docs 10000] [--shards 1] [--sites 0] [--engines memory prism flink spark] [--set KEY=VALUE ...]
        [--bound] [--spark-stages] [--beam-option=--FLAG=VALUE ...]

Needs `make runners`. For each engine: wall time, docs/s, CPU seconds (user + system of the run and
every process under it: driver, job server, SDK workers), how many cores that kept busy on average
(CPU / wall), and peak RSS summed over those processes (sampled every 0.2 s). Then whether its
documents/, rejected/ and clusters/ tables and stats.json counts equal the in-memory run's.

With `--shards N` the corpus is first cut into N consecutive gzip shards, as crawls and dumps come:
the engines read a file per worker, where one file is read by one worker only. With `--sites N` each
document also gets a URL on one of N sites in turn (`https://site<i % N>.example.com/articles/<i>`):
the planted corpus has none, and crawled web text has one on every page, so that the site-template
step (`clean.site_lines`) then groups every page with its site's, as on a crawl.

With `--spark-stages`, Spark writes its event log and the bench prints each Spark stage: when it
started (seconds after the application), its tasks, its wall time, the sum of its tasks' times (an
SDK worker's time is in its task's), the JVM CPU and garbage-collection time of its tasks, the MB they
read from cached blocks (a stage's outputs that several later stages read) and from shuffles and
wrote to shuffles, and the Beam step it starts from, for stages of at least 0.5 s.

`--beam-option` passes a Beam flag to every engine's run, e.g.
`--engines spark --beam-option=--job_server_jvm_property=-Xmx2g` for a smaller JVM heap.

With `--bound` (and `memory` among the engines) every engine also runs on a 100-document corpus,
whose wall time is its fixed cost (start-up, job submission, shut-down), and the bench prints the
best speed-up over the in-memory run that this fixed cost leaves at `--docs`: the fixed wall time
plus the in-memory run's per-document work spread perfectly over the cores the engine can use
(Prism: one, since Prism 2.77 starts one SDK worker per environment; Flink and Spark: all). No
engine can beat that figure unless it spends less CPU on a document than the in-memory run does.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow.dataset as ds
from speed import ROOT, add_corpus_arguments, measure, planted_corpus, quiet_run_command

RUNNERS = {
    "memory": ["--runner=FnApiRunner"],
    "prism": ["--runner=PrismRunner"],
    "flink": ["--runner=FlinkRunner"],
    "spark": ["--runner=SparkRunner"],
}
_BOUND_DOCS = 100
_PARALLEL_WORKERS = {"memory": 1, "prism": 1}  # SDK worker processes; the others: one per core


def content(out: Path) -> tuple:
    """The sorted rows of the three tables and the stats counts: what must not depend on the engine."""
    tables = []
    for name in ("documents", "rejected", "clusters"):
        rows = ds.dataset(str(out / name), format="parquet").to_table().to_pylist()
        tables.append(sorted(json.dumps(row, sort_keys=True, default=str) for row in rows))
    stats = json.loads((out / "stats.json").read_text())
    return tuple(tables), json.dumps({k: v for k, v in stats.items() if k != "run"}, sort_keys=True)


def _with_site(line: bytes, index: int, sites: int) -> bytes:
    """A planted record (one JSON line) with a URL on site `index % sites`."""
    record = json.loads(line)
    record["url"] = f"https://site{index % sites}.example.com/articles/{index}"
    return json.dumps(record).encode() + b"\n"


def sharded(corpus: Path, shards: int, sites: int = 0) -> str:
    """The pattern of `corpus` cut into `shards` consecutive gzip files, its documents on `sites`
    sites when that is set (made once, next to it)."""
    if shards == 1 and not sites:
        return str(corpus)
    folder = corpus.parent / (f"{corpus.name.removesuffix('.jsonl.gz')}-{shards}-shards" + (f"-{sites}-sites" if sites else ""))
    if not folder.exists():
        work = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        with gzip.open(corpus, "rb") as handle:
            lines = handle.readlines()
        if sites:
            lines = [_with_site(line, i, sites) for i, line in enumerate(lines)]
        per = -(-len(lines) // shards)
        for i in range(shards):
            with gzip.open(work / f"part-{i:04d}.jsonl.gz", "wb", compresslevel=6) as out:
                out.writelines(lines[i * per : (i + 1) * per])
        work.rename(folder)
    return str(folder / "*.jsonl.gz")


def _stage_label(info: dict) -> str:
    """The Beam step a Spark stage computes: its newest RDD that Beam named ("<id><step>"), or Spark's name."""
    named = [r for r in info.get("RDD Info", []) if r["Name"][:1].isdigit()]
    if not named:
        return info["Stage Name"]
    name = max(named, key=lambda r: r["RDD ID"])["Name"].lstrip("0123456789")
    return re.sub(r"\.[^./]*/beam:env:.*$", "", name)  # "<step>.<output>/<environment>"


def _summed(metrics: list[dict], *keys: str) -> float:
    """The sum over tasks' metrics of the value at `keys` (a path into nested metrics; 0 where absent)."""
    total = 0
    for m in metrics:
        for key in keys[:-1]:
            m = m.get(key, {})
        total += m.get(keys[-1], 0)
    return total


def spark_stages(event_log: Path) -> None:
    """Print the stages of a Spark event log that took at least 0.5 s (module docstring)."""
    events = [json.loads(line) for line in event_log.read_text().splitlines()]
    start = next(e["Timestamp"] for e in events if e["Event"] == "SparkListenerApplicationStart")
    tasks: dict[int, list[dict]] = {}
    for e in events:
        if e["Event"] == "SparkListenerTaskEnd":
            tasks.setdefault(e["Stage ID"], []).append(e.get("Task Metrics") or {})
    stages = sorted(
        (e["Stage Info"] for e in events if e["Event"] == "SparkListenerStageCompleted"), key=lambda i: i["Submission Time"]
    )
    print(
        f"{'start s':>8s} {'stage':>5s} {'tasks':>5s} {'wall s':>7s} {'tasks s':>8s} {'JVM CPU s':>9s} {'GC s':>5s} "
        f"{'cached MB read':>14s} {'shuffle MB read':>15s} {'written':>7s}  Beam step"
    )
    for info in stages:
        wall = (info["Completion Time"] - info["Submission Time"]) / 1000
        if wall < 0.5:
            continue
        metrics = tasks.get(info["Stage ID"], [])
        total = functools.partial(_summed, metrics)
        shuffle_read = total("Shuffle Read Metrics", "Remote Bytes Read") + total("Shuffle Read Metrics", "Local Bytes Read")
        print(
            f"{(info['Submission Time'] - start) / 1000:8.1f} {info['Stage ID']:5d} {info['Number of Tasks']:5d} "
            f"{wall:7.2f} {total('Executor Run Time') / 1000:8.2f} {total('Executor CPU Time') / 1e9:9.2f} "
            f"{total('JVM GC Time') / 1000:5.2f} {total('Input Metrics', 'Bytes Read') / 1e6:14.0f} "
            f"{shuffle_read / 1e6:15.0f} {total('Shuffle Write Metrics', 'Shuffle Bytes Written') / 1e6:7.0f}  {_stage_label(info)}"
        )


def run_engines(inputs: str, engines: list[str], sets: list[str], stages: bool = False) -> list[tuple[str, dict]]:
    """Each engine's figures on `inputs`, with `same` = whether its output equals the first finished one."""
    results, reference = [], None
    for engine in engines:
        out = Path(tempfile.mkdtemp(prefix=f"corpusbeam-{engine}-"))
        options = list(RUNNERS[engine])
        event_logs = out / "spark-events" if stages and engine == "spark" else None
        if event_logs:  # beside the run's tables, which the run's --overwrite leaves alone
            event_logs.mkdir()
            options += [
                "--job_server_jvm_property=-Dspark.eventLog.enabled=true",
                f"--job_server_jvm_property=-Dspark.eventLog.dir={event_logs.as_uri()}",
            ]
        cmd = quiet_run_command(str(ROOT / "configs" / "local.yaml"), inputs, out, *sets, *options)
        print(f"{engine}: {' '.join(cmd[2:])}", flush=True)
        figures = measure(cmd)
        for log in sorted(event_logs.glob("*")) if event_logs else []:
            spark_stages(log)
        if figures["returncode"] == 0:  # a failed engine is reported and the next one still runs
            got = content(out)
            reference = reference or got
            figures["same"] = "yes" if got == reference else "NO"
        else:
            figures["same"] = f"FAILED (exit {figures['returncode']})"
        results.append((engine, figures))
        shutil.rmtree(out, ignore_errors=True)
    return results


def print_table(results: list[tuple[str, dict]], docs: int) -> None:
    print(
        f"{'engine':8s} {'wall s':>8s} {'docs/s':>8s} {'CPU s':>8s} {'cores':>6s} {'RSS sum':>9s}  "
        f"{'driver':>7s} {'workers':>7s} {'JVM':>7s}  {'RSS GB: driver':>14s} {'workers':>7s} {'JVM':>5s}  same"
    )
    for engine, f in results:
        kinds, rss = f["cpu_by_kind"], {kind: size / 2**30 for kind, size in f["rss_by_kind"].items()}
        print(
            f"{engine:8s} {f['wall']:8.1f} {docs / f['wall']:8.0f} {f['cpu']:8.1f} {f['cpu'] / f['wall']:6.2f} "
            f"{f['rss_sum'] / 2**30:7.2f} GB  {kinds.get('driver', 0):7.1f} {kinds.get('python', 0):7.1f} "
            f"{kinds.get('java', 0):7.1f}  {rss.get('driver', 0):14.2f} {rss.get('python', 0):7.2f} "
            f"{rss.get('java', 0):5.2f}  {f['same']}"
        )
    print(
        "(driver, workers, JVM: CPU seconds, then the largest RSS sum, of the driver process, the SDK worker "
        "processes, the job server's JVM)"
    )


def print_bound(results: dict[str, dict], fixed: dict[str, dict], docs: int) -> None:
    """The best speed-up over the in-memory run each engine's fixed cost allows (module docstring)."""
    cores = os.cpu_count() or 1
    work = results["memory"]["wall"] - fixed["memory"]["wall"]  # the in-memory run's per-document part
    print(f"\nbest speed-up over the in-memory run at {docs:,} documents that each engine's fixed cost leaves:")
    print(f"{'engine':8s} {'fixed s':>8s} {'workers':>8s} {'best wall s':>12s} {'best speed-up':>14s} {'measured':>9s}")
    for engine, f in results.items():
        parallel = min(cores, _PARALLEL_WORKERS.get(engine, cores))
        best = fixed[engine]["wall"] + work / parallel
        print(
            f"{engine:8s} {fixed[engine]['wall']:8.1f} {parallel:8d} {best:12.1f} "
            f"{results['memory']['wall'] / best:13.2f}x {results['memory']['wall'] / f['wall']:8.2f}x"
        )
    print(
        f"(fixed: the engine's wall time on {_BOUND_DOCS} documents; best wall: fixed + the in-memory run's "
        f"per-document time / workers, on {cores} cores)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_corpus_arguments(parser, docs=10_000)
    parser.add_argument("--shards", type=int, default=1, help="cut the corpus into this many files first")
    parser.add_argument("--sites", type=int, default=0, help="put the documents on this many sites (docstring)")
    parser.add_argument("--engines", nargs="+", default=list(RUNNERS), choices=list(RUNNERS))
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--beam-option", action="append", default=[], dest="beam_options", help="a Beam flag for every run")
    parser.add_argument("--bound", action="store_true", help=f"also run on {_BOUND_DOCS} documents (docstring)")
    parser.add_argument("--spark-stages", action="store_true", help="print Spark's stages from its event log (docstring)")
    args = parser.parse_args(argv)
    if args.bound and "memory" not in args.engines:
        parser.error("--bound compares with the in-memory run: add memory to --engines")
    sets = sum((["--set", s] for s in args.overrides), args.beam_options)
    fixed = {}
    if args.bound:
        small = planted_corpus(_BOUND_DOCS, args.seed, Path(args.corpus_dir))
        fixed = dict(run_engines(str(small), args.engines, sets))
    corpus = planted_corpus(args.docs, args.seed, Path(args.corpus_dir))
    results = run_engines(sharded(corpus, args.shards, args.sites), args.engines, sets, args.spark_stages)
    print(
        f"\n{args.docs:,} planted documents ({corpus.name}, {args.shards} files"
        + (f", on {args.sites:,} sites" if args.sites else "")
        + "); same output as the first engine that finished:"
    )
    print_table(results, args.docs)
    if args.bound:
        print(f"\nthe same engines on {_BOUND_DOCS} documents (their fixed cost):")
        print_table(list(fixed.items()), _BOUND_DOCS)
        print_bound(dict(results), fixed, args.docs)
    everything = results + list(fixed.items())
    return 0 if all(f["same"] == "yes" for _, f in everything) else 1


if __name__ == "__main__":
    sys.exit(main())
