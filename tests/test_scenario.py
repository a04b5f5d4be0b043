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


def test_base_inheritance_presets_and_projection(demo_copy: Path) -> None:
    child = demo_copy.parent / "slow" / "elderly_2030.yaml"
    child.parent.mkdir()
    child.write_text(
        "base: ../demo.yaml\nname: elderly-2030\n"
        "coverage: {walk_speed: elderly}\n"
        "model: {p: 5}\n"
        "projection: {year: 2030, annual_rate: 0.03, factors: {'419901001': 1.1}}\n",
        encoding="utf-8",
    )
    sc = load(child)
    assert sc.name == "elderly-2030"
    assert sc.coverage.walk_speed_mps == 0.76
    assert sc.coverage.urban_radius_m == pytest.approx(684.0)  # 15 min x 0.76 m/s
    assert "0.76" in sc.coverage.speed_source
    assert sc.coverage.rural_radius_m == 1000  # inherited
    assert sc.model.p == 5
    assert sc.model.time_limit_s == 60  # inherited from the base's model section
    assert sc.inputs.network.osm_file.exists()  # base paths stay relative to the base file
    assert sc.projection.year == 2030


def test_projection_grows_the_elderly_by_rate_and_factor() -> None:
    import geopandas as gpd
    from shapely.geometry import box

    from siting.inputs.projection import project_elderly

    comm = gpd.GeoDataFrame(
        {"street_code": ["S1", "S1", "S2"], "elderly_60plus": [100, 200, 50]},
        index=["A", "B", "C"],
        geometry=[box(0, 0, 1, 1)] * 3,
    )
    out = project_elderly(
        comm, year=2030, base_year=2020, annual_rate=0.02, factors={"S1": 1.5, "B": 1.0}
    )
    growth = 1.02**10
    assert out.loc["A", "elderly_60plus"] == pytest.approx(100 * 1.5 * growth)
    assert out.loc["B", "elderly_60plus"] == pytest.approx(200 * 1.0 * growth)  # own factor wins
    assert out.loc["C", "elderly_60plus"] == pytest.approx(50 * growth)
    from siting import InputDataError

    with pytest.raises(InputDataError, match="'ZZ'"):
        project_elderly(comm, year=2030, base_year=2020, annual_rate=None, factors={"ZZ": 2.0})


def test_base_cycles_and_bad_presets_are_named(demo_copy: Path) -> None:
    a, b = demo_copy.parent / "a.yaml", demo_copy.parent / "b.yaml"
    a.write_text("base: b.yaml\n", encoding="utf-8")
    b.write_text("base: a.yaml\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="round in a circle"):
        load(a)
    c = demo_copy.parent / "c.yaml"
    c.write_text("base: demo.yaml\ncoverage: {walk_speed: brisk}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"coverage\.walk_speed"):
        load(c)
