"""A worker process killed in the middle of a run ends the run with a clear failure, and nothing is
published: never a "successful" run with missing rows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT


def _processes() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line) of every process, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            table[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
    return table


def sdk_workers(root: int) -> list[int]:
    """Pids of the SDK worker processes under `root` (Beam starts them through `sh -c`)."""
    table = _processes()
    descendants, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, (ppid, _) in table.items() if ppid in frontier} - descendants
        descendants |= frontier
    return sorted(pid for pid in descendants if b"sdk_worker_main" in table[pid][1] and not table[pid][1].startswith(b"/bin/sh"))


def test_killing_a_worker_process_fails_the_run_and_publishes_nothing(tmp_path):
    shard = tmp_path / "in.jsonl"
    words = [f"w{i}" for i in range(4000)]
    with shard.open("w") as handle:
        for i in range(6000):
            text = " ".join(words[(i * 7 + j * 13) % 4000] for j in range(300)) + "."
            handle.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pipelines.cli", "run", "--input", str(shard), "--output", str(out)]
    command += ["--direct_running_mode=multi_processing", "--direct_num_workers=2", "--allow_local_workers"]
    command += ["--set", "quality.enabled=false"]
    run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while not workers and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.2)
            workers = sdk_workers(run.pid)
        assert workers, "no SDK worker process appeared"
        time.sleep(3)  # let it work for a while
        os.kill(workers[0], signal.SIGKILL)
        _, err = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 1
    assert "the run failed" in err and "Nothing was published" in err
    assert not (out / "_SUCCESS").exists() and not (out / "stats.json").exists()
    assert not list(out.glob("documents/*.parquet"))
