"""corpusbeam against a single-process datasketch MinHashLSH baseline, on the same planted corpus.

    python bench/speed.py [--docs 100000] [--threshold 0.8] [--corpus-dir out/bench] [--shards N]
        [any Beam option, e.g. --runner=SparkRunner]

1. Builds (or reuses, in --corpus-dir) the planted corpus of `bench/planted.py`: N documents of ~500
   words of Project Gutenberg text, about half of them with 1-3 near copies.
2. Floors: the time to only read the shard and hash every text's bytes (xxh3); to read, shingle
   and MinHash every text with corpusbeam's own functions in one process (no Beam, no clustering);
   and the CPU time of all the pipeline's per-document steps (prepare, clean, language, quality,
   dedup hashing, Parquet row) called directly, which the run's CPU time is then compared with.
3. The full `corpusbeam run` (read -> clean -> language -> quality -> dedup -> Parquet) with the local
   profile, as a subprocess; with `--shards N` on the corpus cut into N files (as `bench/engines.py`
   cuts it), so that an engine with several workers (`--runner=SparkRunner`) reads them in parallel.
4. The baseline, as a subprocess: one process, datasketch `MinHash(num_perm=128)` over word 5-grams
   (`update_batch`), `MinHashLSH(threshold)`: query, then insert what has no match. No cleaning, no
   output files.

For each: wall time, docs/s, MB/s (UTF-8 bytes of the texts), CPU time (user + system of the process
and its children), peak RSS of the process tree (sum over its processes, sampled every 0.2 s) and of
its largest process. Then the ratio, and corpusbeam's CPU seconds per stage (Beam execution-time
metrics, from stats.json).

    python bench/speed.py --docs 10000 --profile

instead runs the pipeline once in this process (in-memory FnApiRunner) under cProfile and prints the
functions with the most time of their own.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def add_corpus_arguments(parser: argparse.ArgumentParser, docs: int | None) -> None:
    """--docs (with this default; left out when None), --seed and --corpus-dir: the planted corpus a
    bench runs on (`planted_corpus`)."""
    if docs is not None:
        parser.add_argument("--docs", type=int, default=docs)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus-dir", default=str(ROOT / "out" / "bench"))


def quiet_run_command(config: str, inputs: str, output: Path, *options: str) -> list[str]:
    """`corpusbeam --quiet run` of `inputs` into `output` (overwritten), as a subprocess command."""
    cli = [sys.executable, "-m", "pipelines.cli", "--quiet", "run"]
    return [*cli, "--config", config, "--input", inputs, "--output", str(output), "--overwrite", *options]


def planted_corpus(docs: int, seed: int, folder: Path) -> Path:
    """The planted corpus of `docs` documents, built once per (docs, seed)."""
    path = folder / f"planted-{docs}-{seed}.jsonl.gz"
    if not path.exists():
        from planted import DEFAULT_VOLUME, build_corpus

        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as work:
            built, _, stats = build_corpus(DEFAULT_VOLUME, docs, seed, Path(work))
            shutil.move(str(built), path)
        print(f"built {path}: {stats['documents']:,} documents from {stats['originals']:,} originals")
    return path


def texts(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)["text"]


_TICK = os.sysconf("SC_CLK_TCK")


def _process_kind(pid: int, root: int) -> str:
    """'driver' (the measured command), 'java' (a job server or Flink/Spark JVM) or 'python' (SDK workers)."""
    if pid == root:
        return "driver"
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        program = handle.read().split(b"\0", 1)[0]
    return "java" if program.endswith(b"java") else "python" if b"python" in program else "other"


def _tree(pid: int) -> list[tuple[int, int, float]]:
    """(pid, RSS bytes, CPU seconds so far) of `pid` and each of its descendants.

    A child that has not yet exec'd (its command line still its parent's) has its parent's pages,
    shared (vfork, posix_spawn) or copied on write (fork), and counts no RSS of its own. Spark's JVM
    spawns commands (`rm`) at 1.3 GB: a sample that catches such a child before its exec sums the
    JVM twice, the likely cause of one reading of 3.55 GB where nine other Spark runs read 2.4-2.6 GB."""
    out, stack = [], [(pid, None)]
    while stack:
        current, parent_cmdline = stack.pop()
        try:
            with open(f"/proc/{current}/cmdline", "rb") as handle:
                cmdline = handle.read()
            with open(f"/proc/{current}/status") as handle:
                rss = next((int(line.split()[1]) * 1024 for line in handle if line.startswith("VmRSS:")), 0)
            with open(f"/proc/{current}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            out.append((current, 0 if cmdline == parent_cmdline else rss, (int(fields[11]) + int(fields[12])) / _TICK))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack.extend((int(child), cmdline) for child in handle.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


def measure(cmd: list[str], stdout: int | None = None, cwd: Path = ROOT, stderr: int | None = None) -> dict:
    """Run `cmd`; its wall time, CPU time, peak RSS (tree sum, largest process, and each kind of process's
    largest sum) and CPU by kind of process (`_process_kind`; sampled every 0.2 s, so a process's last
    0.2 s may be missed).

    CPU time is the larger of the reaped children's rusage and the sum of the samples."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=stdout, stderr=stderr)
    peak = {"sum": 0, "max": 0}
    rss_by_kind: dict[str, int] = {}
    cpu_of: dict[int, tuple[str, float]] = {}

    def sample() -> None:
        while proc.poll() is None:
            tree = _tree(proc.pid)
            peak["sum"] = max(peak["sum"], sum(rss for _, rss, _ in tree))
            peak["max"] = max(peak["max"], max((rss for _, rss, _ in tree), default=0))
            rss_now: dict[str, int] = {}
            for pid, rss, cpu in tree:
                try:
                    kind = cpu_of[pid][0] if pid in cpu_of else _process_kind(pid, proc.pid)
                except (FileNotFoundError, ProcessLookupError):
                    continue
                cpu_of[pid] = (kind, cpu)
                rss_now[kind] = rss_now.get(kind, 0) + rss
            for kind, rss in rss_now.items():
                rss_by_kind[kind] = max(rss_by_kind.get(kind, 0), rss)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    returncode = proc.wait()
    wall = time.monotonic() - started
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    by_kind: dict[str, float] = {}
    for kind, seconds in cpu_of.values():
        by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    # The children's rusage is exact but counts a grandchild only when its parent waited for it, and
    # the job servers' JVMs and the SDK workers are killed, not waited for: the samples count them.
    reaped = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu = max(reaped, sum(by_kind.values()))
    return {
        "wall": wall,
        "cpu": cpu,
        "cpu_by_kind": by_kind,
        "rss_sum": peak["sum"],
        "rss_max": peak["max"],
        "rss_by_kind": rss_by_kind,
        "returncode": returncode,
    }


