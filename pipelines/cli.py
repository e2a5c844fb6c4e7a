"""The `corpusbeam` command: `run` a corpus job, `report` and `inspect` a finished one, or print the
`lsh` parameters of a threshold."""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import re
import sys

from pipelines.worker_watch import stop_job_services

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
    parser.add_argument("--quiet", action="store_true", help="no progress lines during a run")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a corpus job", epilog=_RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    # Imports Beam, only once logging is set up. Its ~1,700 modules make objects that live as long as
    # the process: no collection while they load, then frozen out of the collector's sight, so that
    # no full collection walks them again (each did, for about 0.1 s). On the first import only: a
    # process that runs several commands must not freeze what an earlier one left.
    first = "apache_beam" not in sys.modules
    gc.disable()
    try:
        from pipelines.options import CorpusOptions
    finally:
        if first:
            gc.freeze()
        gc.enable()
    CorpusOptions._add_argparse_args(run)
    report = sub.add_parser("report", help="(re)build DIR/report.html from a finished run's outputs")
    report.add_argument("dir", help="the --output folder of a finished run")
    report.add_argument("--to", help="write the page here instead of DIR/report.html")
    inspect = sub.add_parser("inspect", help="summary of a finished run, or of one cluster, in the terminal")
    inspect.add_argument("dir", help="the --output folder of a finished run")
    inspect.add_argument("--cluster", type=int, help="show this cluster (an id from clusters/ or the summary)")
    lsh = sub.add_parser("lsh", help="print LSH bands x rows and the candidate probability curve")
    lsh.add_argument("--threshold", type=float, default=0.8)
    lsh.add_argument("--num-perm", type=int, default=128)
    lsh.add_argument("--containment", type=float, default=0.0)
    return parser


def _print_lsh(args: argparse.Namespace) -> None:
    from transforms.config import DedupConfig
    from transforms.dedup.decide import candidate_threshold, resolve_lsh
    from transforms.dedup.minhash import candidate_probability

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
    """The final summary table of a run."""
    from pipelines.report.outputs import rejected_by_stage

    rejected_at = rejected_by_stage(stats)
    rows = [
        ("input records", stats["input_records"], f"from {stats['input_files']} files"),
        ("rejected reading", rejected_at["read"], ""),
        ("rejected cleaning", rejected_at["clean"], ""),
        ("rejected quality", rejected_at["quality"], ""),
        ("internal errors", rejected_at["internal"], "records a step failed on (rejected/ reason internal_error:<step>)"),
        ("documents", stats["documents"], "written to documents/"),
        ("duplicates", stats["duplicates"], f"in {stats['clusters']:,} near-duplicate clusters"),
        ("unique documents", stats["unique_documents"], "is_duplicate = false"),
    ]
    if stats["run"]["incremental"] is not None:
        rows.append(("repeats of earlier runs", stats["duplicates_of_earlier_runs"], "documents an earlier run already kept"))
    print(f"{'stage':<24}{'records':>12}")
    for name, count, note in rows:
        print(f"{name:<24}{count:>12,}  {note}".rstrip())
    reasons = sorted(stats["rejected_by_reason"].items(), key=lambda kv: (-kv[1], kv[0]))
    if reasons:
        print("rejected by reason      " + ", ".join(f"{reason} {n:,}" for reason, n in reasons))
    print(
        f"accounting              {'ok' if stats['accounting_ok'] else 'FAILED'}: for each of the {stats['input_files']:,} files, "
        "records framed = documents + rejected"
    )
    print(f"wall time               {stats['run']['wall_seconds']:.1f} s ({stats['run']['runner']})")
    output = stats["run"]["output"]
    print(f"Parquet written under {output}/ (documents/, rejected/, clusters/, stats.json, report.html, _SUCCESS)")
    print(f"next: open {output}/report.html, or run `corpusbeam inspect {output}`")


