"""A run that loses records anywhere fails its accounting or shuffle check, and a failed run
publishes nothing: the previous output stays as it was."""

import pyarrow.parquet
import pytest

from pipelines.cli import main
from tests.e2e.test_cli import SAMPLE_ARGS
from transforms.dedup import transform as dedup


def test_a_run_that_loses_documents_fails(tmp_path, monkeypatch, capsys):
    """A stage that drops rows (a bug, or a runner losing output) must fail the run, not pass."""
    real = dedup.finalize_cluster

    def lossy(members):
        docs, row = real(members)
        return (docs[:-1] if len(docs) > 1 else docs), row

    monkeypatch.setattr(dedup, "finalize_cluster", lossy)
    assert main(["run", *SAMPLE_ARGS, "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "accounting check failed" in err and "documents=7" in err


def test_a_run_whose_band_key_shuffle_loses_pairs_fails(tmp_path, monkeypatch, capsys):
    """Lost band keys lose duplicates without losing documents: the shuffle is counted on both sides."""
    real = dedup.unpack_rows
    dropped = []

    def lossy(payloads, width=2):
        pairs = real(payloads, width)
        if not dropped and len(pairs) > 1:  # as a runner that loses one pair of the first partition
            dropped.append(pairs[0])
            return pairs[1:]
        return pairs

    monkeypatch.setattr(dedup, "unpack_rows", lossy)
    args = ["run", *SAMPLE_ARGS, "--output", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "lost elements of a shuffle" in err and "Nothing was published" in err
    assert not (tmp_path / "o" / "_SUCCESS").exists()


def test_a_run_whose_component_shuffle_loses_an_edge_fails(tmp_path, monkeypatch, capsys):
    """A lost edge would split a cluster without losing a document: the rounds' shuffles are counted too."""
    real = dedup.unpack_rows
    dropped = []

    def lossy(payloads, width=2):
        rows = real(payloads, width)
        if width == 3 and not dropped and len(rows):  # the star links after the last round lose one
            dropped.append(rows[0])
            return rows[1:]
        return rows

    monkeypatch.setattr(dedup, "unpack_rows", lossy)
    assert main(["run", *SAMPLE_ARGS, "--output", str(tmp_path / "o")]) == 2
    assert dropped and "lost elements of a shuffle" in capsys.readouterr().err
    assert not (tmp_path / "o" / "_SUCCESS").exists()


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_failing_run_leaves_the_previous_run_as_it_was(tmp_path, monkeypatch, capsys):
    """Output is staged and published only after the checks: a crash or a failed check publishes nothing."""
    out = tmp_path / "o"
    assert main(["run", *SAMPLE_ARGS, "--output", str(out)]) == 0
    before = {name: (out / name).read_bytes() for name in files_under(out)}
    assert "_SUCCESS" in before and "stats.json" in before

    def crash(*args, **kwargs):  # a fault of the writer, not of one record: the run must fail
        raise RuntimeError("worker crashed")

    monkeypatch.setattr(pyarrow.parquet, "ParquetWriter", crash)
    assert main(["run", *SAMPLE_ARGS, "--output", str(out), "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert "the run failed" in err and "worker crashed" in err and "Nothing was published" in err
    with pytest.raises(RuntimeError, match="worker crashed"):  # --debug shows the traceback
        main(["--debug", "run", *SAMPLE_ARGS, "--output", str(out), "--overwrite"])
    assert {name: (out / name).read_bytes() for name in files_under(out)} == before  # nothing staged is left


def test_a_run_failing_its_accounting_check_publishes_nothing(tmp_path, monkeypatch):
    real = dedup.finalize_cluster
    monkeypatch.setattr(
        dedup, "finalize_cluster", lambda members: (lambda d, r: (d[:-1] if len(d) > 1 else d, r))(*real(members))
    )
    out = tmp_path / "o"
    assert main(["run", *SAMPLE_ARGS, "--output", str(out)]) == 2
    assert files_under(out) == []  # no documents, no stats, no _SUCCESS, no staging leftovers
