"""Throughput of a full `corpusbeam run` (read -> clean -> dedup -> Parquet) on real text.

    python bench/throughput.py [--input '../shared/bench/volume/*.jsonl.zst'] [--set KEY=VALUE ...]
        [any Beam option, e.g. --direct_running_mode=multi_processing --direct_num_workers=2 --allow_local_workers]

Prints documents, input MB (decompressed text bytes of the `text` fields), wall time, docs/s, MB/s,
CPU time and peak RSS (the largest of this process tree's processes). The run is a subprocess so
its peak RSS is measured on its own.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = str(ROOT.parent / "shared" / "bench" / "volume" / "*.jsonl.zst")


def text_bytes(pattern: str) -> tuple[int, int]:
    """(records, UTF-8 bytes of their `text` fields) of the matched zstd JSONL shards."""
    records = size = 0
    for path in sorted(glob.glob(pattern)):
        with open(path, "rb") as raw:
            reader = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), encoding="utf-8")
            for line in reader:
                if line.strip():
                    records += 1
                    size += len(json.loads(line)["text"].encode("utf-8"))
    return records, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=DEFAULT_INPUT)
    parser.add_argument("--config", default=str(ROOT / "configs" / "local.yaml"))
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--output", help="keep the run here (default: a temporary folder)")
    args, beam_args = parser.parse_known_args(argv)
    records, size = text_bytes(args.input)
    output = args.output or tempfile.mkdtemp(prefix="corpusbeam-throughput-")
    cmd = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "run",
        "--config",
        args.config,
        "--input",
        args.input,
        "--output",
        output,
        "--overwrite",
        *sum((["--set", s] for s in args.overrides), []),
        *beam_args,
    ]
    print("command:", " ".join(cmd[2:]))
    started = time.monotonic()
    subprocess.run(cmd, check=True, cwd=ROOT)
    wall = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    stats = json.loads(Path(output, "stats.json").read_text())
    mb = size / 1e6
    print(f"records {records:,}  text {mb:,.1f} MB  documents {stats['documents']:,}  duplicates {stats['duplicates']:,}")
    print(
        f"wall {wall:.1f} s  docs/s {records / wall:,.0f}  MB/s {mb / wall:.2f}  "
        f"cpu {usage.ru_utime + usage.ru_stime:.1f} s  peak RSS {usage.ru_maxrss / 1024:,.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
