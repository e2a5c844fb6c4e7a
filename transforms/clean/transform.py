"""Beam composites of the clean stage; the rules themselves are in the pure modules beside this one
(`document`, `unicode`, `header`, `boilerplate`, `site_lines`, `language`, `quality`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from transforms.clean.document import CleanRules, clean_body, prepare_document
from transforms.clean.language import LanguageIdentifier, with_language
from transforms.clean.quality import assess, quality_score
from transforms.clean.site_lines import drop_lines, page_line_keys
from transforms.config import CleanConfig, QualityConfig
from transforms.failures import INTERNAL_ERROR, internal_error
from transforms.guarded import guarded
from transforms.metrics import get_counter_inc_fn
from transforms.records import REJECTED_TAG, Document, Rejected, stable_key

__all__ = ["CleanAndParse", "DropSiteTemplateLines"]


class _PrepareFn(beam.DoFn):
    def __init__(self, config: CleanConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._rules = CleanRules.build(self._config)

    @guarded("prepare")
    def process(self, doc: Document) -> Iterator[Document]:
        yield prepare_document(doc, self._rules)


class _CleanFn(beam.DoFn):
    """Prepared Document -> its cleaned body with language and quality score, or its Rejected row.

    Cleaning runs per element; language ID and then the quality rules run per batch of `_BATCH`
    cleaned documents (and at the end of a bundle), each over the whole batch before the next:
    fastText's tables stay in the CPU cache from one call to the next (about 90 against 160 us a
    page when other steps run between two calls). A document that fails there becomes its own
    `internal_error:clean` row, as under `guarded`.
    """

    _BATCH = 256

    def __init__(self, config: CleanConfig, quality: QualityConfig) -> None:
        self._config = config
        self._quality = quality

    def setup(self) -> None:
        self._rules = CleanRules.build(self._config)
        self._inc = get_counter_inc_fn()
        self._languages = LanguageIdentifier() if self._config.enabled and self._config.language_id else None

    def start_bundle(self) -> None:
        self._cleaned: list[tuple[Document, Document]] = []  # (prepared, cleaned)

    @guarded("clean")
    def process(self, doc: Document) -> Iterator[object]:
        result = clean_body(doc, self._rules, self._inc)
        if isinstance(result, Rejected):
            yield beam.pvalue.TaggedOutput(REJECTED_TAG, result)
            return
        self._cleaned.append((doc, result))
        if len(self._cleaned) >= self._BATCH:
            yield from self._flush()

    def finish_bundle(self) -> Iterator[object]:
        for output in self._flush():
            if isinstance(output, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(output.tag, GlobalWindows.windowed_value(output.value))
            else:
                yield GlobalWindows.windowed_value(output)

    def _flush(self) -> list[object]:
        batch, self._cleaned = self._cleaned, []
        if self._languages is not None:
            batch = self._each(batch, lambda doc, cleaned: with_language(cleaned, self._languages))
        return [output for _, output in self._each(batch, self._judge)]

    def _each(
        self, batch: list[tuple[Document, object]], step: Callable[[Document, Document], object]
    ) -> list[tuple[Document, object]]:
        """`step(prepared, cleaned)` for each pair whose cleaned side is still a Document; a
        document it fails on gets its `internal_error:clean` row instead."""
        done = []
        for doc, cleaned in batch:
            if isinstance(cleaned, Document):
                try:
                    cleaned = step(doc, cleaned)
                except Exception as err:  # noqa: BLE001 - one record's content must not stop the run
                    self._inc(f"filtered:{INTERNAL_ERROR}:clean")
                    cleaned = beam.pvalue.TaggedOutput(REJECTED_TAG, internal_error("clean", doc, err))
            done.append((doc, cleaned))
        return done

    def _judge(self, doc: Document, cleaned: Document) -> object:
        """The cleaned document with its quality score, or the Rejected row of the rule it fails."""
        if self._config.enabled and self._quality.enabled:
            reason, score = assess(cleaned, self._quality)
        else:
            reason, score = None, quality_score(cleaned)
        if reason is None:
            return cleaned.replace(quality_score=score)
        self._inc(f"filtered:{reason}")
        return beam.pvalue.TaggedOutput(REJECTED_TAG, Rejected(doc.source, doc.record, reason, doc.text, id=doc.id))


_inc = get_counter_inc_fn()


def _line_occurrences(doc: Document) -> list[tuple[int, tuple[int, int]]]:
    """(line key, (site key, doc key)) for every distinct line of a page. A page this fails on adds
    no lines to its site's count; `_DropMarkedLinesFn` rejects it when its own step fails too."""
    site_key = stable_key(doc.site)  # type: ignore[arg-type]
    try:
        return [(key, (site_key, doc.doc_key)) for key in page_line_keys(doc.site, doc.text)]  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - one record's content must not stop the run
        _inc(f"{INTERNAL_ERROR}:site_line_keys")
        return []