def _report_or_inspect(args: argparse.Namespace) -> int:
    from pipelines.build import output_paths
    from pipelines.report.html import write_report
    from pipelines.report.inspect import ClusterNotFound, cluster_summary, run_summary
    from pipelines.report.outputs import NotARun, open_run

    try:
        run = open_run(args.dir)
        if args.command == "report":
            print(f"wrote {write_report(run, args.to or output_paths(run.folder)['report'])}")
        elif args.cluster is not None:
            print(cluster_summary(run, args.cluster))
        else:
            print(run_summary(run))
    except (NotARun, ClusterNotFound) as err:
        return _user_error(err, args.debug)
    return 0


# What the OS says when the output's file system is full, over a quota or size limit, or read-only.
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
_ERRNO_IN_TEXT = re.compile(r"\[Errno (\d+)\][^\n]{0,300}")


def storage_fault(err: BaseException) -> str | None:
    """The storage error behind a failed run ("[Errno 28] No space left on device: ..."), found in the
    exception, its causes, or the text Beam's runners wrap a worker's exception in; else None."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _STORAGE_ERRNOS:
            return str(seen)
        for match in _ERRNO_IN_TEXT.finditer(str(seen)):
            if int(match[1]) in _STORAGE_ERRNOS:
                return match[0].strip()
        seen = seen.__cause__ or seen.__context__
    return None


def _user_error(err: Exception, debug: bool) -> int:
    """A problem the user can fix: its one-line message and exit code 2 (--debug: the traceback)."""
    if debug:
        raise err
    print(f"corpusbeam: error: {err}", file=sys.stderr)
    return 2


def _quiet_gcp_notice(record: logging.LogRecord) -> bool:
    """Beam logs at import that GCP client libraries are missing; they are optional here."""
    return "apitools not found" not in record.getMessage()


def _no_beam_tracebacks(record: logging.LogRecord) -> bool:
    """Without --debug, a failing step's traceback that Beam logs is left out: the CLI's own
    one-line message names the step and the error, and --debug shows everything."""
    return not (record.name.startswith("apache_beam") and record.levelno >= logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    level = logging.DEBUG if "--debug" in argv else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().addFilter(_quiet_gcp_notice)
    if "--debug" not in argv:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_no_beam_tracebacks)
    parser = _parser()
    args, beam_args = parser.parse_known_args(argv)
    if not args.quiet:
        logging.getLogger("corpusbeam.progress").setLevel(logging.INFO)
    if args.command != "run" and beam_args:  # only `run` passes the rest on to Beam
        parser.error(f"unrecognised arguments: {' '.join(beam_args)}")
    if args.command in ("report", "inspect"):
        return _report_or_inspect(args)
    if args.command == "lsh":
        _print_lsh(args)
        return 0
    from pipelines.engines import EngineMissing
    from pipelines.options import RunnerRefused
    from pipelines.run import RunError, run
    from transforms.config import ConfigError

    run_argv = [a for a in argv if a not in ("--debug", "--quiet")]
    run_argv = run_argv[run_argv.index("run") + 1 :]
    try:
        stats = run(run_argv)
    except (ConfigError, RunError, RunnerRefused, EngineMissing) as err:
        return _user_error(err, args.debug)
    except Exception as err:  # noqa: BLE001 - a failed pipeline: say what it means for the output
        if args.debug:
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        fault = storage_fault(err)
        what = f"the output could not be written: {fault}" if fault else f"{type(err).__name__}: {first[:300]}"
        print(
            f"corpusbeam: the run failed ({what}). Nothing was published: "
            f"{args.output}{f'/run_date={args.run_date}' if args.run_date else ''} keeps what it held before. "
            "Rerun with --debug for the traceback.",
            file=sys.stderr,
        )
        return 1
    _print_run(stats)
    return 0


def entry(argv: list[str] | None = None) -> int:
    """The `corpusbeam` command: `main`, then the job services its run started are stopped before the
    process exits, without Beam's one-second waits (`stop_job_services`)."""
    try:
        return main(argv)
    finally:
        stop_job_services()


if __name__ == "__main__":
    sys.exit(entry())
