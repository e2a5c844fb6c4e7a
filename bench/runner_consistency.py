"""Does a local FnApiRunner mode compute the dedup graph the same way as the in-memory mode?

    python bench/runner_consistency.py --direct_running_mode=multi_processing --direct_num_workers=2
        [--input '../shared/bench/volume/*.jsonl.zst']

Builds read -> clean -> dedup up to the component split (bypassing the CLI, which refuses more than
one local worker) and prints, per intermediate PCollection, its size and an order-free checksum.
Run it once with --direct_running_mode=in_memory and compare: every line must be equal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import apache_beam as beam
import xxhash
from apache_beam.options.pipeline_options import PipelineOptions

from transforms.clean.transform import CleanAndParse
from transforms.config import CleanConfig, DedupConfig, ReadConfig
from transforms.dedup.components import unpack_rows
from transforms.dedup.decide import resolve_lsh
from transforms.dedup.transform import (
    BucketEdges,
    ConnectedComponents,
    JoinComponents,
    _BandKeysFn,
    _ResolveNodeFn,
    _SplitComponentFn,
    node_values,
)
from transforms.read.transform import ReadRawShards

DEFAULT_INPUT = str(Path(__file__).resolve().parents[2] / "shared" / "bench" / "volume" / "*.jsonl.zst")


def _summary(name: str):
    def report(items: list) -> None:
        digest = xxhash.xxh64("\n".join(sorted(repr(x) for x in items)).encode()).hexdigest()
        print(f"{name:14s} {len(items):>8,}  {digest}", flush=True)

    return report


def _joined(kv):
    node, values = kv
    docs, _, components = node_values(values)
    return node, len(docs), sorted(components)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=DEFAULT_INPUT)
    args, beam_args = parser.parse_known_args(argv)
    config = DedupConfig()
    bands, rows = resolve_lsh(config)
    options = PipelineOptions(["--runner=FnApiRunner", *beam_args])
    with beam.Pipeline(options=options) as p:
        docs = (p | ReadRawShards([args.input], ReadConfig())).documents | CleanAndParse(CleanConfig())
        hashed = docs["documents"] | beam.ParDo(_BandKeysFn(config, bands, rows)).with_outputs(
            _BandKeysFn.BANDS_TAG, main="keyed"
        )
        keyed = hashed.keyed
        edges = hashed[_BandKeysFn.BANDS_TAG] | BucketEdges()
        components = edges | ConnectedComponents(config.cc_rounds, config.shuffle_partitions)
        joined = {"docs": keyed, "component": components} | JoinComponents()
        resolved = joined | beam.ParDo(_ResolveNodeFn(config.keep, config.exact)).with_outputs(
            "in_component", "clusters", main="documents"
        )
        groups = resolved.in_component | "GroupComponents" >> beam.GroupByKey()
        split = groups | beam.ParDo(_SplitComponentFn(config)).with_outputs("clusters", main="documents")
        checks = {
            "edges": edges | beam.FlatMap(lambda payload: map(tuple, unpack_rows([payload]).tolist())),
            "components": components,
            "joined": joined | beam.Map(_joined),
            "in_component": resolved.in_component | beam.Map(lambda kv: (kv[0], kv[1].doc.doc_key)),
            "groups": groups | beam.Map(lambda kv: (kv[0], sorted(u.doc.doc_key for u in kv[1]))),
            "duplicates": split.documents | beam.Filter(lambda d: d.is_duplicate) | beam.Map(lambda d: d.doc_key),
        }
        for name, pcoll in checks.items():
            _ = pcoll | f"Collect{name}" >> beam.combiners.ToList() | f"Report{name}" >> beam.Map(_summary(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
