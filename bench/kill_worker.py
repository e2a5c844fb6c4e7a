"""Kill an SDK worker process of a local multi-process run at several moments; each run must fail
(exit 1, nothing published) soon after the kill, never hang.

    python bench/kill_worker.py [--delays 0 0.2 0.5 1 3 9] [--workers 2] [--which 0]

Each delay is counted from when the first worker process appears. Before pipelines/worker_watch.py,
Beam 2.77 left the run waiting forever when the kill came within about 0.5 s.
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

from pipelines.worker_watch import sdk_worker_pids  # noqa: E402


def _corpus(folder: Path, docs: int = 6000) -> Path:
    """Documents of 300 words from a 4,000-word vocabulary: enough work for a run of several seconds."""
    shard = folder / "in.jsonl"
    vocabulary = [f"w{i}" for i in range(4000)]
    with shard.open("w") as handle:
        for i in range(docs):
            text = " ".join(vocabulary[(i * 7 + j * 13) % 4000] for j in range(300)) + "."
            handle.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")
    return shard


def kill_once(shard: Path, out: Path, delay: float, workers: int, which: int, timeout: float) -> str:
    command = [sys.executable, "-m", "pipelines.cli", "run", "--input", str(shard), "--output", str(out)]
    command += ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}", "--allow_local_workers"]
    command += ["--set", "quality.enabled=false"]
    run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    pids: list[int] = []
    while not pids and run.poll() is None:
        time.sleep(0.05)
        pids = sdk_worker_pids(run.pid)
    if not pids:
        return f"the run ended (exit {run.returncode}) before a worker appeared"
    time.sleep(delay)
    pids = sdk_worker_pids(run.pid) or pids
    os.kill(pids[min(which, len(pids) - 1)], signal.SIGKILL)
    killed = time.monotonic()
    try:
        _, err = run.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        run.kill()
        return f"HUNG: still running {timeout:.0f} s after the kill"
    published = (out / "_SUCCESS").exists()
    left = sum(1 for pid in pids if Path(f"/proc/{pid}").exists())  # orphans would outlive the run
    verdict = "ok" if run.returncode == 1 and not published and "Nothing was published" in err else "WRONG"
    return (
        f"{verdict}: exit {run.returncode} {time.monotonic() - killed:.1f} s after the kill, "
        f"published={published}, workers left={left}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delays", type=float, nargs="+", default=[0, 0.2, 0.5, 1, 3, 9])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--which", type=int, default=0, help="index of the worker to kill")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        shard = _corpus(Path(tmp))
        for n, delay in enumerate(args.delays):
            result = kill_once(shard, Path(tmp) / f"out{n}", delay, args.workers, args.which, args.timeout)
            print(f"kill after {delay:4.1f} s: {result}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
