"""The `corpusbeam` command: `run` a corpus job, or print the `lsh` parameters of a threshold."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["main"]

logger = logging.getLogger(__name__)

_RUN_EPILOG = """\
Any Beam pipeline option may follow, e.g. a cluster runner's options (--runner=...) with
--setup_file=./setup.py. The profile's `beam:` section gives defaults that these override. Without a
runner, FnApiRunner is used in memory: it runs locally and never touches the network.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corpusbeam",
        description="Raw text shards -> clean, near-deduplicated Parquet corpus (Apache Beam).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a corpus job", epilog=_RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    from pipelines.options import CorpusOptions  # imports Beam: only once logging is set up

    CorpusOptions._add_argparse_args(run)
    lsh = sub.add_parser("lsh", help="print LSH bands x rows and the candidate probability curve")
    lsh.add_argument("--threshold", type=float, default=0.8)
    lsh.add_argument("--num-perm", type=int, default=128)
    lsh.add_argument("--containment", type=float, default=0.0)
    return parser


def _print_lsh(args: argparse.Namespace) -> None:
    from transforms.config import DedupConfig
    from transforms.dedup import resolve_lsh
    from transforms.minhash import candidate_probability
    from transforms.near_duplicates import candidate_threshold

    config = DedupConfig(threshold=args.threshold, num_perm=args.num_perm, containment=args.containment)
    bands, rows = resolve_lsh(config)
    print(
        f"threshold {config.threshold}  num_perm {config.num_perm}  candidates sought down to J={candidate_threshold(config):.3f}"
    )
    print(f"bands x rows: {bands} x {rows}  ({bands * rows} of {config.num_perm} permutations)")
    print("Jaccard  P(candidate)")
    for j in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0):
        print(f"  {j:.2f}    {float(candidate_probability(j, bands, rows)):.4f}")


def _print_run(stats: dict) -> None:
    print(f"input records   {stats['input_records']:>10,}  from {stats['input_files']} files")
    print(
        f"documents       {stats['documents']:>10,}  ({stats['unique_documents']:,} unique, {stats['duplicates']:,} duplicates in {stats['clusters']:,} clusters)"
    )
    print(f"rejected        {stats['rejected']:>10,}  {stats['rejected_by_reason']}")
    incremental = stats["run"]["incremental"]
    if incremental is not None:
        print(
            f"incremental     {stats['duplicates_of_earlier_runs']:>10,}  documents repeat earlier runs' documents "
            f"(index of {len(incremental['prior_index_files'])} files; this run's index in index/)"
        )
    print(f"wall time       {stats['run']['wall_seconds']:>10.1f} s  ({stats['run']['runner']})")
    print(f"Parquet written under {stats['run']['output']}/ (documents/, rejected/, clusters/, stats.json, _SUCCESS)")


def _quiet_gcp_notice(record: logging.LogRecord) -> bool:
    """Beam logs at import that GCP client libraries are missing; they are optional here."""
    return "apitools not found" not in record.getMessage()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    level = logging.DEBUG if "--debug" in argv else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().addFilter(_quiet_gcp_notice)
    parser = _parser()
    args, beam_args = parser.parse_known_args(argv)
    if args.command == "lsh":
        if beam_args:
            parser.error(f"unrecognised arguments: {' '.join(beam_args)}")
        _print_lsh(args)
        return 0
    from pipelines.options import RunnerRefused
    from pipelines.run import RunError, run
    from transforms.config import ConfigError

    run_argv = [a for a in argv if a != "--debug"]
    run_argv = run_argv[run_argv.index("run") + 1 :]
    try:
        stats = run(run_argv)
    except (ConfigError, RunError, RunnerRefused) as err:
        if args.debug:
            raise
        print(f"corpusbeam: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - a failed pipeline: say what it means for the output
        if args.debug:
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(
            f"corpusbeam: the run failed ({type(err).__name__}: {first[:300]}). Nothing was published: "
            f"{args.output}{f'/run_date={args.run_date}' if args.run_date else ''} keeps what it held before. "
            "Rerun with --debug for the traceback.",
            file=sys.stderr,
        )
        return 1
    _print_run(stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