class _SitePagesFn(beam.DoFn):
    """A prepared page without a site -> itself (main output); one with a site -> its line
    occurrences (`LINES_TAG`), a page for its site's count (`SITES_TAG`) and itself keyed by its doc
    key (`PAGES_TAG`). One step where a Partition and three maps took four (each step costs every
    run about 5 ms of CPU in the FnApiRunner)."""

    LINES_TAG, SITES_TAG, PAGES_TAG = "lines", "sites", "pages"

    def process(self, doc: Document) -> Iterator[object]:
        if not doc.site:
            yield doc
            return
        for occurrence in _line_occurrences(doc):
            yield beam.pvalue.TaggedOutput(self.LINES_TAG, occurrence)
        yield beam.pvalue.TaggedOutput(self.SITES_TAG, (stable_key(doc.site), 1))
        yield beam.pvalue.TaggedOutput(self.PAGES_TAG, (doc.doc_key, doc))


class _RepeatedLinesFn(beam.DoFn):
    """Lines on at least `min_pages` pages -> (site key, (line key, pages)) and (line key, doc keys)."""

    PAGES_TAG = "pages"

    def __init__(self, min_pages: int) -> None:
        self._min_pages = min_pages

    def process(self, element: tuple[int, Iterable[tuple[int, int]]]) -> Iterator[object]:
        line, occurrences = element
        occurrences = list(occurrences)
        if len(occurrences) < self._min_pages:
            return
        yield occurrences[0][0], (line, len(occurrences))
        yield beam.pvalue.TaggedOutput(self.PAGES_TAG, (line, [doc_key for _, doc_key in occurrences]))


def _template_lines(element: tuple[int, Iterable[object]], min_share: float) -> Iterator[tuple[int, bool]]:
    """(site key, its page count and its repeated lines) -> the lines on at least `min_share` of its
    pages. The values are told apart by type: a count (int) or a (line key, pages) pair."""
    _, values = element
    site_pages, lines = 0, []
    for value in values:
        if isinstance(value, int):
            site_pages += value
        else:
            lines.append(value)
    for line, pages in lines:
        if pages >= min_share * site_pages:
            yield line, True


def _marks(element: tuple[int, Iterable[object]]) -> Iterator[tuple[int, int]]:
    """(line key, whether it is approved and the pages that carry it) -> (doc key, line key) for every
    such page of an approved template line. The values are told apart by type: True (approved) or
    a list of doc keys."""
    line, values = element
    values = list(values)
    if any(value is True for value in values):
        for doc_keys in values:
            if isinstance(doc_keys, list):
                for doc_key in doc_keys:
                    yield doc_key, line


class _DropMarkedLinesFn(beam.DoFn):
    def __init__(self, max_fraction: float) -> None:
        self._max_fraction = max_fraction

    def setup(self) -> None:
        self._inc = get_counter_inc_fn()

    @guarded("site_lines", lambda element: element[1]["docs"])
    def process(self, element: tuple[int, dict[str, list]]) -> Iterator[Document]:
        _, grouped = element
        template = set(grouped["lines"])
        for doc in grouped["docs"]:
            if not template:
                yield doc
                continue
            text, removed = drop_lines(doc.site, doc.text, template, self._max_fraction)
            if removed:
                self._inc("line-filtered:site_template", removed)
            else:
                self._inc("site-template-kept:mostly_shared_page")
            yield doc.replace(text=text)


