"""Run configuration: typed dataclasses loaded from a YAML profile plus `--set KEY=VALUE` overrides.

Everything is validated on the driver before a pipeline is built, so a typo or a bad value fails
at once with a message that names the key, instead of hours later on a worker.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

__all__ = [
    "ConfigError",
    "ReadConfig",
    "CleanConfig",
    "QualityConfig",
    "DedupConfig",
    "OutputConfig",
    "RunConfig",
    "load_config",
    "parse_override",
]


class ConfigError(ValueError):
    """A configuration key is unknown or its value is not acceptable."""


def _require(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"config key '{key}': {message}")


@dataclass(frozen=True)
class ReadConfig:
    """Limits on one input record: a record over one is rejected with a reason naming it, before the
    cleaners see it, so no single record can make a step run out of memory or time."""

    max_doc_bytes: int = 10_000_000  # a larger record is rejected as `too_large`, never parsed
    max_json_depth: int = 100  # a JSONL line nested deeper: `too_deep_json`, never parsed
    max_lines: int = 200_000  # a text of more lines: `too_many_lines`
    max_line_chars: int = 1_000_000  # a text with a longer line: `too_long_line`
    max_word_chars: int = 10_000  # a text with a longer run of non-space characters: `too_long_word`

    def __post_init__(self) -> None:
        for key in ("max_doc_bytes", "max_json_depth", "max_lines", "max_line_chars", "max_word_chars"):
            _require(getattr(self, key) > 0, f"read.{key}", "must be > 0")


@dataclass(frozen=True)
class CleanConfig:
    enabled: bool = True  # false: text passes through unchanged (already clean corpora, dedup benchmarks)
    fix_unicode: bool = True  # ftfy repair of mojibake and broken escapes
    boilerplate_lines: bool = True  # drop navigation/cookie/newsletter/"Read more" lines
    main_block: bool = True  # keep only the contiguous run of prose lines (the article body)
    language_id: bool = True  # set `lang` and `lang_score` (fastText lid.176, model inside the wheel)
    parse_header: bool = True  # leading `date 2025-03-13` / `url ...` / `title ...` lines become fields
    infer_date: bool = True  # no date in the record or header: take it from the URL path, else a dateline
    # A line on at least `site_lines_min_pages` pages of one site, and on at least `site_lines_min_share`
    # of the site's pages, is template and is removed from them all (0 pages disables this step).
    site_lines_min_pages: int = 3
    site_lines_min_share: float = 0.01
    # ... unless they hold more than this fraction of a page: a page made only of lines other pages
    # also carry is a copy (print or AMP version) or an index page; it is kept whole, left to dedup.
    site_lines_max_fraction: float = 0.9
    min_words: int = 1  # fewer words after cleaning: rejected as `too_short`

    def __post_init__(self) -> None:
        _require(self.min_words >= 0, "clean.min_words", "must be >= 0")
        _require(
            self.site_lines_min_pages == 0 or self.site_lines_min_pages >= 2,
            "clean.site_lines_min_pages",
            "must be 0 (off) or >= 2",
        )
        _require(0.0 <= self.site_lines_min_share <= 1.0, "clean.site_lines_min_share", "must be in [0, 1]")
        _require(0.0 < self.site_lines_max_fraction <= 1.0, "clean.site_lines_max_fraction", "must be in (0, 1]")

    @property
    def site_lines(self) -> bool:
        return self.enabled and self.site_lines_min_pages > 0


@dataclass(frozen=True)
class QualityConfig:
    """Gopher quality and repetition rules; a failing document is rejected with the rule's name."""

    enabled: bool = True
    min_words: int = 50
    max_words: int = 100_000
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1  # "#", "...", "…" per word
    max_bullet_lines: float = 0.9  # fraction of lines starting with a bullet
    max_ellipsis_lines: float = 0.3  # fraction of lines ending with an ellipsis
    min_alpha_words: float = 0.8  # fraction of words with a letter
    min_stop_words: int = 2  # of "the be to of and that have with", for English text only
    max_duplicate_lines: float = 0.3  # fraction of lines that repeat an earlier line
    # C4 page rules
    c4_lorem_ipsum: bool = True  # "lorem ipsum" anywhere: placeholder text
    c4_curly_bracket: bool = True  # a "{" anywhere: code or markup (turn off to keep code)
    c4_min_sentences: int = 3  # fewer sentence ends than this (0 disables)
    # FineWeb line ratios, over non-blank lines
    fineweb_min_line_punct: float = 0.12  # lines ending in terminal punctuation, at least
    fineweb_max_short_lines: float = 0.67  # lines of at most `fineweb_short_line_chars`, at most
    fineweb_short_line_chars: int = 30
    fineweb_max_char_duplicates: float = 0.01  # characters in repeated lines, at most
    fineweb_max_newline_ratio: float = 0.3  # newlines per word, at most

    def __post_init__(self) -> None:
        _require(0 <= self.min_words <= self.max_words, "quality.min_words", "must be >= 0 and <= quality.max_words")
        _require(
            0 < self.min_mean_word_length <= self.max_mean_word_length,
            "quality.min_mean_word_length",
            "must be > 0 and <= quality.max_mean_word_length",
        )
        ratios = (
            "max_bullet_lines",
            "max_ellipsis_lines",
            "min_alpha_words",
            "max_duplicate_lines",
            "fineweb_min_line_punct",
            "fineweb_max_short_lines",
            "fineweb_max_char_duplicates",
        )
        for name in ratios:
            _require(0.0 <= getattr(self, name) <= 1.0, f"quality.{name}", "must be in [0, 1]")
        _require(self.max_symbol_word_ratio >= 0, "quality.max_symbol_word_ratio", "must be >= 0")
        _require(self.min_stop_words >= 0, "quality.min_stop_words", "must be >= 0")
        _require(self.c4_min_sentences >= 0, "quality.c4_min_sentences", "must be >= 0")
        _require(self.fineweb_short_line_chars >= 0, "quality.fineweb_short_line_chars", "must be >= 0")
        _require(self.fineweb_max_newline_ratio >= 0, "quality.fineweb_max_newline_ratio", "must be >= 0")


