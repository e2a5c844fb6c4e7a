"""What users see: progress lines, the summary table, report.html (rendered in headless Chromium),
`corpusbeam inspect`, Hive-partitioned documents read by DuckDB, and errors a person can act on."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from pipelines.report.html import _TOP_SITES, _power_bins, _similarity_bins, _sites, _word_diff, gather
from pipelines.report.outputs import open_run, reason_stage
from tests.conftest import ROOT
from tests.e2e.test_cli import SAMPLE_ARGS, read
from transforms import metrics
from transforms.write.parquet import HIVE_NULL, hive_folder

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHARTS = {"funnel", "rejections", "cluster_sizes", "similarity", "lsh", "languages", "sites", "lengths"}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    assert main(["--quiet", "run", *SAMPLE_ARGS, "--output", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def partitioned_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("partitioned") / "out"
    assert main(["--quiet", "run", *SAMPLE_ARGS, "--output", str(out), "--set", "output.partition_by=lang,site"]) == 0
    return out


# --- tier 1: pure pieces -------------------------------------------------------------------------


def test_power_bins_start_at_the_lowest_filled_bin():
    assert _power_bins([3, 70, 130, 140], 16) == [("<16", 1), ("16-31", 0), ("32-63", 0), ("64-127", 1), ("128-255", 2)]
    assert _power_bins([], 16) == []


def test_similarity_bins_keep_exact_copies_apart():
    bins = dict(_similarity_bins([0.81, 0.8249, 0.83, 1.0, 1.0]))
    assert bins["1 (exact)"] == 2
    assert bins["0.800"] == 2 and bins["0.825"] == 1
    assert sum(bins.values()) == 5


def test_sites_keep_the_largest_and_sum_the_rest():
    sites = [f"s{i:02d}.example" for i in range(_TOP_SITES + 3) for _ in range(_TOP_SITES + 3 - i)] + [None, None]
    duplicate = [i % 3 == 0 for i in range(len(sites))]
    rows = _sites(sites, duplicate)
    assert [name for name, _ in rows[:2]] == ["s00.example", "s01.example"]
    assert rows[-2][0] == "3 other sites" and rows[-1][0] == "no url"
    assert len(rows) == _TOP_SITES + 2
    assert sum(u + d for _, (u, d) in rows) == len(sites)
    assert sum(d for _, (_, d) in rows) == sum(duplicate)


def test_word_diff_marks_only_the_changed_words():
    left, right = _word_diff("the board voted on Tuesday night to act", "the board voted on Tuesday evening to act")
    assert left == "the board voted on Tuesday <del>night</del> to act"
    assert right == "the board voted on Tuesday <ins>evening</ins> to act"
    # A copy cut from the middle of a longer text is shown from where it aligns, with some context.
    words = [f"w{i}" for i in range(400)]
    left, right = _word_diff(" ".join(words), " ".join(words[200:260]))
    assert left.startswith("… <del>w170 ") and "</del> w200 w201" in left
    assert right.startswith("w200 w201") and "<ins>" not in right
    escaped, _ = _word_diff("a <b> c", "a <b> d")
    assert "&lt;b&gt;" in escaped and "<b>" not in escaped


def test_hive_folder_names_and_escapes_values():
    assert hive_folder(("lang", "site"), {"lang": "en", "site": "a.example"}) == "lang=en/site=a.example"
    assert hive_folder(("lang",), {"lang": None}) == f"lang={HIVE_NULL}"
    assert hive_folder(("site",), {"site": "a/b=c"}) == "site=a%2Fb%3Dc"


def test_rejection_reasons_map_to_their_stage():
    assert [reason_stage(r) for r in ("malformed_json", "too_short", "gopher_stop_words", "c4_curly_bracket")] == [
        "read",
        "clean",
        "quality",
        "quality",
    ]


def test_progress_logs_running_counts_at_its_interval(caplog, monkeypatch):
    clock = iter([0.0, 0.5, 2.0, 2.1, 4.5])
    monkeypatch.setattr(metrics.time, "monotonic", lambda: next(clock))
    progress = metrics.Progress(interval=2.0)
    with caplog.at_level(logging.INFO, logger="corpusbeam.progress"):
        progress.add("input-records", 10)  # t=0 starts the clock
        progress.add("filtered:too_short", 3)  # t=0.5: too soon
        progress.add("passed", 7)  # t=2.0: logs
        progress.add("input-records", 5)  # t=2.1: too soon
        progress.add("dedup:candidate-links", 4)  # t=4.5: logs
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    # 10 records through cleaning (7 kept, 3 rejected) in the first 2 s; none in the next 2.5 s.
    assert "read 10 " in lines[0] and "cleaned 7 (5 records/s)" in lines[0] and "rejected 3 (too_short 3)" in lines[0]
    assert "read 15 " in lines[1] and "cleaned 7 (0 records/s)" in lines[1] and "candidate links 4" in lines[1]


def test_heartbeat_logs_while_no_counter_moves_and_stops_after(caplog, monkeypatch):
    progress = metrics.Progress(interval=0.2)
    monkeypatch.setattr(metrics, "_progress", progress)
    progress.add("input-records", 5)  # an earlier job's count
    with caplog.at_level(logging.INFO, logger="corpusbeam.progress"):
        with metrics.heartbeat():
            progress.add("input-records", 3)
            time.sleep(1.5)  # a long shuffle: no counter moves
        during = len(caplog.records)
        time.sleep(0.5)
    assert 3 <= during <= 8, [r.getMessage() for r in caplog.records]
    assert len(caplog.records) == during, "the heartbeat went on after the job"
    assert all("read 3 " in r.getMessage() for r in caplog.records), "the job is counted from zero"


# --- tier 3: through the CLI ---------------------------------------------------------------------


def test_run_logs_progress_and_prints_a_summary_table(tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setattr(metrics, "_progress", metrics.Progress(interval=1e-9))
    with caplog.at_level(logging.INFO, logger="corpusbeam.progress"):
        assert main(["run", *SAMPLE_ARGS, "--output", str(tmp_path / "out")]) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "corpusbeam.progress"]
    assert lines and lines[-1].startswith("progress")
    last = lines[-1]
    assert "read 11 " in last and "rejected 2 (empty_text 1, malformed_json 1)" in last
    assert "documents written 9" in last
    table = capsys.readouterr().out
    assert re.search(r"input records\s+11\s+from 3 files", table)
    assert re.search(r"rejected reading\s+2", table) and re.search(r"unique documents\s+7", table)
    assert "report.html" in table


def test_report_is_self_contained_and_shows_every_chart(sample_run):
    html = (sample_run / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the page must load nothing"
    charts = dict(re.findall(r'data-chart="(\w+)">(.*?)</figure>', html, re.S))
    assert set(charts) == CHARTS
    marks = {name: body.count('class="mark"') for name, body in charts.items()}
    assert marks["funnel"] == 5 and marks["rejections"] == 2 and marks["languages"] == 1
    assert "<title>input records: 11</title>" in charts["funnel"]
    assert "<title>unique documents: 7</title>" in charts["funnel"]
    assert "<title>1 (exact): 1</title>" in charts["similarity"]
    docs = read(sample_run, "documents").to_pylist()
    for site in {doc["site"] for doc in docs}:
        name = site or "no url"
        duplicates = sum(1 for doc in docs if doc["site"] == site and doc["is_duplicate"])
        unique = sum(1 for doc in docs if doc["site"] == site and not doc["is_duplicate"])
        assert f"<title>{name}, unique: {unique}</title>" in charts["sites"]
        assert (f"<title>{name}, duplicates: {duplicates}</title>" in charts["sites"]) == (duplicates > 0)
    # The example clusters: the edited syndicated copy shows its changed words.
    assert html.count('class="example"') == 2
    assert "<del>night</del>" in html and "<ins>evening</ins>" in html


def test_report_command_rebuilds_the_same_page(sample_run, tmp_path, capsys):
    target = tmp_path / "again.html"
    assert main(["report", str(sample_run), "--to", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == (sample_run / "report.html").read_text(encoding="utf-8")


_PROBE = """<script>
const charts = [...document.querySelectorAll('figure.chart')].map(fig => {
  const svg = fig.querySelector('svg'), box = svg.getBoundingClientRect();
  const drawn = [...svg.querySelectorAll('.mark')].filter(m => {
    const b = m.getBBox(), style = getComputedStyle(m);
    return (b.width > 0 || b.height > 0) && style.visibility !== 'hidden' && style.display !== 'none';
  }).length;
  return {name: fig.dataset.chart, x: box.x + scrollX, y: box.y + scrollY, width: box.width, height: box.height, drawn};
});
const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(charts);
document.body.appendChild(pre);
</script>"""

_CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _chromium(tmp_path, *args):
    if CHROMIUM is None:
        if os.environ.get("CORPUSBEAM_REQUIRE_CHROMIUM"):
            pytest.fail("no chromium: `make test` installs Debian's chromium when run as root")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    command = [CHROMIUM, *_CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def test_report_charts_are_drawn_in_headless_chromium(sample_run, tmp_path):
    """Chromium lays the page out; every chart's SVG has a size and its marks have a size, and the
    screenshot has the marks' colour inside each chart's box."""
    from PIL import Image

    html = (sample_run / "report.html").read_text(encoding="utf-8")
    # The page's policy forbids scripts; the probe needs one, so its copy drops the policy.
    probed = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", html).replace("</body>", _PROBE + "</body>")
    page = tmp_path / "probed.html"
    page.write_text(probed, encoding="utf-8")
    dom = _chromium(tmp_path, "--window-size=1400,2000", "--dump-dom", page.as_uri()).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe did not run"
    charts = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert {c["name"] for c in charts} == CHARTS
    for chart in charts:
        assert chart["width"] > 300 and chart["height"] > 20, chart
        assert chart["drawn"] >= 1, chart

    shot = tmp_path / "report.png"
    _chromium(tmp_path, "--window-size=1400,3000", f"--screenshot={shot}", (sample_run / "report.html").as_uri())
    image = Image.open(shot).convert("RGB")
    bar_blue = (0x3B, 0x6E, 0xA5)
    for chart in charts:
        box = (int(chart["x"]), int(chart["y"]), int(chart["x"] + chart["width"]), int(chart["y"] + chart["height"]))
        pixels = image.crop(box).getdata()
        if chart["name"] == "rejections":  # coloured by stage; both reasons here are read errors
            continue
        near = sum(1 for p in pixels if all(abs(a - b) < 30 for a, b in zip(p, bar_blue)))
        assert near > 50, f"{chart['name']}: no drawn marks in its screenshot box"


def test_inspect_summarises_the_run_and_one_cluster(sample_run, capsys):
    assert main(["inspect", str(sample_run)]) == 0
    summary = capsys.readouterr().out
    assert re.search(r"input records\s+11", summary) and re.search(r"unique documents\s+7", summary)
    assert "malformed_json [read]" in summary
    assert re.search(r"coastal-wire\.example\s+\d+\s+1\n", summary)
    cluster = next(r["cluster_id"] for r in read(sample_run, "clusters").to_pylist() if "courier-001" in r["member_ids"])
    assert f"--cluster {cluster}" in summary or "largest: cluster" in summary
    assert main(["inspect", str(sample_run), "--cluster", str(cluster)]) == 0
    detail = capsys.readouterr().out
    assert "wire-101" in detail and "courier-001" in detail and "similarity 0.8" in detail
    assert "harbor board voted" in detail


def test_inspect_names_what_is_wrong(sample_run, tmp_path, capsys):
    assert main(["inspect", str(sample_run), "--cluster", "5"]) == 2
    assert "no cluster 5" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path)]) == 2
    assert "holds no finished run" in capsys.readouterr().err


def test_lookup_reads_the_rows_of_the_wanted_keys_in_file_order(sample_run, tmp_path):
    """Keys scattered over row groups, consecutive and apart, asked for twice and out of order."""
    run = tmp_path / "run"
    shutil.copytree(sample_run, run)
    docs = run / "documents"
    for path in docs.glob("*.parquet"):
        path.unlink()
    keys = list(range(100, 130))
    table = pa.table({"doc_key": pa.array(keys, pa.int64()), "text": [f"text {k}" for k in keys]})
    pq.write_table(table, docs / "part-00000-of-00001.parquet", row_group_size=7)
    wanted = [129, 101, 102, 103, 111, 118, 999, 102, 119, 120]
    found = open_run(str(run)).lookup("documents", "doc_key", wanted, ["doc_key", "text"]).to_pylist()
    assert [r["doc_key"] for r in found] == [101, 102, 103, 111, 118, 119, 120, 129]
    assert all(r["text"] == f"text {r['doc_key']}" for r in found)
    assert open_run(str(run)).lookup("documents", "doc_key", [5], ["doc_key"]).num_rows == 0


def test_partitioned_documents_match_the_flat_ones(sample_run, partitioned_run):
    files = sorted(
        p.relative_to(partitioned_run / "documents").as_posix() for p in (partitioned_run / "documents").rglob("*.parquet")
    )
    assert files == [
        "lang=en/site=__HIVE_DEFAULT_PARTITION__/part-00000-of-00001.parquet",
        "lang=en/site=coastal-wire.example/part-00000-of-00001.parquet",
        "lang=en/site=valley-courier.example/part-00000-of-00001.parquet",
    ]
    flat = read(sample_run, "documents").sort_by("id")
    hive = ds.dataset(str(partitioned_run / "documents"), format="parquet", partitioning="hive").to_table()
    assert "lang" not in ds.dataset(str(partitioned_run / "documents" / files[1]), format="parquet").schema.names
    hive = hive.sort_by("id")
    assert hive.column("id").to_pylist() == flat.column("id").to_pylist()
    assert hive.column("lang").to_pylist() == flat.column("lang").to_pylist()
    # Hive's default partition reads back as null, in pyarrow as in DuckDB and Spark.
    assert hive.column("site").to_pylist() == flat.column("site").to_pylist()
    assert hive.column("text").to_pylist() == flat.column("text").to_pylist()
    assert gather(open_run(str(partitioned_run))).languages == [("en", 9)]


def test_overwrite_of_a_partitioned_run_leaves_no_old_partition(partitioned_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(partitioned_run, out)
    assert main(["--quiet", "run", *SAMPLE_ARGS, "--output", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in (out / "documents").iterdir()) == ["part-00000-of-00001.parquet"]


def _readme_duckdb_query() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- duckdb-example -->\s*```python\n(.*?)```", readme, re.S)
    assert block, "README must keep its DuckDB example after <!-- duckdb-example -->"
    return block.group(1)


@pytest.mark.parametrize("layout", ["flat", "partitioned"])
def test_readme_duckdb_example_runs_on_the_output(sample_run, partitioned_run, layout, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    assert duckdb
    out = sample_run if layout == "flat" else partitioned_run
    code = _readme_duckdb_query().replace("out/sample", out.as_posix())
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "en" in result.stdout and "7" in result.stdout  # 7 unique documents, all English


def test_unwritable_output_is_named_before_the_job_runs(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", *SAMPLE_ARGS, "--output", str(blocker / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "cannot write to --output" in result.stderr and "choose a folder you can write to" in result.stderr
    assert "Traceback" not in result.stderr and "InitializeWrite" not in result.stderr


def test_a_misspelt_config_key_suggests_the_right_one(tmp_path, capsys):
    assert main(["run", *SAMPLE_ARGS, "--output", str(tmp_path / "o"), "--set", "dedup.treshold=0.7"]) == 2
    err = capsys.readouterr().err
    assert "dedup.treshold" in err and "did you mean 'threshold'?" in err and "Traceback" not in err


def test_a_failing_step_shows_one_line_without_debug(tmp_path):
    """A run that fails inside the graph (in its Parquet writer: a failing per-record step only rejects
    its records) prints one line naming the error; --debug adds the traceback."""
    code = (
        "import sys; import pyarrow.parquet as pq\n"
        "def boom(*a, **k): raise ValueError('writer exploded')\n"
        "pq.ParquetWriter = boom\n"
        "from pipelines.cli import main; sys.exit(main(sys.argv[1:]))\n"
    )
    args = [sys.executable, "-c", code, "run", *SAMPLE_ARGS, "--output", str(tmp_path / "o")]
    quiet = subprocess.run(args, capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert quiet.returncode == 1
    assert "writer exploded" in quiet.stderr and "Traceback" not in quiet.stderr
    loud = subprocess.run([*args[:3], "--debug", *args[3:]], capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert loud.returncode != 0 and "Traceback" in loud.stderr


@pytest.mark.parametrize("partition_by", [(), ("lang",)])
def test_parquet_row_groups_follow_row_group_mb(test_pipeline, tmp_path, partition_by):
    """About `output.row_group_mb` of data per row group, flat or partitioned: a reader that needs a
    few columns of a large file reads them a row group at a time."""
    import apache_beam as beam
    import pyarrow.parquet as pq

    from transforms.config import OutputConfig
    from transforms.records import DOCUMENT_SCHEMA, Document, document_row
    from transforms.write.transform import WriteParquetRows

    docs = [
        Document.read_at("s.jsonl", i, f"d{i}", f"text {i} " + "x" * 200, lang="en", n_words=2, cluster_id=i)
        for i in range(20000)
    ]
    config = OutputConfig(row_group_mb=1, partition_by=",".join(partition_by))
    with test_pipeline as p:
        rows = p | beam.Create(docs) | beam.Map(document_row)
        rows | WriteParquetRows(str(tmp_path / "documents"), DOCUMENT_SCHEMA, config, partitioned=True)
    files = sorted((tmp_path / "documents").rglob("*.parquet"))
    groups = [pq.ParquetFile(f).metadata.row_group(i) for f in files for i in range(pq.ParquetFile(f).metadata.num_row_groups)]
    assert sum(g.num_rows for g in groups) == 20000
    # ~5 MB of Arrow data in groups of about 1 MB (checked every ~1,000 rows of ~250 bytes).
    assert 3 <= len(groups) <= 8, [g.num_rows for g in groups]
    assert all(g.total_byte_size < 2 * 1024 * 1024 for g in groups)


@pytest.mark.parametrize(
    "flags, in_process",
    [
        ([], True),
        (["--direct_running_mode=multi_threading"], True),
        (["--direct_running_mode=multi_processing"], False),
        (["--runner=DataflowRunner"], False),
    ],
)
def test_only_jobs_run_in_this_process_get_the_heartbeat(flags, in_process):
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.options import runs_in_this_process

    assert runs_in_this_process(PipelineOptions(flags)) is in_process
