"""The graph on the portable worker protocol, with workers that only have the installed package.

Cluster runners (Flink, Spark, Dataflow) run the Python SDK workers as separate processes that get
corpusbeam from the sdist `setup.py` builds (`--setup_file`). Here: build that sdist, install it into
a fresh virtualenv, start Beam's worker pool from that virtualenv in a folder unrelated to the repo,
and run `corpusbeam run --runner=PortableRunner --job_endpoint=embed` with its workers there
(`--environment_type=EXTERNAL`). The output must equal the in-memory run's.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pyarrow.dataset as ds
import pytest

from pipelines.cli import main
from tests.conftest import ROOT
from tests.e2e.test_cli import SAMPLE_ARGS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def worker_pool(tmp_path_factory):
    """A Beam worker pool running from a virtualenv into which only the sdist was installed."""
    base = tmp_path_factory.mktemp("portable")
    subprocess.run(
        [sys.executable, "setup.py", "-q", "sdist", "-d", str(base / "dist")], cwd=ROOT, check=True, capture_output=True
    )
    (sdist,) = (base / "dist").glob("corpusbeam-*.tar.gz")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(sdist)], check=True, capture_output=True)
    work = base / "work"  # the workers' folder: nothing of the repo is importable from here
    work.mkdir()
    port = free_port()
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}  # the pool starts `python`
    env.pop("PYTHONPATH", None)
    log = (base / "pool.log").open("w")
    command = ["python", "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={port}"]
    pool = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "Started worker pool" not in (base / "pool.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    yield port, base / "pool.log", venv, work
    pool.kill()
    pool.wait()
    log.close()


def test_portable_runner_with_workers_from_the_sdist_gives_the_direct_output(worker_pool, tmp_path):
    port, pool_log, venv, work = worker_pool
    direct, portable = tmp_path / "direct", tmp_path / "portable"
    assert main(["run", *SAMPLE_ARGS, "--output", str(direct)]) == 0
    profile = ["--config", str(ROOT / "configs" / "portable.yaml"), "--set", f"beam.environment_config=localhost:{port}"]
    assert main(["run", *SAMPLE_ARGS[2:], *profile, "--output", str(portable)]) == 0  # SAMPLE_ARGS[2:]: its inputs
    assert json.loads((portable / "stats.json").read_text())["run"]["runner"] == "PortableRunner"
    log = pool_log.read_text()
    assert "Starting worker" in log and "Traceback" not in log  # the work ran in the pool's workers
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import transforms; print(transforms.__file__)"],
        cwd=work,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(venv) in installed.stdout  # the workers import the installed package, not the repo
    for name, key in (("documents", "doc_key"), ("rejected", "record"), ("clusters", "cluster_id")):
        one = ds.dataset(str(direct / name), format="parquet").to_table().sort_by(key)
        two = ds.dataset(str(portable / name), format="parquet").to_table().sort_by(key)
        assert one.equals(two), name
