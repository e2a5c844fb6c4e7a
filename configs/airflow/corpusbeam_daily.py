"""Airflow DAG: the daily incremental corpus job, one output partition per run date.

Each day reads that day's shards and writes `.../corpus/run_date=YYYY-MM-DD/` (`--run_date`). With
`--incremental` it reads the dedup index of every earlier date's partition, marks documents that
repeat earlier days' documents as duplicates of them, and writes its own index for the days after.
A rerun of a date (a retry, a backfill, `airflow tasks clear`) replaces that partition only:
`--overwrite` applies to the run's own partition, a run never reads its own or a later date's index,
and it publishes its files only after its accounting check passed, with `_SUCCESS` last (see the
README).

Needs `apache-airflow-providers-apache-beam` on the Airflow workers and corpusbeam installed there
(`pip install corpusbeam-*.tar.gz`, built with `python setup.py sdist`). The paths and the profile are
Airflow Variables so one file serves every environment.
"""

from __future__ import annotations

import datetime as dt

from airflow import DAG
from airflow.models import Variable
from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator

# The job's entry point inside the installed package: `python -m pipelines.job` takes the flags of
# `corpusbeam run` (the operator turns `pipeline_options` into --key=value flags).
ENTRY_POINT = Variable.get("corpusbeam_entry_point", default_var="/opt/corpusbeam/pipelines/job.py")
SHARDS = Variable.get("corpusbeam_shards", default_var="gs://FILL_IN_BUCKET/shards")
CORPUS = Variable.get("corpusbeam_corpus", default_var="gs://FILL_IN_BUCKET/corpus")
PROFILE = Variable.get("corpusbeam_profile", default_var="/opt/corpusbeam/configs/dataflow.yaml")

with DAG(
    dag_id="corpusbeam_daily",
    description="Raw shards of the day -> clean, near-deduplicated Parquet partition run_date=YYYY-MM-DD",
    schedule="@daily",
    start_date=dt.datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=10)},
    tags=["corpusbeam"],
) as dag:
    BeamRunPythonPipelineOperator(
        task_id="clean_and_dedup",
        py_file=ENTRY_POINT,
        py_system_site_packages=True,
        runner="DataflowRunner",
        pipeline_options={
            "config": PROFILE,
            "input": f"{SHARDS}/{{{{ ds }}}}/*",
            "output": CORPUS,
            "run_date": "{{ ds }}",
            "incremental": True,
            "overwrite": True,
        },
    )
