"""Language identification with py3langid: langid.py's model (97 languages) ships inside the wheel,
so nothing is downloaded at run time. Build one `LanguageIdentifier` per worker, in `DoFn.setup()`.
"""

from __future__ import annotations

from transforms.records import Document

__all__ = ["LanguageIdentifier", "with_language"]

# The first characters carry the language; classifying costs ~0.8 us per character (0.4 ms here).
_SAMPLE_CHARS = 500


class LanguageIdentifier:
    """ISO 639-1 code and probability of a text (loading the model takes about a second)."""

    def __init__(self) -> None:
        from py3langid.langid import MODEL_FILE
        from py3langid.langid import LanguageIdentifier as Model

        self._model = Model.from_model_file(MODEL_FILE, norm_probs=True)

    def identify(self, text: str) -> tuple[str | None, float]:
        sample = text[:_SAMPLE_CHARS]
        if not any(ch.isalpha() for ch in sample):
            return None, 0.0
        lang, probability = self._model.classify(sample)
        return lang, float(probability)


def with_language(doc: Document, identifier: LanguageIdentifier) -> Document:
    """The document with `lang` and `lang_score` set from its (cleaned) text."""
    lang, score = identifier.identify(doc.text)
    return doc.replace(lang=lang, lang_score=score)
