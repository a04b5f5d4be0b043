"""Scenario files: strict schema, errors name the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from siting import InputFileNotFoundError, ScenarioError
from siting.cli import main
from siting.scenario import load


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_demo_scenario_loads_with_resolved_paths(demo_copy: Path) -> None:
    sc = load(demo_copy)
    assert sc.name == "demo"
    assert sc.coverage.urban_radius_m == 900.0
    assert sc.inputs.network.osm_file.is_absolute()
    assert sc.inputs.network.osm_file.exists()


def test_unknown_key_is_named_with_the_file(demo_copy: Path) -> None:
    _edit(demo_copy, "  walk_speed_mps: 1.0", "  walk_sped_mps: 1.0")
    with pytest.raises(ScenarioError) as err:
        load(demo_copy)
    assert "coverage.walk_sped_mps: unknown key" in str(err.value)
    assert str(demo_copy) in str(err.value)


def test_negative_radius_and_wrong_type_are_reported_together(demo_copy: Path) -> None:
    _edit(demo_copy, "rural_radius_m: 1000", "rural_radius_m: -1000")
    _edit(demo_copy, "p: 10", "p: ten")
    with pytest.raises(ScenarioError) as err:
        load(demo_copy)
    text = str(err.value)
    assert "2 problem(s)" in text
    assert "coverage.rural_radius_m" in text
    assert "-1000" in text
    assert "model.p" in text
    assert "'ten'" in text


def test_missing_input_file_is_named(demo_copy: Path) -> None:
    _edit(demo_copy, "demo.osm", "nowhere.osm")
    with pytest.raises(InputFileNotFoundError) as err:
        load(demo_copy)
    assert "inputs.network.osm_file" in str(err.value)
    assert "nowhere.osm" in str(err.value)


def test_undeclared_coordinate_system_is_an_error(demo_copy: Path) -> None:
    _edit(demo_copy, "demo_candidates.csv, coord_system: wgs84", "demo_candidates.csv")
    with pytest.raises(ScenarioError, match=r"inputs\.candidates\.coord_system"):
        load(demo_copy)


def test_yaml_code_is_never_run(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: !!python/object/apply:os.system ['echo hacked']\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load(bad)


def test_cli_reports_scenario_errors_without_traceback(
    demo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(demo_copy, "  urban_minutes: 15", "  urban_minutes: 0")
    assert main(["run", str(demo_copy), "--out", str(demo_copy.parent / "out")]) == 2
    err = capsys.readouterr().err
    assert "coverage.urban_minutes" in err
    assert "Traceback" not in err
    assert not (demo_copy.parent / "out").exists()


def test_unknown_rule_set_or_override_is_named_with_the_file(demo_copy: Path) -> None:
    _edit(demo_copy, "set: henan/puyang", "set: henan/zhengzhou")
    with pytest.raises(
        ScenarioError, match=r"demo\.yaml: rules: unknown rule set 'henan/zhengzhou'"
    ):
        load(demo_copy)
    _edit(demo_copy, "set: henan/zhengzhou", "set: henan/puyang")
    _edit(demo_copy, "overrides: {}", "overrides: {land_per_capta: 0.3}")
    with pytest.raises(ScenarioError, match="unknown rule 'land_per_capta'"):
        load(demo_copy)
