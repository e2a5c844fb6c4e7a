from pathlib import Path

import pytest

from transforms.config import ConfigError, RunConfig, load_config, parse_override

ROOT = Path(__file__).resolve().parents[1]


def test_local_profile_loads_with_its_runner():
    config = load_config(ROOT / "configs" / "local.yaml")
    assert isinstance(config, RunConfig)
    assert config.beam["runner"] == "FnApiRunner"
    assert config.dedup.threshold == 0.8 and config.dedup.num_perm == 128 and config.dedup.ngram == 5


def test_set_overrides_keys_with_yaml_values():
    config = load_config(ROOT / "configs" / "local.yaml", ["dedup.threshold=0.7", "clean.enabled=false", "dedup.containment=0"])
    assert config.dedup.threshold == 0.7
    assert config.clean.enabled is False
    assert config.dedup.containment == 0.0


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("dedup.treshold=0.8", "dedup.treshold"),
        ("dedupe.threshold=0.8", "dedupe.threshold"),
        ("dedup.threshold=1.5", "dedup.threshold"),
        ("dedup.threshold=high", "dedup.threshold"),
        ("dedup.num_perm=12.5", "dedup.num_perm"),
        ("clean.enabled=maybe", "clean.enabled"),
        ("dedup.verify=fuzzy", "dedup.verify"),
        ("dedup.bands=10", "dedup.bands"),
    ],
)
def test_bad_keys_and_values_fail_naming_the_key(override, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(None, [override])


def test_override_needs_section_key_and_value():
    with pytest.raises(ConfigError):
        parse_override("threshold=0.8")
    assert parse_override("dedup.keep=min_id") == ("dedup.keep", "min_id")


def test_yaml_is_loaded_safely(tmp_path):
    bad = tmp_path / "evil.yaml"
    bad.write_text("dedup: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("profile", ["local", "portable", "flink", "spark", "dataflow"])
def test_every_runner_profile_loads_and_validates(profile):
    config = load_config(ROOT / "configs" / f"{profile}.yaml")
    assert config.beam["runner"] and config.dedup == load_config(ROOT / "configs" / "local.yaml").dedup


@pytest.mark.parametrize("profile", ["flink", "spark", "dataflow"])
def test_a_cluster_profile_with_placeholders_is_refused_naming_the_key(profile, capsys, tmp_path):
    from pipelines.cli import main

    assert (
        main(
            [
                "run",
                "--config",
                str(ROOT / "configs" / f"{profile}.yaml"),
                "--input",
                str(ROOT / "samples" / "*"),
                "--output",
                str(tmp_path),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "is still '" in err and "FILL_IN" in err and "beam." in err
