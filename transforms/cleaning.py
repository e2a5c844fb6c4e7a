"""Beam composite for the cleaning stage; the rules themselves are in `transforms.clean`."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam

from transforms.clean import CleanRules, clean_document
from transforms.config import CleanConfig
from transforms.io import REJECTED_TAG
from transforms.language import LanguageIdentifier, with_language
from transforms.metrics import get_counter_inc_fn
from transforms.records import Document, Rejected

__all__ = ["CleanAndParse"]


class _CleanFn(beam.DoFn):
    def __init__(self, config: CleanConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._rules = CleanRules.build(self._config)
        self._inc = get_counter_inc_fn()
        self._languages = LanguageIdentifier() if self._config.enabled and self._config.language_id else None

    def process(self, doc: Document) -> Iterator[object]:
        result = clean_document(doc, self._rules, self._inc)
        if isinstance(result, Rejected):
            yield beam.pvalue.TaggedOutput(REJECTED_TAG, result)
        elif self._languages is not None:
            yield with_language(result, self._languages)
        else:
            yield result


class CleanAndParse(beam.PTransform):
    """Documents -> cleaned Documents (main output) and `rejected` rows with their reason."""

    def __init__(self, config: CleanConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, docs: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return docs | "Clean" >> beam.ParDo(_CleanFn(self._config)).with_outputs(REJECTED_TAG, main="documents")
