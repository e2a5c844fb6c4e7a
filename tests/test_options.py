"""RunOptions: one view per options class, behaving as Beam's fresh views do."""

from __future__ import annotations

import pickle

from apache_beam.options.pipeline_options import DebugOptions, PipelineOptions, StandardOptions, TypeOptions

from pipelines.options import RunOptions


def test_a_view_is_made_once_and_shares_the_option_store():
    options = RunOptions(["--runner=FnApiRunner", "--experiments=a"])
    assert options.view_as(TypeOptions) is options.view_as(TypeOptions)
    options.view_as(StandardOptions).streaming = True  # set through one view: seen by every view
    assert options.view_as(StandardOptions).streaming and options.get_all_options()["streaming"]
    options.view_as(DebugOptions).add_experiment("b")
    assert options.view_as(DebugOptions).experiments == ["a", "b"]
    fresh = PipelineOptions(["--runner=FnApiRunner", "--experiments=a"])
    assert options.view_as(TypeOptions).get_all_options()["pipeline_type_check"] == fresh.get_all_options()["pipeline_type_check"]


def test_pickled_options_keep_their_values_not_their_views():
    options = RunOptions(["--runner=FnApiRunner"])
    options.view_as(StandardOptions).streaming = True
    copy = pickle.loads(pickle.dumps(options))
    assert "_views" not in copy.__dict__
    assert copy.view_as(StandardOptions).runner == "FnApiRunner" and copy.view_as(StandardOptions).streaming
