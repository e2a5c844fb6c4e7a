"""Shared fixtures: a Beam TestPipeline on the FnApiRunner (never Prism, never the network)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def test_pipeline():
    """A TestPipeline that runs in this process on the FnApiRunner."""
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.testing.test_pipeline import TestPipeline

    return TestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]), blocking=True)
