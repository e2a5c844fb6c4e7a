"""Tier 2: the read stage's composite on real files of every format, with TestPipeline + assert_that."""

import gzip
import json

import apache_beam as beam
import zstandard
from apache_beam.testing.util import assert_that, equal_to

from transforms.config import ReadConfig
from transforms.read.transform import FILE_COUNTS_TAG, ReadRawShards
from transforms.records import REJECTED_TAG


def test_a_file_that_two_patterns_match_is_read_once(tmp_path, test_pipeline):
    (tmp_path / "a.txt").write_text("First document.")
    (tmp_path / "b.txt").write_text("Second document.")
    with test_pipeline as p:
        out = p | ReadRawShards([str(tmp_path / "*.txt"), str(tmp_path / "a.txt"), str(tmp_path / "a*")], ReadConfig())
        names = out[FILE_COUNTS_TAG] | beam.Map(lambda kv: (kv[0].rsplit("/", 1)[-1], kv[1]))
        assert_that(names, equal_to([("a.txt", 1), ("b.txt", 1)]), label="file_counts")
        assert_that(out.documents | beam.Map(lambda d: d.text), equal_to(["First document.", "Second document."]))


def test_read_raw_shards_all_formats_and_a_truncated_shard(tmp_path, test_pipeline):
    records = [json.dumps({"id": f"r{i}", "text": f"record number {i}"}) for i in range(3)]
    (tmp_path / "a.jsonl").write_text("\n".join(records + ["{oops"]) + "\n\n")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as f:
        f.write("\n".join(records) + "\n")
    (tmp_path / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(("\n".join(records) + "\n").encode()))
    (tmp_path / "d.txt").write_text("A plain text document.")
    lines = "\n".join(json.dumps({"id": f"t{i}", "text": f"record {i} " + "x " * 50}) for i in range(2000)) + "\n"
    whole = gzip.compress(lines.encode())
    (tmp_path / "e.jsonl.gz").write_bytes(whole[: len(whole) // 2])  # truncated mid-stream
    with test_pipeline as p:
        out = p | ReadRawShards([str(tmp_path / "*")], ReadConfig())
        docs_per_file = out.documents | beam.Map(lambda d: d.source.rsplit("/", 1)[-1]) | beam.combiners.Count.PerElement()
        counts = out[FILE_COUNTS_TAG] | beam.Map(lambda kv: (kv[0].rsplit("/", 1)[-1], kv[1]))
        reasons = out[REJECTED_TAG] | beam.Map(lambda r: (r.source.rsplit("/", 1)[-1], r.reason))

        def check_counts(pairs):
            got = dict(pairs)
            assert got["a.jsonl"] == 4 and got["b.jsonl.gz"] == 3 and got["c.jsonl.zst"] == 3 and got["d.txt"] == 1
            assert 100 <= got["e.jsonl.gz"] < 2000  # the good records before the break, plus the error row

        def check_docs(pairs):
            got = dict(pairs)
            assert got["a.jsonl"] == 3 and got["b.jsonl.gz"] == 3 and got["c.jsonl.zst"] == 3 and got["d.txt"] == 1
            assert 99 <= got["e.jsonl.gz"] < 2000

        assert_that(counts, check_counts, label="file_counts")
        assert_that(docs_per_file, check_docs, label="documents")
        # Beam's own gzip reader would end quietly at the cut; ours says where the shard was cut.
        assert_that(reasons, equal_to([("a.jsonl", "malformed_json"), ("e.jsonl.gz", "truncated_file")]), label="rejected")
