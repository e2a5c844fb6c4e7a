"""Every per-record step of a run, in order, on one record and without Beam: what the property tests
(tests/e2e/test_hostile_records.py) and the coverage-guided fuzzer (bench/fuzz_records.py) feed
hostile input to. A step that raises here would be an `internal_error:<step>` row in a run.
"""

from __future__ import annotations

from transforms.clean.document import CleanRules, clean_body, prepare_document
from transforms.clean.language import LanguageIdentifier, with_language
from transforms.clean.quality import assess
from transforms.clean.site_lines import drop_lines, page_line_keys
from transforms.config import CleanConfig, DedupConfig, QualityConfig, ReadConfig
from transforms.dedup.decide import exact_key
from transforms.dedup.minhash import MinHasher, band_keys
from transforms.read.jsonl import parse_jsonl_line
from transforms.read.text_files import parse_text_file
from transforms.read.warc import record_to_document
from transforms.records import Document, Rejected, document_row, rejected_row
from transforms.write.parquet import check_row

__all__ = ["RecordChain"]


class RecordChain:
    """The steps with the default configuration; build once (the language model takes ~0.1 s)."""

    def __init__(self, read: ReadConfig | None = None) -> None:
        self.read = read or ReadConfig()
        self.rules = CleanRules.build(CleanConfig())
        self.quality = QualityConfig()
        self.languages = LanguageIdentifier()
        dedup = DedupConfig()
        self.hasher = MinHasher(dedup.num_perm, dedup.ngram, dedup.seed)

    def jsonl(self, raw: bytes) -> Document | Rejected:
        return self.finish(parse_jsonl_line(raw, "fuzz.jsonl", 1, self.read))

    def text_file(self, raw: bytes) -> Document | Rejected:
        return self.finish(parse_text_file(raw, len(raw), "fuzz.txt", self.read))

    def warc_record(self, kind: str, content_type: str, payload: bytes) -> Document | Rejected:
        parsed = record_to_document(kind, {"WARC-Target-URI": "https://example.org/a"}, content_type, payload, "f.warc", 0, 10**7)
        return self.finish(parsed)

    def text(self, text: str, url: str | None = "https://example.org/a") -> Document | Rejected:
        return self.finish(Document.read_at("fuzz", 1, "id", text, url=url))

    def finish(self, parsed: Document | Rejected) -> Document | Rejected:
        """The steps after reading; a Document comes back with its checked Parquet row built."""
        if isinstance(parsed, Rejected):
            rejected_row(parsed)
            return parsed
        doc = prepare_document(parsed, self.rules)
        if doc.site:  # every line of the page taken as its site's template, the harshest case
            doc = doc.replace(text=drop_lines(doc.site, doc.text, page_line_keys(doc.site, doc.text), 0.9)[0])
        cleaned = clean_body(doc, self.rules)
        if isinstance(cleaned, Rejected):
            rejected_row(cleaned)
            return cleaned
        cleaned = with_language(cleaned, self.languages)
        assess(cleaned, self.quality)
        exact_key(cleaned.text)
        shingles = self.hasher.shingle_hashes(cleaned.text)
        if shingles.size:
            band_keys(self.hasher.signature(shingles), 9, 13)
        check_row(document_row(cleaned.replace(cluster_id=1)))
        return cleaned