def baseline(path: Path, threshold: float, num_perm: int) -> None:
    """The datasketch baseline (run in its own process by `main`)."""
    import re

    from datasketch import MinHash, MinHashLSH

    token = re.compile(r"\w+")
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    duplicates = 0
    for n, text in enumerate(texts(path)):
        words = token.findall(text.lower())
        grams = {" ".join(words[i : i + 5]).encode("utf-8") for i in range(max(1, len(words) - 4))}
        minhash = MinHash(num_perm=num_perm, seed=1)
        minhash.update_batch(grams)
        if lsh.query(minhash):
            duplicates += 1
        else:
            lsh.insert(n, minhash)
    print(f"baseline: {duplicates:,} duplicates", flush=True)


def rensa_baseline(path: Path, threshold: float, num_perm: int) -> None:
    """The rensa baseline (its README's way: RMinHash over the same word 5-grams, RMinHashLSH with
    16 bands; query, then insert what has no match), run in its own process by `main` when rensa is
    installed (`pip install -e ".[bench]"`)."""
    import re

    from rensa import RMinHash, RMinHashLSH

    token = re.compile(r"\w+")
    lsh = RMinHashLSH(threshold=threshold, num_perm=num_perm, num_bands=16)
    duplicates = 0
    for n, text in enumerate(texts(path)):
        words = token.findall(text.lower())
        minhash = RMinHash(num_perm=num_perm, seed=1)
        minhash.update([" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))])
        if lsh.query(minhash):
            duplicates += 1
        else:
            lsh.insert(n, minhash)
    print(f"rensa: {duplicates:,} duplicates", flush=True)


def read_and_hash(path: Path) -> tuple[int, int, float]:
    """(documents, UTF-8 bytes of their texts, seconds) to read the corpus and xxh3 every text: the
    floor of any pipeline over it."""
    import xxhash

    records = size = 0
    started = time.monotonic()
    for text in texts(path):
        data = text.encode("utf-8")
        xxhash.xxh3_64_intdigest(data)
        records += 1
        size += len(data)
    return records, size, time.monotonic() - started


def minhash_floor(path: Path) -> float:
    """Seconds to read, shingle and MinHash every text with corpusbeam's functions, in this process."""
    from transforms.dedup.minhash import MinHasher

    hasher = MinHasher(128, 5, 1)
    started = time.monotonic()
    for text in texts(path):
        hasher.signature(hasher.shingle_hashes(text))
    return time.monotonic() - started


def logic_floor(path: Path, config_path: str) -> dict[str, float]:
    """CPU seconds of each per-document step of the pipeline, called directly in this process with
    the run's configuration (no Beam, no shuffles, no clustering, no Parquet): what the run would
    cost if the framework and the graph cost nothing."""
    from transforms.clean.document import CleanRules, clean_body, prepare_document
    from transforms.clean.language import LanguageIdentifier, with_language
    from transforms.clean.quality import assess
    from transforms.clean.transform import _CleanFn
    from transforms.config import load_config
    from transforms.dedup.decide import resolve_lsh
    from transforms.dedup.minhash import MinHasher, band_keys
    from transforms.dedup.transform import exact_key
    from transforms.records import Document, Rejected, document_row

    config = load_config(config_path)
    rules, languages = CleanRules.build(config.clean), LanguageIdentifier()
    hasher = MinHasher(config.dedup.num_perm, config.dedup.ngram, config.dedup.seed)
    bands, rows = resolve_lsh(config.dedup)
    spent = dict.fromkeys(("prepare", "clean", "language", "quality", "dedup hashing", "row"), 0.0)

    def timed(step: str, fn, *args):
        started = time.process_time()
        result = fn(*args)
        spent[step] += time.process_time() - started
        return result

    def clean(record: int, text: str) -> Document | Rejected:
        doc = timed("prepare", prepare_document, Document.read_at(str(path), record, str(record), text), rules)
        return timed("clean", clean_body, doc, rules)

    def dedup_hashing(doc: Document) -> None:
        exact_key(doc.text)
        band_keys(hasher.signature(hasher.shingle_hashes(doc.text)), bands, rows)

    # In batches, as the clean stage runs its last steps (`_CleanFn`): each step over the whole batch.
    records = enumerate(texts(path))
    while batch := list(itertools.islice(records, _CleanFn._BATCH)):
        docs = [doc for doc in itertools.starmap(clean, batch) if isinstance(doc, Document)]
        docs = [timed("language", with_language, doc, languages) for doc in docs]
        docs = [doc for doc in docs if timed("quality", assess, doc, config.quality)[0] is None]
        for doc in docs:
            timed("dedup hashing", dedup_hashing, doc)
            timed("row", document_row, doc.replace(cluster_id=0))
    return spent


def profile(corpus: Path, args: argparse.Namespace, beam_args: list[str]) -> int:
    """One in-memory run under cProfile; prints the functions with the most time of their own."""
    import cProfile
    import pstats

    from pipelines.run import run

    output = tempfile.mkdtemp(prefix="corpusbeam-profile-")
    sets = sum((["--set", s] for s in [f"dedup.threshold={args.threshold}", *args.overrides]), [])
    argv = ["--config", args.config, "--input", str(corpus), "--output", output, "--overwrite", *sets, *beam_args]
    profiler = cProfile.Profile()
    started = time.monotonic()
    profiler.runcall(run, argv)
    print(f"profiled run: {time.monotonic() - started:.1f} s (profiling slows it down)")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
    shutil.rmtree(output, ignore_errors=True)
    return 0


def _line(name: str, result: dict, records: int, mb: float) -> str:
    return (
        f"{name:<12} wall {result['wall']:7.1f} s  {records / result['wall']:7,.0f} docs/s  {mb / result['wall']:6.2f} MB/s  "
        f"cpu {result['cpu']:7.1f} s  peak RSS {result['rss_sum'] / 2**20:6,.0f} MB (largest process {result['rss_max'] / 2**20:,.0f} MB)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_corpus_arguments(parser, docs=100_000)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--config", default=str(ROOT / "configs" / "local.yaml"))
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--shards", type=int, default=1, help="run corpusbeam on the corpus cut into this many files")
    parser.add_argument("--profile", action="store_true", help="profile one in-memory run instead")
    parser.add_argument("--top", type=int, default=15, help="functions to print with --profile")
    parser.add_argument("--baseline-only", metavar="CORPUS", help=argparse.SUPPRESS)
    parser.add_argument("--rensa-only", metavar="CORPUS", help=argparse.SUPPRESS)
    args, beam_args = parser.parse_known_args(argv)
    if args.baseline_only:
        baseline(Path(args.baseline_only), args.threshold, 128)
        return 0
    if args.rensa_only:
        rensa_baseline(Path(args.rensa_only), args.threshold, 128)
        return 0
    corpus = planted_corpus(args.docs, args.seed, Path(args.corpus_dir))
    records, size, read_hash = read_and_hash(corpus)
    mb = size / 1e6
    print(f"corpus {corpus}: {records:,} documents, {mb:,.1f} MB of text")
    if args.profile:
        return profile(corpus, args, beam_args)
    minhash = minhash_floor(corpus)
    print(
        f"floor: read + hash bytes {read_hash:.1f} s ({records / read_hash:,.0f} docs/s); read + shingle + MinHash {minhash:.1f} s ({records / minhash:,.0f} docs/s), one process"
    )
    logic = logic_floor(corpus, args.config)
    total = sum(logic.values())
    print(
        f"floor: the pipeline's per-document steps without Beam {total:.1f} s CPU ({1000 * total / records:.2f} ms/doc: "
        + ", ".join(f"{step} {1000 * sec / records:.2f}" for step, sec in logic.items())
        + ")",
        flush=True,
    )
    output = Path(tempfile.mkdtemp(prefix="corpusbeam-speed-"))
    sets = sum((["--set", s] for s in [f"dedup.threshold={args.threshold}", *args.overrides]), [])
    from engines import sharded  # engines imports this module

    run_cmd = [sys.executable, "-m", "pipelines.cli", "run", "--config", args.config, "--input", sharded(corpus, args.shards)]
    run_cmd += ["--output", str(output), "--overwrite", *sets, *beam_args]
    print("corpusbeam:", " ".join(run_cmd[2:]), flush=True)
    ours = measure(run_cmd)
    if ours["returncode"] != 0:
        raise SystemExit(f"failed: {' '.join(run_cmd)}")
    stats = json.loads((output / "stats.json").read_text())
    print("baseline: datasketch MinHash + MinHashLSH, one process", flush=True)
    theirs = measure([sys.executable, __file__, "--baseline-only", str(corpus), "--threshold", str(args.threshold)])
    rensa = None
    if importlib.util.find_spec("rensa") is not None:
        print("baseline: rensa RMinHash + RMinHashLSH, one process", flush=True)
        rensa = measure([sys.executable, __file__, "--rensa-only", str(corpus), "--threshold", str(args.threshold)])
    print(_line("corpusbeam", ours, records, mb))
    print(_line("datasketch", theirs, records, mb))
    print(f"speed-up {theirs['wall'] / ours['wall']:.2f}x wall, {theirs['cpu'] / ours['cpu']:.2f}x CPU")
    if rensa is not None:
        print(_line("rensa", rensa, records, mb))
        print(f"against rensa {rensa['wall'] / ours['wall']:.2f}x wall, {rensa['cpu'] / ours['cpu']:.2f}x CPU")
    else:
        print('rensa: not installed (pip install -e ".[bench]" to compare with it too)')
    print(
        f"corpusbeam: {stats['documents']:,} documents ({stats['duplicates']:,} duplicates), {stats['rejected']:,} rejected "
        f"{stats['rejected_by_reason']}"
    )
    print("CPU seconds per stage:", stats["run"].get("stage_seconds"))
    print(
        f"CPU per document: run {1000 * ours['cpu'] / records:.2f} ms, of which the per-document steps {1000 * total / records:.2f} ms "
        f"and the rest (Beam, shuffles, clustering, Parquet, start-up) {1000 * (ours['cpu'] - total) / records:.2f} ms"
    )
    shutil.rmtree(output, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
