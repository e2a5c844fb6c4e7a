"""One document's cleaning, step by step: Unicode (`unicode`), a leading header (`header`), the
site and date (`transforms.metadata`), furniture lines and the article body (`boilerplate`).

Pure functions in the style of C4's `clean_page`: each rule counts what it removes through the
injected `counter_inc_fn`, and a document with nothing left is rejected with a named reason.
Cleaning is idempotent: cleaning a cleaned text changes nothing (a property test checks it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from transforms.clean.boilerplate import (
    BoilerplateRule,
    compile_boilerplate_rules,
    cut_comments,
    drop_boilerplate,
    drop_repeated_paragraphs,
    main_block,
    title_forms,
    trim_edges,
)
from transforms.clean.header import headline, split_header
from transforms.clean.unicode import normalise_text
from transforms.config import CleanConfig
from transforms.metadata import date_from_text, date_from_url, normalise_date, site_of
from transforms.metrics import CounterIncFn, noop_counter
from transforms.records import Document, Rejected, count_words, without_surrogates
from transforms.tokens import TEXT_SEED, TokenHasher, shared_hasher

__all__ = ["CleanRules", "SWITCHABLE_STEPS", "AFTER_SELECTION", "prepare_document", "clean_body", "clean_document"]


# Line rules that can be switched off one at a time (`CleanRules.build(config, off=...)`), besides
# each boilerplate rule by its reason: what the cleaning benchmark's ablation measures.
SWITCHABLE_STEPS = ("edge_short", "main_block", "headline", "teasers", "comments", "repeated")


# Line rules applied after the body is chosen: these lines stand where an article ends or is
# interrupted ("Read more", share buttons, "This slideshow requires JavaScript.", copyright), so
# they are left to bound the main block first; removed before it, they let it run on into what
# follows (a subscription offer, a list of links).
AFTER_SELECTION = ("read_more", "share", "javascript", "copyright")


@dataclass(frozen=True)
class CleanRules:
    """Compiled rules of one configuration; built once per worker in `DoFn.setup()`.

    `boilerplate` applies before the main block is chosen, `boundaries` (`AFTER_SELECTION`) after it.
    `off` names rules left out (a boilerplate reason or one of `SWITCHABLE_STEPS`): for measuring
    what each rule costs and gives, never needed in a run.
    """

    config: CleanConfig
    boilerplate: tuple[BoilerplateRule, ...]
    boundaries: tuple[BoilerplateRule, ...] = ()
    off: frozenset[str] = frozenset()
    # For repeated paragraphs; the exact keys and (with the default dedup.seed) MinHash reuse the hashes.
    tokens: TokenHasher = field(default_factory=lambda: shared_hasher(TEXT_SEED))

    @classmethod
    def build(cls, config: CleanConfig, off: Iterable[str] = ()) -> CleanRules:
        off = frozenset(off)
        rules = tuple(rule for rule in compile_boilerplate_rules() if rule[0] not in off)
        before = tuple(rule for rule in rules if rule[0] not in AFTER_SELECTION)
        after = tuple(rule for rule in rules if rule[0] in AFTER_SELECTION)
        return cls(config=config, boilerplate=before, boundaries=after, off=off)


def prepare_document(doc: Document, rules: CleanRules) -> Document:
    """Normalised text and the metadata read before any line is removed: a leading header, the site,
    and the publication date (the record's, the header's, the URL path's, or a dateline's).

    Site-level template lines are counted on prepared documents, so every page of a site is
    compared in the same normal form. With `clean.enabled: false` the text is left as it is. A lone
    surrogate in the URL (the readers replace theirs; a Document made by hand may hold one) becomes
    U+FFFD, as in the readers: the site is a shuffle key's UTF-8 and the URL a Parquet string.
    """
    config = rules.config
    if not config.enabled:
        url = without_surrogates(doc.url)
        return doc.replace(url=url, site=site_of(url))
    text = normalise_text(doc.text, fix_unicode=config.fix_unicode)
    header: dict[str, str] = {}
    if config.parse_header:
        header, text = split_header(text)
    url = without_surrogates(doc.url or header.get("url"))
    date = doc.date or normalise_date(header.get("date"))
    if date is None and config.infer_date:
        date = date_from_url(url) or date_from_text(text)
    return doc.replace(text=text, url=url, date=date, title=header.get("title", doc.title), site=site_of(url))


def clean_body(doc: Document, rules: CleanRules, counter_inc_fn: CounterIncFn = noop_counter) -> Document | Rejected:
    """The article body of a prepared document (`prepare_document`), or a `Rejected` with the reason
    nothing usable is left. With `clean.enabled: false` only `n_words` is set."""
    config = rules.config
    if not config.enabled:
        counter_inc_fn("passed")
        return doc.replace(n_words=count_words(doc.text))
    text = doc.text
    if config.boilerplate_lines:
        text = drop_boilerplate(text, rules.boilerplate, counter_inc_fn)
        if "edge_short" not in rules.off:
            text = trim_edges(text, counter_inc_fn)
    title = doc.title if doc.title is not None else headline(text)
    selects = config.main_block and "main_block" not in rules.off
    if selects:
        # The title is the record's, or the page's first line (a <title> heads extracted page text).
        titles = frozenset() if "headline" in rules.off else title_forms(doc.title) | title_forms(doc.text.partition("\n")[0])
        teasers = "teasers" not in rules.off
        text = main_block(text, counter_inc_fn, titles, teasers)
        cut = text if "comments" in rules.off else cut_comments(text, counter_inc_fn)
        if cut != text:
            # The lines just before a comment section ("Posted in ...", "Share") may now end the
            # block; selecting again keeps the result a fixed point of cleaning.
            text = main_block(cut, counter_inc_fn, teasers=teasers)
    if config.boilerplate_lines and "repeated" not in rules.off:
        deduplicated = drop_repeated_paragraphs(text, counter_inc_fn, rules.tokens)
        if deduplicated != text and selects:
            # As after the comment cut: selecting again keeps the result a fixed point of cleaning.
            deduplicated = main_block(deduplicated, counter_inc_fn, teasers=teasers)
        text = deduplicated
    if config.boilerplate_lines and rules.boundaries:
        bounded = drop_boilerplate(text, rules.boundaries, counter_inc_fn)
        if bounded != text:
            if "edge_short" not in rules.off:
                bounded = trim_edges(bounded, counter_inc_fn)
            if selects:
                bounded = main_block(bounded, counter_inc_fn, teasers=teasers)
        text = bounded
    text = text.strip()  # a cut before a blank line leaves it at the end
    n_words = count_words(text)
    if n_words == 0:
        counter_inc_fn("filtered:empty_after_cleaning")
        return Rejected(doc.source, doc.record, "empty_after_cleaning", doc.text, id=doc.id)
    if n_words < config.min_words:
        counter_inc_fn("filtered:too_short")
        return Rejected(doc.source, doc.record, "too_short", doc.text, id=doc.id, detail=f"{n_words} words")
    counter_inc_fn("passed")
    return doc.replace(text=text, n_words=n_words, title=title)


def clean_document(doc: Document, rules: CleanRules, counter_inc_fn: CounterIncFn = noop_counter) -> Document | Rejected:
    """Prepare and clean one document on its own (no site-level template lines: those need the corpus)."""
    return clean_body(prepare_document(doc, rules), rules, counter_inc_fn)
