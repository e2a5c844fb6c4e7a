# SDK worker image for cluster runners (Flink, Spark, Dataflow): Beam's Python 3.11 SDK image with
# corpusbeam and its pinned dependencies installed, so workers need no --setup_file.
#   docker build -t REGISTRY/corpusbeam:0.1.0 . && docker push REGISTRY/corpusbeam:0.1.0
FROM apache/beam_python3.11_sdk:2.77.0
WORKDIR /opt/corpusbeam
COPY setup.py README.md ./
COPY pipelines ./pipelines
COPY transforms ./transforms
RUN pip install --no-cache-dir .
# The base image's entrypoint (/opt/apache/beam/boot) starts the SDK worker harness.
