"""The Airflow DAG example imports and schedules the daily job (skipped where Airflow is not installed)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import ROOT

DAG_FILE = ROOT / "configs" / "airflow" / "corpusbeam_daily.py"


def test_the_daily_dag_imports_and_runs_the_job_per_run_date():
    pytest.importorskip("airflow")
    pytest.importorskip("airflow.providers.apache.beam")
    spec = importlib.util.spec_from_file_location("corpusbeam_daily", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    assert dag.dag_id == "corpusbeam_daily" and [t.task_id for t in dag.tasks] == ["clean_and_dedup"]
    task = dag.get_task("clean_and_dedup")
    assert task.py_file.endswith("pipelines/job.py")
    options = task.pipeline_options
    assert options["run_date"] == "{{ ds }}" and options["incremental"] is True and options["overwrite"] is True
    assert "{{ ds }}" in options["input"]
    # The flags the operator passes are the ones `corpusbeam run` reads.
    from airflow.providers.apache.beam.hooks.beam import beam_options_to_args
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.options import CorpusOptions

    parsed = PipelineOptions(beam_options_to_args({**options, "run_date": "2026-11-02"})).view_as(CorpusOptions)
    assert parsed.incremental and parsed.overwrite and parsed.run_date == "2026-11-02" and parsed.output == options["output"]


def test_the_entry_point_the_dag_names_is_corpusbeam_run(tmp_path):
    """`python pipelines/job.py FLAGS`, as the operator runs it, is `corpusbeam run FLAGS`."""
    import subprocess
    import sys

    out = tmp_path / "o"
    command = [
        sys.executable,
        str(ROOT / "pipelines" / "job.py"),
        "--input",
        str(ROOT / "samples" / "*.jsonl*"),
        "--output",
        str(out),
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "_SUCCESS").exists()
