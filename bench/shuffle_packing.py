"""What Spark's JVM spends to shuffle documents one by one, against packed 64 to an element.

    python bench/shuffle_packing.py [--docs 100000] [--chars 3500] [--runs 2]

A pipeline of a single GroupByKey on the local Spark engine (the defaults `corpusbeam run` gives it,
with Beam's LOOPBACK worker in the driver process): `--docs` strings of `--chars` characters, the size
of a planted document, each under its own random key (`single`), or in lists of 64 under 256 keys
(`packed`). For each, in turns, wall time and CPU of the driver and of the JVM. The difference in the
JVM's CPU is what packing the dedup stage's two shuffles of whole documents could save there.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from pathlib import Path

from speed import measure

_PACK = 64


def _elements(mode: str, docs: int, chars: int):
    payload = os.urandom(chars // 2).hex()
    if mode == "packed":
        for start in range(0, docs, _PACK):
            yield start // _PACK % 256, [payload] * min(_PACK, docs - start)
    else:
        rng = random.Random(1)
        for _ in range(docs):
            yield rng.getrandbits(62), payload


def _shuffle(mode: str, docs: int, chars: int) -> None:
    """The pipeline itself (run in a subprocess by `main`; importing `speed` put the repo on the path)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.options import PROCESS_WORKERS, engine_defaults

    options = PipelineOptions(["--runner=SparkRunner"])
    flags = [flag for flag in engine_defaults(options) if PROCESS_WORKERS not in flag]  # its pool is the CLI's
    with beam.Pipeline(options=PipelineOptions(["--runner=SparkRunner", *flags])) as p:
        _ = (
            p
            | beam.Impulse()
            | "Elements" >> beam.FlatMap(lambda _: _elements(mode, docs, chars))
            | beam.GroupByKey()
            | "Values" >> beam.Map(lambda kv: len(list(kv[1])))  # every value decoded in the SDK worker
            | beam.CombineGlobally(sum)
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--chars", type=int, default=3500)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--only", choices=("single", "packed"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:
        _shuffle(args.only, args.docs, args.chars)
        return 0
    print(f"{'elements':8s} {'wall s':>7s} {'driver CPU s':>12s} {'JVM CPU s':>10s}")
    for _ in range(args.runs):
        for mode in ("single", "packed"):
            cmd = [sys.executable, str(Path(__file__)), "--only", mode, "--docs", str(args.docs), "--chars", str(args.chars)]
            # stderr: gRPC's streams to the job server end in errors when Beam stops its JVM
            result = measure(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if result["returncode"] != 0:
                raise SystemExit(f"failed: {' '.join(cmd)}")
            kinds = result["cpu_by_kind"]
            print(f"{mode:8s} {result['wall']:7.1f} {kinds.get('driver', 0.0):12.1f} {kinds.get('java', 0.0):10.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
