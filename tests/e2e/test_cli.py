"""Tier 3: the `corpusbeam` command end to end on the bundled samples, outputs read back with pyarrow."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pyarrow.dataset as ds
import pytest

from pipelines.cli import main
from tests.conftest import ROOT, SAMPLES
from transforms.records import CLUSTER_SCHEMA, DOCUMENT_SCHEMA, REJECTED_SCHEMA

SAMPLE_ARGS = [
    "--config",
    str(ROOT / "configs" / "local.yaml"),
    "--input",
    str(SAMPLES / "*.jsonl*"),
    "--input",
    str(SAMPLES / "notes" / "*.txt"),
]


def read(out, name):
    return ds.dataset(str(out / name), format="parquet").to_table()


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "out"
    assert main(["run", *SAMPLE_ARGS, "--output", str(out)]) == 0
    return out


def test_sample_run_writes_documented_parquet(sample_run):
    docs, rejected, clusters = read(sample_run, "documents"), read(sample_run, "rejected"), read(sample_run, "clusters")
    assert docs.schema.equals(DOCUMENT_SCHEMA, check_metadata=False)
    assert rejected.schema.equals(REJECTED_SCHEMA, check_metadata=False)
    assert clusters.schema.equals(CLUSTER_SCHEMA, check_metadata=False)
    assert docs.num_rows == 9 and rejected.num_rows == 2
    assert sorted(rejected.column("reason").to_pylist()) == ["empty_text", "malformed_json"]
    bad = next(r for r in rejected.to_pylist() if r["reason"] == "malformed_json")
    assert bad["source"].endswith("courier-2025-03.jsonl") and bad["record"] == 5


def test_sample_run_clusters_the_syndicated_copy_and_the_exact_copy(sample_run):
    rows = {r["id"]: r for r in read(sample_run, "documents").to_pylist()}
    # The wire copy of the pier story: three words edited, other header and footer.
    assert rows["wire-101"]["cluster_id"] == rows["courier-001"]["cluster_id"]
    dup = next(r for r in (rows["wire-101"], rows["courier-001"]) if r["is_duplicate"])
    assert dup["duplicate_of"] in {"wire-101", "courier-001"} and 0.8 <= dup["similarity"] < 1.0
    # The bridge story published twice with the same page template.
    assert rows["wire-103"]["cluster_id"] == rows["courier-004"]["cluster_id"]
    assert rows["wire-103"]["is_duplicate"] and rows["wire-103"]["similarity"] == 1.0
    others = [r for i, r in rows.items() if i not in {"wire-101", "courier-001", "wire-103", "courier-004"}]
    assert all(r["cluster_size"] == 1 and not r["is_duplicate"] for r in others)


def test_sample_run_parses_metadata_and_strips_boilerplate(sample_run):
    rows = {r["id"]: r for r in read(sample_run, "documents").to_pylist()}
    frost = rows["courier-003"]
    assert str(frost["date"]) == "2025-03-13" and frost["url"] == "https://valley-courier.example/farm/frost"
    assert frost["title"] == "Late Frost Threatens the Valley's Apple Harvest"
    assert json.loads(frost["metadata"]) == {"section": "farm"}
    assert all(r["lang"] == "en" and r["lang_score"] > 0.9 for r in rows.values())
    pier = rows["courier-001"]["text"]
    assert pier.startswith("The city's harbor board voted") and pier.endswith("at its next meeting.")
    assert rows["courier-001"]["title"] == "Harbor Board Approves Plan to Restore the Old Ferry Pier"
    for furniture in ("Skip to content", "Read more", "newsletter", "cookies", "All rights reserved"):
        assert furniture not in pier
    assert {r["site"] for r in rows.values()} == {"valley-courier.example", "coastal-wire.example", None}


def test_sample_run_removes_the_sites_template_lines(sample_run):
    # Every Valley Courier page carries the same membership appeal: a prose line no per-page rule can
    # tell from the article; it is on 4 pages of the site, so it goes from all of them.
    appeal = "journalism is paid for by readers like you"
    raw = (SAMPLES / "courier-2025-03.jsonl").read_text()
    assert raw.count(appeal) == 4
    rows = read(sample_run, "documents").to_pylist()
    assert not any(appeal in r["text"] for r in rows)


def test_stats_account_for_every_record(sample_run):
    stats = json.loads((sample_run / "stats.json").read_text())
    assert stats["accounting_ok"] is True
    assert stats["input_records"] == 11 == stats["documents"] + stats["rejected"]
    assert stats["duplicates"] == 2 and stats["clusters"] == 2 and stats["input_files"] == 3
    for entry in stats["per_file"].values():
        assert entry["input_records"] == entry["documents"] + entry["rejected"]
    assert stats["run"]["runner"] == "FnApiRunner"


def test_rerun_refuses_a_full_output_unless_overwrite(sample_run, capsys):
    assert main(["run", *SAMPLE_ARGS, "--output", str(sample_run)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    before = sorted(read(sample_run, "documents").column("id").to_pylist())
    assert main(["run", *SAMPLE_ARGS, "--output", str(sample_run), "--overwrite"]) == 0
    assert sorted(read(sample_run, "documents").column("id").to_pylist()) == before
    assert len(list((sample_run / "documents").glob("*.parquet"))) == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "dedup.treshold=0.8"], "dedup.treshold"),
        (["--set", "dedup.threshold=2"], "dedup.threshold"),
        (["--runner=DaskRunner"], "DaskRunner is refused"),
        (["--direct_running_mode=multi_threading", "--direct_num_workers=2"], "--direct_num_workers=2 is refused"),
        (["--direct_running_mode=multi_threading", "--direct_num_workers=0"], "--direct_num_workers=0 is refused"),
        (["--direct_running_mode=multi_processing", "--direct_num_workers=2"], "--allow_local_workers runs it anyway"),
    ],
)
def test_user_errors_exit_2_with_a_message_and_no_traceback(tmp_path, capsys, extra, message):
    assert main(["run", *SAMPLE_ARGS, "--output", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_pattern_matching_nothing_is_named(tmp_path, capsys):
    assert main(["run", "--input", str(tmp_path / "nothing-*.jsonl"), "--output", str(tmp_path / "o")]) == 2
    assert "matches no file" in capsys.readouterr().err


def test_clean_disabled_passes_text_through(tmp_path):
    assert main(["run", *SAMPLE_ARGS, "--output", str(tmp_path / "o"), "--set", "clean.enabled=false"]) == 0
    rows = {r["id"]: r for r in read(tmp_path / "o", "documents").to_pylist()}
    raw = json.loads((SAMPLES / "courier-2025-03.jsonl").read_text().splitlines()[0])
    assert rows["courier-001"]["text"] == raw["text"]


def test_dedup_disabled_makes_every_document_its_own_cluster(tmp_path):
    assert main(["run", *SAMPLE_ARGS, "--output", str(tmp_path / "o"), "--set", "dedup.enabled=false"]) == 0
    documents = read(tmp_path / "o", "documents").to_pylist()
    assert documents and all(r["cluster_size"] == 1 and not r["is_duplicate"] for r in documents)
    assert read(tmp_path / "o", "clusters").num_rows == 0


# Network use is any connection, datagram, name lookup or URL request, and any bind off loopback.
# Creating a socket object is not: urllib3 (imported by Beam) probes IPv6 support at import time by
# binding a socket to ::1, which never leaves the machine; that bind is allowed and nothing else.
_GUARD = textwrap.dedent(
    """
    import os, sys
    NETWORK = {"socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
               "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr", "urllib.Request"}
    LOOPBACK = {"::1", "127.0.0.1", "localhost"}
    def guard(event, args):
        bad = event in NETWORK or (event == "socket.bind" and str(args[1][0]) not in LOOPBACK)
        if bad:
            sys.stderr.write(f"NETWORK USE: {event} {args!r}\\n"); sys.stderr.flush(); os._exit(97)
    sys.addaudithook(guard)
    """
)


def _guarded(code: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _GUARD + code], cwd=tmp_path, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "code",
    [
        "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9', timeout=1)",  # what a Prism download does
        "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)",
        "import socket\nsocket.getaddrinfo('example.com', 443)",
    ],
    ids=["url", "connect", "lookup"],
)
def test_guard_catches_network_use(tmp_path, code):
    """The guard is real: each kind of network use ends the process with code 97."""
    result = _guarded(code, tmp_path)
    assert result.returncode == 97 and "NETWORK USE" in result.stderr


def test_local_run_opens_no_socket(tmp_path):
    args = ["run", *SAMPLE_ARGS, "--output", str(tmp_path / "o")]
    result = _guarded(f"from pipelines.cli import main\nsys.exit(main({args!r}))", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "NETWORK USE" not in result.stderr
    assert (tmp_path / "o" / "stats.json").exists()


def test_console_script_help():
    exe = ROOT / ".venv" / "bin" / "corpusbeam"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "pipelines.cli"]
    result = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "run" in result.stdout and "lsh" in result.stdout
    run_help = subprocess.run([*command, "run", "--help"], capture_output=True, text=True, timeout=120)
    assert "--set KEY=VALUE" in run_help.stdout and "--runner" in run_help.stdout


def test_lsh_command_prints_bands_and_curve(capsys):
    assert main(["lsh", "--threshold", "0.8", "--num-perm", "128"]) == 0
    out = capsys.readouterr().out
    assert "bands x rows: 16 x 6" in out and "0.80" in out


def test_multi_processing_workers_give_the_same_documents(sample_run, tmp_path):
    """Two SDK workers in separate processes (the Fn API protocol of cluster runners) change nothing."""
    out = tmp_path / "mp"
    assert (
        main(
            [
                "run",
                *SAMPLE_ARGS,
                "--output",
                str(out),
                "--direct_running_mode=multi_processing",
                "--direct_num_workers=2",
                "--allow_local_workers",
            ]
        )
        == 0
    )
    one = read(sample_run, "documents").sort_by("doc_key")
    two = read(out, "documents").sort_by("doc_key")
    assert one.equals(two)
    assert read(sample_run, "clusters").sort_by("cluster_id").equals(read(out, "clusters").sort_by("cluster_id"))


def test_relative_paths_are_made_absolute_on_the_driver(tmp_path, monkeypatch):
    """Workers of other runners run in other folders: a relative path must not reach them."""
    monkeypatch.chdir(ROOT)
    out = tmp_path / "o"
    assert main(["run", "--input", "samples/*.jsonl*", "--output", str(out)]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["run"]["inputs"] == [str(ROOT / "samples" / "*.jsonl*")]
    assert all(path.startswith(str(ROOT)) for path in stats["per_file"])
