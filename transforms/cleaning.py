"""Beam composite for the cleaning stage; the rules themselves are in `transforms.clean`."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam

from transforms.clean import CleanRules, clean_document
from transforms.config import CleanConfig, QualityConfig
from transforms.io import REJECTED_TAG
from transforms.language import LanguageIdentifier, with_language
from transforms.metrics import get_counter_inc_fn
from transforms.quality import quality_reason
from transforms.records import Document, Rejected

__all__ = ["CleanAndParse"]


class _CleanFn(beam.DoFn):
    def __init__(self, config: CleanConfig, quality: QualityConfig) -> None:
        self._config = config
        self._quality = quality

    def setup(self) -> None:
        self._rules = CleanRules.build(self._config)
        self._inc = get_counter_inc_fn()
        self._languages = LanguageIdentifier() if self._config.enabled and self._config.language_id else None

    def process(self, doc: Document) -> Iterator[object]:
        result = clean_document(doc, self._rules, self._inc)
        if isinstance(result, Rejected):
            yield beam.pvalue.TaggedOutput(REJECTED_TAG, result)
            return
        if self._languages is not None:
            result = with_language(result, self._languages)
        reason = quality_reason(result, self._quality) if self._config.enabled and self._quality.enabled else None
        if reason is None:
            yield result
            return
        self._inc(f"filtered:{reason}")
        yield beam.pvalue.TaggedOutput(REJECTED_TAG, Rejected(doc.source, doc.record, reason, doc.text, id=doc.id))


class CleanAndParse(beam.PTransform):
    """Documents -> cleaned Documents with language (main output) and `rejected` rows with their reason:
    emptied by cleaning, too short, or failing a quality rule."""

    def __init__(self, config: CleanConfig, quality: QualityConfig | None = None) -> None:
        super().__init__()
        self._config = config
        self._quality = quality or QualityConfig()

    def expand(self, docs: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        clean = _CleanFn(self._config, self._quality)
        return docs | "Clean" >> beam.ParDo(clean).with_outputs(REJECTED_TAG, main="documents")