KEEP_POLICIES = ("longest", "earliest_date", "quality", "min_id")
VERIFY_MODES = ("exact", "estimate")


@dataclass(frozen=True)
class DedupConfig:
    enabled: bool = True
    exact: bool = True  # group identical normalised texts before MinHash
    threshold: float = 0.8  # Jaccard of word n-gram sets at or above which two documents are near-duplicates
    num_perm: int = 128
    ngram: int = 5
    seed: int = 1
    bands: int = 0  # 0: chosen from threshold and num_perm (see `corpusbeam lsh`)
    rows: int = 0
    containment: float = 0.9  # >0: a document this much contained in a longer one joins it; 0 disables
    verify: str = "exact"  # pairwise similarity inside candidate components: exact shingle sets or signatures
    keep: str = "longest"  # which member of a cluster is its representative
    cc_rounds: int = 3  # large-star/small-star rounds unrolled in the graph; what they leave is finished on one worker
    # The dedup shuffles (band keys of whole LSH buckets, component edges by node) move packed int64
    # rows in this many partitions. A band partition holds about documents x bands x 16 /
    # shuffle_partitions bytes: raise it for large corpora (1B documents of 22 bands: 16384 keeps a
    # partition near 20 MB).
    shuffle_partitions: int = 64
    max_pairwise: int = 2000  # larger candidate components are verified with signature estimates only

    def __post_init__(self) -> None:
        _require(0.0 < self.threshold <= 1.0, "dedup.threshold", "must be in (0, 1]")
        _require(self.num_perm >= 8, "dedup.num_perm", "must be >= 8")
        _require(self.ngram >= 1, "dedup.ngram", "must be >= 1")
        _require(0.0 <= self.containment <= 1.0, "dedup.containment", "must be in [0, 1] (0 disables it)")
        _require(self.verify in VERIFY_MODES, "dedup.verify", f"must be one of {', '.join(VERIFY_MODES)}")
        _require(self.keep in KEEP_POLICIES, "dedup.keep", f"must be one of {', '.join(KEEP_POLICIES)}")
        _require(self.bands >= 0 and self.rows >= 0, "dedup.bands", "bands and rows must be >= 0")
        _require((self.bands == 0) == (self.rows == 0), "dedup.bands", "set both bands and rows, or neither")
        _require(self.bands * self.rows <= self.num_perm, "dedup.bands", "bands * rows must be <= num_perm")
        _require(1 <= self.cc_rounds <= 64, "dedup.cc_rounds", "must be in [1, 64]")
        _require(1 <= self.shuffle_partitions <= 1 << 20, "dedup.shuffle_partitions", "must be in [1, 1048576]")
        _require(self.max_pairwise >= 2, "dedup.max_pairwise", "must be >= 2")


CODECS = ("zstd", "snappy", "gzip", "none")