class DropSiteTemplateLines(beam.PTransform):
    """Prepared Documents -> the same Documents without the lines their site's template repeats.

    A line is template when it is on at least `site_lines_min_pages` pages of one site and on at
    least `site_lines_min_share` of that site's pages. Every shuffle is keyed by a plain int (line,
    site or document key) and carries ints, except the last join, which brings each page together
    with the keys of its template lines. Pages without a site pass around the joins.
    """

    def __init__(self, config: CleanConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, docs: beam.PCollection) -> dict[str, beam.PCollection]:
        config = self._config
        pages = docs | "SitePages" >> beam.ParDo(_SitePagesFn()).with_outputs(
            _SitePagesFn.LINES_TAG, _SitePagesFn.SITES_TAG, _SitePagesFn.PAGES_TAG, main="without_site"
        )
        repeated = (
            pages[_SitePagesFn.LINES_TAG]
            | "GroupByLine" >> beam.GroupByKey()
            | "RepeatedLines"
            >> beam.ParDo(_RepeatedLinesFn(config.site_lines_min_pages)).with_outputs(_RepeatedLinesFn.PAGES_TAG, main="lines")
        )
        site_pages = pages[_SitePagesFn.SITES_TAG] | "PagesPerSite" >> beam.CombinePerKey(sum)
        # The joins by site and by line are a Flatten and a GroupByKey, their values told apart by
        # type, not CoGroupByKeys, which add a tagging step per input and one to collect (7 steps,
        # each a few milliseconds of every run's start-up). By site: the page count and (line, pages).
        approved = (
            (site_pages, repeated.lines)
            | "SiteValues" >> beam.Flatten()
            | "JoinSitePages" >> beam.GroupByKey()
            | "TemplateLines" >> beam.FlatMap(_template_lines, config.site_lines_min_share)
        )
        # By line: True when approved, and the doc keys of the pages that carry it.
        marks = (
            (approved, repeated[_RepeatedLinesFn.PAGES_TAG])
            | "LineValues" >> beam.Flatten()
            | "JoinApproved" >> beam.GroupByKey()
            | "MarkPages" >> beam.FlatMap(_marks)
        )
        # (doc key, {"docs": [Document], "lines": [template line key, ...]})
        stripped = (
            {"docs": pages[_SitePagesFn.PAGES_TAG], "lines": marks}
            | "JoinMarks" >> beam.CoGroupByKey()
            | "DropTemplateLines"
            >> beam.ParDo(_DropMarkedLinesFn(config.site_lines_max_fraction)).with_outputs(REJECTED_TAG, main="documents")
        )
        documents = (stripped.documents, pages.without_site) | "AllPages" >> beam.Flatten()
        return {"documents": documents, REJECTED_TAG: stripped[REJECTED_TAG]}


class CleanAndParse(beam.PTransform):
    """Documents -> cleaned Documents with metadata and language (main output) and `rejected` rows with
    their reason: emptied by cleaning, too short, or failing a quality rule."""

    def __init__(self, config: CleanConfig, quality: QualityConfig | None = None) -> None:
        super().__init__()
        self._config = config
        self._quality = quality or QualityConfig()

    def expand(self, docs: beam.PCollection) -> dict[str, beam.PCollection]:
        prepared = docs | "Prepare" >> beam.ParDo(_PrepareFn(self._config)).with_outputs(REJECTED_TAG, main="documents")
        documents, rejected = prepared.documents, [prepared[REJECTED_TAG]]
        if self._config.site_lines:
            stripped = documents | "DropSiteTemplateLines" >> DropSiteTemplateLines(self._config)
            documents = stripped["documents"]
            rejected.append(stripped[REJECTED_TAG])
        cleaned = documents | "Clean" >> beam.ParDo(_CleanFn(self._config, self._quality)).with_outputs(
            REJECTED_TAG, main="documents"
        )
        rejected.append(cleaned[REJECTED_TAG])
        return {"documents": cleaned.documents, REJECTED_TAG: rejected | "AllCleanRejected" >> beam.Flatten()}
