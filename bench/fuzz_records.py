"""Coverage-guided fuzzing (atheris) of every per-record step: the readers' parsers and the cleaner.

    make fuzz                                   # 10 minutes per target, findings in out/fuzz/
    python bench/fuzz_records.py --target jsonl --seconds 600 [--corpus DIR]

Targets: `jsonl` (one line), `text` (a whole text file), `warc` (a WARC record's payload, as HTML and
as plain text), `archive` (the bytes of a whole WARC file, read as the run reads it). Each input goes
through the whole chain of tests/record_chain.py; any exception is a finding: atheris writes the
input that raised to `crash-*` in the working folder. Turn each into a regression test (in
tests/e2e/test_hostile_records.py) before fixing it. Not a CI test: it runs for as long as it is given.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = ("jsonl", "text", "warc", "archive")


def _seeds(target: str) -> list[bytes]:
    """Real inputs to start from: the bundled samples and test fixtures."""
    if target == "jsonl":
        return [line for path in (ROOT / "samples").rglob("*.jsonl") for line in path.read_bytes().splitlines()[:20]]
    if target == "text":
        return [path.read_bytes()[:20_000] for path in (ROOT / "samples").rglob("*.txt")]
    warcs = sorted((ROOT / "tests" / "data" / "warc").glob("*.warc*"))
    if target == "archive":
        return [path.read_bytes()[:200_000] for path in warcs]
    return [b"<html><head><title>T</title></head><body><p>One paragraph of text.</p></body></html>"]


def one_input(target: str, chain, data: bytes) -> None:
    from warcio.archiveiterator import ArchiveIterator

    if target == "jsonl":
        chain.jsonl(data)
    elif target == "text":
        chain.text_file(data)
    elif target == "warc":
        chain.warc_record("response", "text/html; charset=utf-8", data)
        chain.warc_record("conversion", "text/plain", data)
    else:
        try:  # the archive framing itself may refuse the bytes (the run makes that a read_error row)
            records = [(r.rec_type, r.content_stream().read()) for r in ArchiveIterator(io.BytesIO(data))]
        except Exception:  # noqa: BLE001 - a framing error, not a finding
            return
        for kind, payload in records:
            chain.warc_record(kind, "text/html", payload)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=TARGETS, required=True)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--corpus", help="folder of inputs to start from and to add new ones to")
    args = parser.parse_args(argv)

    import atheris

    with atheris.instrument_imports():
        import transforms.clean.boilerplate  # noqa: F401 - instrumented for coverage
        import transforms.clean.document  # noqa: F401
        import transforms.clean.header  # noqa: F401
        import transforms.clean.unicode  # noqa: F401
        import transforms.read.jsonl  # noqa: F401
        import transforms.read.limits  # noqa: F401
        import transforms.read.text_files  # noqa: F401
        import transforms.read.warc  # noqa: F401
        from tests.record_chain import RecordChain

    chain = RecordChain()
    corpus = Path(args.corpus or ROOT / "out" / "fuzz" / args.target)
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(_seeds(args.target)):
        (corpus / f"seed-{i}").write_bytes(seed)
    libfuzzer = [sys.argv[0], str(corpus), f"-max_total_time={args.seconds}", "-rss_limit_mb=4096", "-max_len=1000000"]
    atheris.Setup(libfuzzer, lambda data: one_input(args.target, chain, data))
    os.chdir(corpus.parent)  # crash-* files land next to the corpus
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
