"""No regular expression of the per-record steps takes more than linear time: each one, with search
and sub, on adversarial strings built from its own characters and words (runs, alternations,
near-misses with a bad last character). A backtracking blow-up on one record is a hung worker."""

from __future__ import annotations

import importlib
import itertools
import pkgutil
import re
import time

import pytest

import transforms
from transforms.clean.document import CleanRules
from transforms.config import CleanConfig

N = 10_000  # characters per string: quadratic work on it takes seconds, linear milliseconds
BUDGET_S = 0.25  # per string, both operations; linear ones take about 1 ms here
_CORE = " \n\ta1.:/-x!?"


def _patterns() -> dict[str, re.Pattern]:
    found = {}
    for module in pkgutil.walk_packages(transforms.__path__, "transforms."):
        for name, value in vars(importlib.import_module(module.name)).items():
            if isinstance(value, re.Pattern):
                found[f"{module.name.removeprefix('transforms.')}.{name}"] = value
    rules = CleanRules.build(CleanConfig())
    for name, _, pattern in (*rules.boilerplate, *rules.boundaries):
        found[f"boilerplate.{name}"] = pattern
    return found


PATTERNS = _patterns()


def adversarial(pattern: re.Pattern) -> list[str]:
    source = pattern.pattern
    chars = sorted({c for c in source if not c.isalnum() and c not in "\\^$()[]{}?*+|"} | set(_CORE))
    words = sorted(set(re.findall(r"[^\W\d_]{2,}", source)))[:30] + ["http://", "www."]
    strings = []
    for c in chars:
        strings += [c * N, c * N + "!", c * N + " x", c * N + "a"]
    for a, b in itertools.product(_CORE, repeat=2):
        strings.append((a + b) * (N // 2) + "!")
    for w in words:
        k = N // len(w)
        strings += [(w + " ") * k, w * k + "!", (w + ".") * k + "x"]
    return strings


def test_every_pattern_is_found():
    assert len(PATTERNS) >= 25 and "clean.quality._SENTENCE_END_RE" in PATTERNS and "boilerplate.cookie" in PATTERNS


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_runs_in_linear_time(name):
    pattern = PATTERNS[name]
    for text in adversarial(pattern):
        started = time.perf_counter()
        pattern.search(text)
        pattern.sub("", text)
        took = time.perf_counter() - started
        assert took < BUDGET_S, f"{name} took {took:.2f} s on {text[:40]!r}... ({len(text)} characters)"


def test_the_sentence_end_rule_counts_as_before():
    pattern = PATTERNS["clean.quality._SENTENCE_END_RE"]
    text = 'One. Two?! "Three." Four... five.) six?x seven.. "eight?" nine'
    assert pattern.findall(text) == [".", "?!", '."', "...", ".)", "..", '?"']
