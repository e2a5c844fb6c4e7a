"""Start a Python SDK worker for a PROCESS environment: the command a Flink TaskManager runs.

    --environment_type=PROCESS --environment_config='{"command": "<python> -m pipelines.sdk_worker_boot"}'

A runner starts a PROCESS environment's command with `--id` and `--provision_endpoint`, as it starts
Beam's SDK container entrypoint (a Go program, `boot`). Like it, this asks the provision service for
the job's pipeline options and the control and logging endpoints, and starts Beam's `sdk_worker_main`
with them; unlike it, it installs nothing: the worker runs in this interpreter's environment, which
holds Beam and this package. That is what a session cluster on this
machine needs (each TaskManager starts its own workers, where LOOPBACK would have every TaskManager
ask the one driver, whose worker pool names workers by a per-TaskManager counter and mixes them up).
"""

from __future__ import annotations

import argparse
import os
import sys

import grpc
from apache_beam.portability.api import beam_provision_api_pb2, beam_provision_api_pb2_grpc, endpoints_pb2
from google.protobuf import json_format, text_format


def _descriptor(url: str) -> str:
    return text_format.MessageToString(endpoints_pb2.ApiServiceDescriptor(url=url))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--id", required=True)
    parser.add_argument("--provision_endpoint", required=True)
    parser.add_argument("--control_endpoint", help="default: the provision service's")
    parser.add_argument("--logging_endpoint", help="default: the provision service's")
    parser.add_argument("--semi_persist_dir", default="/tmp")
    args, _ = parser.parse_known_args(argv)
    with grpc.insecure_channel(args.provision_endpoint) as channel:
        stub = beam_provision_api_pb2_grpc.ProvisionServiceStub(channel)
        request = beam_provision_api_pb2.GetProvisionInfoRequest()
        info = stub.GetProvisionInfo(request, metadata=[("worker_id", args.id)]).info
    environment = dict(os.environ)
    environment.update(
        WORKER_ID=args.id,
        PIPELINE_OPTIONS=json_format.MessageToJson(info.pipeline_options),
        CONTROL_API_SERVICE_DESCRIPTOR=_descriptor(args.control_endpoint or info.control_endpoint.url),
        LOGGING_API_SERVICE_DESCRIPTOR=_descriptor(args.logging_endpoint or info.logging_endpoint.url),
        SEMI_PERSISTENT_DIRECTORY=args.semi_persist_dir,
    )
    os.execve(sys.executable, [sys.executable, "-m", "apache_beam.runners.worker.sdk_worker_main"], environment)


if __name__ == "__main__":
    main()