# Document columns that make sensible Hive partitions: few distinct values, all strings or dates.
PARTITION_COLUMNS = ("lang", "site", "date")


@dataclass(frozen=True)
class OutputConfig:
    codec: str = "zstd"
    num_shards: int = 0  # 0: the runner decides
    row_group_mb: int = 64
    # Hive-style folders of documents/, e.g. "lang" -> documents/lang=en/part-*.parquet; "" for none.
    partition_by: str = ""

    def __post_init__(self) -> None:
        _require(self.codec in CODECS, "output.codec", f"must be one of {', '.join(CODECS)}")
        _require(self.num_shards >= 0, "output.num_shards", "must be >= 0")
        _require(self.row_group_mb >= 1, "output.row_group_mb", "must be >= 1")
        unknown = [c for c in self.partition_columns if c not in PARTITION_COLUMNS]
        _require(
            not unknown and len(set(self.partition_columns)) == len(self.partition_columns),
            "output.partition_by",
            f'{self.partition_by!r}: give comma-separated columns of {", ".join(PARTITION_COLUMNS)}, each once (or "" for none)',
        )

    @property
    def partition_columns(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.partition_by.split(",") if c.strip())


@dataclass(frozen=True)
class RunConfig:
    read: ReadConfig = field(default_factory=ReadConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    # Default Beam pipeline options of this profile (e.g. runner); the command line overrides them.
    beam: dict[str, Any] = field(default_factory=dict)


_SECTIONS = {f.name: f for f in dataclasses.fields(RunConfig)}


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Check `value` against the type of the field's default; ints are accepted for floats."""
    if isinstance(default, bool):
        _require(isinstance(value, bool), key, f"expected true or false, got {value!r}")
    elif isinstance(default, int):
        _require(isinstance(value, int) and not isinstance(value, bool), key, f"expected an integer, got {value!r}")
    elif isinstance(default, float):
        _require(isinstance(value, (int, float)) and not isinstance(value, bool), key, f"expected a number, got {value!r}")
        value = float(value)
    elif isinstance(default, str):
        _require(isinstance(value, str), key, f"expected a string, got {value!r}")
    return value


def _unknown(key: str, name: str, known, kind: str, listing: str) -> NoReturn:
    """Raise for a `name` (a section or key) not among `known`, with the closest known one. Called
    only on the error: difflib costs 0.2 ms a name, 10 ms for a profile's keys."""
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ConfigError(f"config key '{key}': unknown {kind}{hint}; {listing}")


def _build_section(name: str, values: Any) -> Any:
    cls = _SECTIONS[name].default_factory  # type: ignore[misc]
    if name == "beam":
        _require(isinstance(values, dict), name, "expected a mapping of Beam pipeline options")
        for k, v in values.items():
            _require(isinstance(v, (str, int, float, bool, list)), f"beam.{k}", f"unsupported value {v!r}")
        return dict(values)
    _require(isinstance(values, dict), name, "expected a mapping")
    defaults = cls()
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            _unknown(f"{name}.{key}", key, known, "key", f"known keys of '{name}': {', '.join(sorted(known))}")
        kwargs[key] = _coerce(f"{name}.{key}", value, getattr(defaults, key))
    return cls(**kwargs)


def parse_override(text: str) -> tuple[str, Any]:
    """Parse `section.key=value`; the value is read as YAML so `0.8`, `false` and `exact` all work."""
    key, sep, raw = text.partition("=")
    if not sep or "." not in key:
        raise ConfigError(f"--set expects SECTION.KEY=VALUE, got {text!r}")
    return key.strip(), yaml.safe_load(raw) if raw.strip() else ""


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Load a YAML profile (safe loader only) and apply `--set` overrides, validating every key."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"cannot read config file {str(path)!r}: {err.strerror}") from err
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"config file {str(path)!r} is not valid YAML: {err}") from err
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {str(path)!r} must hold a mapping of sections")
        data = {k: dict(v) if isinstance(v, dict) else v for k, v in (loaded or {}).items()}
    for text in overrides:
        key, value = parse_override(text)
        section, _, name = key.partition(".")
        if section not in _SECTIONS:
            _unknown(key, section, _SECTIONS, "section", f"known sections: {', '.join(_SECTIONS)}")
        if not isinstance(data.get(section), dict):
            data[section] = {}
        data[section][name] = value
    for section in data:
        if section not in _SECTIONS:
            _unknown(section, section, _SECTIONS, "section", f"known sections: {', '.join(_SECTIONS)}")
    return RunConfig(**{name: _build_section(name, values) for name, values in data.items()})
