"""`python pipelines/job.py FLAGS` is `corpusbeam run FLAGS`: the script a scheduler's Beam operator
runs (Airflow's BeamRunPythonPipelineOperator takes a Python file and passes the job's options as
--key=value flags). Nothing imports this module."""

from __future__ import annotations

import sys

from pipelines.cli import entry

if __name__ == "__main__":
    sys.exit(entry(["run", *sys.argv[1:]]))
