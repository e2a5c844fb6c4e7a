"""Lazy package exports: a stage package names its Beam composites, but importing one of its pure
modules must not import Beam (about a second), so the composites load on first use (PEP 562)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

__all__ = ["lazy_exports"]


def lazy_exports(package: str, module: str, names: Sequence[str]) -> Callable[[str], object]:
    """A module-level `__getattr__` for `package` that takes `names` from `package.module`."""

    def __getattr__(name: str) -> object:
        if name in names:
            return getattr(importlib.import_module(f"{package}.{module}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
