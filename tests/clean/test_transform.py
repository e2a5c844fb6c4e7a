"""Tier 2: the clean stage's composite with TestPipeline + assert_that."""

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from tests.dedup.test_transform import doc
from transforms.clean.transform import CleanAndParse
from transforms.config import CleanConfig, QualityConfig
from transforms.records import REJECTED_TAG


def test_clean_and_parse_routes_rejects(test_pipeline):
    body = " ".join(["The council agreed to repair the bridge and to open a footpath that will stay with the town."] * 5)
    docs = [
        doc(1, "Home\n" + body, "keep"),
        doc(2, "Read more\nMenu", "emptied"),
        doc(3, "A sentence that is far too short to be a document of its own.", "short"),
    ]
    with test_pipeline as p:
        out = p | beam.Create(docs) | CleanAndParse(CleanConfig(), QualityConfig())
        assert_that(out["documents"] | beam.Map(lambda d: (d.id, d.text, d.lang)), equal_to([("keep", body, "en")]), label="docs")
        assert_that(
            out[REJECTED_TAG] | beam.Map(lambda r: (r.id, r.reason)),
            equal_to([("emptied", "empty_after_cleaning"), ("short", "gopher_word_count")]),
            label="rejected",
        )


def test_language_and_quality_run_in_batches_and_a_failure_rejects_only_its_document(test_pipeline, monkeypatch):
    """Language ID and the quality rules run per batch (and at the end of a bundle): every document
    still comes out once, and one that fails there is its own internal_error:clean row."""
    import transforms.clean.transform as clean_transform

    body = " ".join(["The council agreed to repair the bridge and to open a footpath that will stay with the town."] * 5)
    real = clean_transform.with_language

    def failing_on_bad(document, identifier):
        if document.id == "bad":
            raise ValueError("language model failed")
        return real(document, identifier)

    monkeypatch.setattr(clean_transform, "with_language", failing_on_bad)
    monkeypatch.setattr(clean_transform._CleanFn, "_BATCH", 3)  # 7 documents: two full batches and a rest
    ids = [f"d{i}" for i in range(6)] + ["bad"]
    docs = [doc(i, f"Item {i}.\n{body}", doc_id) for i, doc_id in enumerate(ids)]
    with test_pipeline as p:
        out = p | beam.Create(docs) | CleanAndParse(CleanConfig(), QualityConfig())
        assert_that(out["documents"] | beam.Map(lambda d: (d.id, d.lang)), equal_to([(i, "en") for i in ids[:-1]]), label="docs")
        assert_that(
            out[REJECTED_TAG] | beam.Map(lambda r: (r.id, r.reason, r.detail)),
            equal_to([("bad", "internal_error:clean", "ValueError: language model failed")]),
            label="rejected",
        )
