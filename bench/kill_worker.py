"""Kill an SDK worker, or the engine, of a run at several moments; each run must fail (exit 1, nothing
published) soon after the kill, or retry to a whole output: never hang, never publish a partial run.

    python bench/kill_worker.py [--engine memory|prism|flink|spark] [--victim worker|engine]
                                [--delays 0 0.2 0.5 1 3 9] [--workers 2] [--which 0]

`memory` is the FnApiRunner with `--workers` local worker processes; the others are the engines that
`make runners` installs, whose job service (`--victim engine`: Prism's binary, or the Flink/Spark job
server's JVM with the engine inside) or SDK worker process is killed. Each delay is counted from when
the first SDK worker appears.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.worker_watch import job_service_pids, sdk_worker_pids  # noqa: E402

ENGINES = {
    "memory": ["--direct_running_mode=multi_processing", "--allow_local_workers"],
    "prism": ["--runner=PrismRunner", "--experiments=use_loopback_process_worker"],
    "flink": ["--runner=FlinkRunner"],
    "spark": ["--runner=SparkRunner"],
}


def _corpus(folder: Path, docs: int) -> Path:
    """Documents of 300 words from a 4,000-word vocabulary: enough work for a run of several seconds."""
    shard = folder / "in.jsonl"
    vocabulary = [f"w{i}" for i in range(4000)]
    with shard.open("w") as handle:
        for i in range(docs):
            text = " ".join(vocabulary[(i * 7 + j * 13) % 4000] for j in range(300)) + "."
            handle.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")
    return shard


def kill_once(shard: Path, out: Path, engine: str, victim: str, delay: float, workers: int, which: int, timeout: float) -> str:
    command = [sys.executable, "-m", "pipelines.cli", "run", "--input", str(shard), "--output", str(out)]
    command += [*ENGINES[engine], "--set", "quality.enabled=false"]
    if engine == "memory":
        command.append(f"--direct_num_workers={workers}")
    run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    while not workers and run.poll() is None:
        time.sleep(0.05)
        workers = sdk_worker_pids(run.pid)
    if not workers:
        return f"the run ended (exit {run.returncode}) before a worker appeared"
    time.sleep(delay)
    targets = (sdk_worker_pids(run.pid) or workers) if victim == "worker" else job_service_pids(run.pid)
    if not targets:
        return f"no {victim} to kill (exit {run.poll()})"
    os.kill(targets[min(which, len(targets) - 1)], signal.SIGKILL)
    killed = time.monotonic()
    try:
        _, err = run.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        run.kill()
        return f"HUNG: still running {timeout:.0f} s after the kill"
    published = (out / "_SUCCESS").exists()
    left = sum(1 for pid in workers if Path(f"/proc/{pid}").exists())  # orphans would outlive the run
    failed_cleanly = run.returncode == 1 and not published and "Nothing was published" in err
    retried = run.returncode == 0 and published  # the accounting check passed: the output is whole
    verdict = "failed, nothing published" if failed_cleanly else "retried, whole output" if retried else "WRONG"
    return (
        f"{verdict}: exit {run.returncode} {time.monotonic() - killed:.1f} s after the kill, "
        f"published={published}, workers left={left}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=list(ENGINES), default="memory")
    parser.add_argument("--victim", choices=["worker", "engine"], default="worker")
    parser.add_argument("--delays", type=float, nargs="+", default=[0, 0.2, 0.5, 1, 3, 9])
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (memory only)")
    parser.add_argument("--which", type=int, default=0, help="index of the worker to kill")
    parser.add_argument("--docs", type=int, default=6000)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    if args.engine == "memory" and args.victim == "engine":
        parser.error("the in-memory runner is the driver itself: --victim worker only")
    with tempfile.TemporaryDirectory() as tmp:
        shard = _corpus(Path(tmp), args.docs)
        for n, delay in enumerate(args.delays):
            result = kill_once(
                shard, Path(tmp) / f"out{n}", args.engine, args.victim, delay, args.workers, args.which, args.timeout
            )
            print(f"{args.engine}: kill the {args.victim} {delay:4.1f} s after the first worker: {result}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
