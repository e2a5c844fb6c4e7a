"""How often Prism's counters come back exact: the samples on Prism, each run in a fresh CLI process.

    python bench/prism_counters.py [--runs 20] [--prism PATH ...]

Counters a bundle reports before Prism has the metadata of their short IDs waited in one slot per
short ID, so of two bundles that reported a new counter at once only one counted (fixed by
`pipelines/patches/prism-metrics-before-short-ids.patch`). The race depends on timing: in a fresh
process it hit 6 runs of 20; inside pytest, after the in-memory runs, none of 15 (the samples, SPDX and
WARC tests of tests/runners/test_engines.py five times), so the suite alone rarely shows it. Each
run's `run.counters` is compared with the in-memory run's; a run whose dedup shuffles counted more
or fewer elements received than sent fails (nothing published) and counts as wrong too.
`--prism` takes binaries to compare (default: the installed one), run in turns.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import engines  # noqa: E402

SAMPLES = ["--config", str(ROOT / "configs" / "local.yaml"), "--input", str(ROOT / "samples" / "*.jsonl*")]
SAMPLES += ["--input", str(ROOT / "samples" / "notes" / "*.txt")]


def run_counters(output: Path, runner: list[str]) -> dict | str:
    """The run's counters, or the last line it printed when it failed."""
    cmd = [sys.executable, "-m", "pipelines.cli", "run", *SAMPLES, *runner, "--output", str(output)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        lines = [line for line in done.stderr.splitlines() if "error" in line] or done.stderr.splitlines()[-1:]
        return lines[-1] if lines else f"exit {done.returncode}"
    return json.loads((output / "stats.json").read_text())["run"]["counters"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each binary")
    parser.add_argument("--prism", nargs="+", type=Path, help="Prism binaries (default: the installed one)")
    args = parser.parse_args(argv)
    args.prism = args.prism or [engines.installed("prism")]
    with tempfile.TemporaryDirectory(prefix="corpusbeam-prism-counters-") as work:
        expected = run_counters(Path(work) / "memory", [])
        if not isinstance(expected, dict):
            raise SystemExit(f"the in-memory run failed: {expected}")
        wrong: dict[Path, list[str]] = {binary: [] for binary in args.prism}
        for i in range(args.runs):
            for b, binary in enumerate(args.prism):
                got = run_counters(Path(work) / f"{i}-{b}", ["--runner=PrismRunner", f"--prism_location={binary}"])
                if isinstance(got, dict):
                    got = {
                        k: (expected.get(k), got.get(k)) for k in expected.keys() | got.keys() if expected.get(k) != got.get(k)
                    }
                if got:
                    wrong[binary].append(f"run {i + 1}: {got}")
    for binary, failures in wrong.items():
        print(f"{binary}: {args.runs - len(failures)} of {args.runs} runs with the in-memory run's counters")
        for failure in failures:
            print(f"  {failure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
