"""The Dataflow profile, checked as far as is possible offline: Beam's DataflowRunner translates the
whole graph with `--dry_run` (no credentials, nothing submitted, no network).

It needs Beam's Google Cloud clients, the `[dataflow]` extra, which `make test` installs in a
virtualenv of its own (`.venv-dataflow`) and runs this module there: installed in the dev
virtualenv, `import apache_beam` would import them in every process (about 0.3 s of CPU each).
Elsewhere the module skips, or fails under CORPUSBEAM_REQUIRE_DATAFLOW."""

from __future__ import annotations

import os
import socket
import tarfile

import apache_beam as beam
import pytest
from apache_beam.portability.api import beam_runner_api_pb2

from pipelines.build import build_pipeline
from pipelines.run import prepare
from tests.conftest import ROOT

try:
    import apache_beam.runners.dataflow.internal.apiclient  # noqa: F401  (needs the Google Cloud clients)
except ImportError:
    if os.environ.get("CORPUSBEAM_REQUIRE_DATAFLOW"):
        raise
    pytest.skip("needs the [dataflow] extra: `make test` runs it in .venv-dataflow", allow_module_level=True)

DRY_RUN = [
    "--config",
    str(ROOT / "configs" / "dataflow.yaml"),
    "--project=demo-project",
    "--region=europe-west1",
    "--temp_location=gs://demo-bucket/tmp",
    "--staging_location=gs://demo-bucket/staging",
    "--dry_run=True",
]


@pytest.fixture
def no_network(monkeypatch):
    """Any connection but to this machine fails the test."""
    connect = socket.socket.connect

    def local_only(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and "/" not in host:
            raise AssertionError(f"the dry run reached for the network: {address}")
        return connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)


def test_dataflow_profile_translates_the_whole_graph_offline(no_network, monkeypatch):
    monkeypatch.chdir(ROOT)  # the profile's setup_file is ./setup.py
    options, config, _ = prepare(DRY_RUN)
    p = beam.Pipeline(options=options)
    build_pipeline(p, config, ["gs://demo-bucket/shards/*.jsonl.gz"], "gs://demo-bucket/corpus/_staging-1")
    result = p.run()

    assert result.state == beam.runners.runner.PipelineState.DONE
    job = result.job
    assert job.proto.type_.name == "JOB_TYPE_BATCH"
    stages = {t.unique_name.split("/")[0] for t in job.proto_pipeline.components.transforms.values()}
    assert {"ReadRawShards", "CleanAndParse", "DeduplicateDocuments", "WriteTables", "WriteStats"} <= stages
    assert "use_runner_v2" in options.view_as(beam.options.pipeline_options.DebugOptions).experiments

    (environment,) = job.proto_pipeline.components.environments.values()
    image = beam_runner_api_pb2.DockerPayload.FromString(environment.payload).container_image
    assert image.endswith(f"_sdk:{beam.__version__}")
    # --setup_file: the workers receive this package as an sdist holding both packages of worker code
    paths = [beam_runner_api_pb2.ArtifactFilePayload.FromString(d.type_payload).path for d in environment.dependencies]
    (sdist,) = [path for path in paths if path.endswith(".tar.gz")]
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    for module in ("transforms/dedup/transform.py", "transforms/records.py", "pipelines/build.py"):
        assert any(name.endswith(module) for name in names), module
