"""A machine fault while the outputs are written: the file-size limit of the process (`ulimit -f`, as
a full disk or quota behaves) makes every write past it fail with EFBIG. The run must fail with a
message that says so, publish nothing, and leave the previous output as it was and readable."""

from __future__ import annotations

import json
import random
import resource
import signal
import subprocess
import sys

import pyarrow.dataset as ds

from pipelines.cli import main, storage_fault
from tests.conftest import ROOT
from tests.e2e.test_lost_records import files_under

LIMIT_BYTES = 300_000


def _write_limit() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, LIMIT_BYTES))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing us


def test_a_full_disk_fails_the_run_publishes_nothing_and_keeps_the_previous_output(tmp_path):
    rng = random.Random(5)
    vocabulary = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(5000)]
    shard = tmp_path / "in.jsonl"
    with shard.open("w") as handle:
        for i in range(2000):
            words = " ".join(rng.choice(vocabulary) for _ in range(120))
            handle.write(json.dumps({"id": f"d{i}", "text": f"{words}."}) + "\n")
    out = tmp_path / "out"
    args = ["run", "--input", str(shard), "--output", str(out), "--set", "quality.enabled=false", "--set", "clean.enabled=false"]
    assert main(args) == 0
    before = {name: (out / name).read_bytes() for name in files_under(out)}
    assert sum(len(b) for name, b in before.items() if name.startswith("documents/")) > LIMIT_BYTES

    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args, "--overwrite"],
        cwd=ROOT,
        preexec_fn=_write_limit,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "the output could not be written: [Errno 27] File too large" in proc.stderr
    assert "Nothing was published" in proc.stderr
    assert {name: (out / name).read_bytes() for name in files_under(out)} == before
    assert ds.dataset(str(out / "documents"), format="parquet").count_rows() == 2000


def test_storage_faults_are_found_in_what_beam_wraps():
    assert storage_fault(OSError(28, "No space left on device")) == "[Errno 28] No space left on device"
    wrapped = RuntimeError("Error in bundle: Traceback ...\nOSError: [Errno 30] Read-only file system: '/out/x'\n")
    assert storage_fault(wrapped) == "[Errno 30] Read-only file system: '/out/x'"
    assert storage_fault(RuntimeError("[Errno 2] No such file or directory")) is None
    assert storage_fault(ValueError("bad")) is None
