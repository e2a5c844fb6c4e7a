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
