"""One set of checks for `run` and `check-data`; warnings in the record; facility types never
silently dropped; an output folder is one run's complete set.

The bad facility lists are fixtures in tests/data/facilities/, each the demo's list with one
fault a bureau's file really has (see each test).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from siting import InputDataError, ScenarioError
from siting.cli import main
from siting.pipeline.stages import run
from siting.scenario import load

DATA = Path(__file__).parent / "data" / "facilities"


def _use_facilities(scenario: Path, fixture: str) -> None:
    """Put a fixture in place of the demo copy's facility list."""
    shutil.copy(DATA / fixture, scenario.parent.parent / "data/facilities/demo_facilities.csv")


def _edit(scenario: Path, old: str, new: str) -> None:
    text = scenario.read_text(encoding="utf-8")
    assert old in text
    scenario.write_text(text.replace(old, new), encoding="utf-8")


def test_type_variants_and_spaces_count_as_their_type(demo_copy: Path, demo_result) -> None:
    # 社区日间照料中心 with a trailing space, a full-width leading space, 社区日照中心,
    # 日间照料中心, 幸福院 and 互助幸福院: each is read as its canonical type and recorded
    _use_facilities(demo_copy, "types_variants.csv")
    res = run(load(demo_copy))
    w = res.demand["weight"]
    base = demo_result.demand["weight"]
    assert (w * res.demand["covered_before"]).sum() == pytest.approx(
        (base * demo_result.demand["covered_before"]).sum()
    )  # the same circles as the clean list: nobody left out
    notes = {n.code: n for n in res.warnings}
    assert set(notes["facility_type_spaces"].ids) == {"F001", "F002"}
    variant_ids = {i for n in res.warnings if n.code == "facility_type_variant" for i in n.ids}
    assert variant_ids == {"F003", "F004", "F022", "F023"}
    assert any("'社区日照中心' read as '社区日间照料中心'" in n.message for n in res.warnings)


def test_unknown_type_stops_run_and_check_data_alike(
    demo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _use_facilities(demo_copy, "types_unknown.csv")
    with pytest.raises(InputDataError) as err:
        run(load(demo_copy))
    message = str(err.value)
    assert "'社区嵌入式养老驿站': ids ['F001', 'F002']" in message
    assert "'老年食堂': ids ['F022']" in message
    assert "社区日间照料中心" in message  # the accepted list
    assert "extra_facility_types" in message  # and the fix
    assert main(["check-data", str(demo_copy)]) == 1
    out = capsys.readouterr().out
    assert "'社区嵌入式养老驿站': ids ['F001', 'F002']" in out
    assert main(["run", str(demo_copy), "--out", str(demo_copy.parent / "out")]) == 2
    assert not (demo_copy.parent / "out").exists()  # nothing written


def test_declared_extra_types_form_circles_or_count_for_land(demo_copy: Path) -> None:
    _use_facilities(demo_copy, "types_unknown.csv")
    _edit(
        demo_copy,
        "  facility_types:",
        "  extra_facility_types: {社区嵌入式养老驿站: circle, 老年食堂: land}\n  facility_types:",
    )
    res = run(load(demo_copy))
    assert "社区嵌入式养老驿站" in res.inputs.circle_types
    assert "老年食堂" not in res.inputs.circle_types
    serving = set(res.problem.sites.loc[res.problem.sites["role"] == "existing", "id"])
    assert {"F001", "F002"} <= serving
    assert "F022" not in serving


def test_a_circle_type_the_rules_do_not_know_is_a_scenario_error(demo_copy: Path) -> None:
    _edit(demo_copy, "facility_types: [社区日间照料中心,", "facility_types: [社区日照所,")
    with pytest.raises(ScenarioError, match="社区日照所"):
        run(load(demo_copy))


def test_variant_in_the_scenario_means_its_canonical_type(demo_copy: Path) -> None:
    _edit(demo_copy, "facility_types: [社区日间照料中心,", "facility_types: [社区日照中心,")
    res = run(load(demo_copy))
    assert "社区日间照料中心" in res.inputs.circle_types


def test_far_facility_is_reported_by_both_commands(
    demo_copy: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # F005 moved ~35 km east, outside every 街道/乡镇: check-data lists it, the run records it
    _use_facilities(demo_copy, "far_outside.csv")
    assert main(["check-data", str(demo_copy)]) == 0
    out = capsys.readouterr().out
    assert "F005 (" in out
    assert "outside every 街道/乡镇" in out
    assert "0 problem(s) to fix, 2 to check" in out  # outside the district, far from streets
    assert main(["run", str(demo_copy), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert printed.count("不在任何街道/乡镇内") == 1  # printed once (in Chinese), not logged again
    assert "outside every 街道/乡镇" not in printed
    summary = json.loads((tmp_path / "out/summary.json").read_text(encoding="utf-8"))
    far = [w for w in summary["warnings"] if w["code"] == "site_outside_district"]
    assert far
    assert far[0]["ids"] == ["F005"]
    assert "farther than a service circle" in far[0]["message"]
    from openpyxl import load_workbook

    sheet = load_workbook(tmp_path / "out/report.xlsx")["注意事项"]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert ["site_outside_district", far[0]["message_zh"], "F005"] in rows  # the Chinese text
    assert "超出服务圈距离" in far[0]["message_zh"]
    legend = (tmp_path / "out/map.html").read_text(encoding="utf-8")
    assert "注意" in legend
    assert "不在任何街道/乡镇内" in legend
    assert "outside every 街道/乡镇" not in legend


def test_gcj02_declared_wgs84_stops_the_run(
    demo_copy: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _use_facilities(demo_copy, "amap_gcj02_declared_wgs84.csv")
    assert main(["check-data", str(demo_copy)]) == 1
    checked = capsys.readouterr().out
    assert main(["run", str(demo_copy), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "set `coord_system: gcj02`" in err
    # the same message from both commands
    line = next(s for s in checked.splitlines() if "coord_system: gcj02" in s)
    assert line.split("facilities", 1)[1].strip() in err


def test_footer_counts_every_problem_listed(
    demo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    pop = demo_copy.parent.parent / "data/population/demo_population.csv"
    table = pd.read_csv(pop, encoding="utf-8-sig", dtype={"code": str})
    table.loc[3, "elderly_60plus"] = -5  # a negative figure
    table.drop(index=7).to_csv(pop, index=False, encoding="utf-8-sig")  # a 社区 with no row
    _use_facilities(demo_copy, "types_unknown.csv")
    assert main(["check-data", str(demo_copy)]) == 1
    out = capsys.readouterr().out
    # population: negative figures + a 社区 with no row; facilities: unknown types
    assert "3 problem(s) to fix" in out


def test_summary_counts_facility_types(demo_summary: dict) -> None:
    kinds = {t["type"]: t for t in demo_summary["facility_types"]}
    assert kinds["社区日间照料中心"] == {
        "type": "社区日间照料中心",
        "count": 18,
        "forms_circles": True,
    }
    assert kinds["养老院"]["forms_circles"] is False
    assert sum(t["count"] for t in demo_summary["facility_types"]) == 30
    assert demo_summary["warnings"] == []


def _listing(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_interrupted_run_leaves_the_previous_complete_set(
    demo_copy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from siting.outputs.webmap import page as maps

    out = tmp_path / "out"
    assert main(["run", str(demo_copy), "--out", str(out)]) == 0
    before = _listing(out)
    _edit(demo_copy, "  p: 10\n", "  p: 5\n")  # the next run would change every figure

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the tables, before the map

    monkeypatch.setattr(maps, "write_map", interrupted)
    capsys.readouterr()
    assert main(["run", str(demo_copy), "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "interrupted" in err
    assert "Traceback" not in err
    assert _listing(out) == before  # the old set, whole
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    def crashed(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(maps, "write_map", crashed)
    assert main(["run", str(demo_copy), "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "disk full" in err
    assert "Traceback" not in err
    assert _listing(out) == before


def test_a_new_run_replaces_the_whole_set_and_keeps_foreign_files(
    demo_copy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    demo_copy.write_text(
        demo_copy.read_text(encoding="utf-8")
        + "output: {shapefile: true, map: false, map_png: false}\n",
        encoding="utf-8",
    )
    assert main(["run", str(demo_copy), "--out", str(out)]) == 0
    assert (out / "shapefile").is_dir()
    (out / "会议记录.txt").write_text("meeting notes", encoding="utf-8")
    _edit(demo_copy, "shapefile: true", "shapefile: false")
    assert main(["run", str(demo_copy), "--out", str(out)]) == 0
    assert not (out / "shapefile").exists()  # an older run's output is not left beside the new
    assert (out / "会议记录.txt").read_text(encoding="utf-8") == "meeting notes"


def test_ctrl_c_during_the_swap_finishes_it(
    demo_copy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import os
    import signal

    from siting.io import write

    out = tmp_path / "out"
    assert main(["run", str(demo_copy), "--out", str(out)]) == 0
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    _edit(demo_copy, "  p: 10\n", "  p: 5\n")
    swap = write._swap

    def interrupted_swap(*args: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C just as the folders are renamed
        swap(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(write, "_swap", interrupted_swap)
    capsys.readouterr()
    assert main(["run", str(demo_copy), "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "complete new set" in err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert len(summary["new_sites"]) == 5  # the new set, whole
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_output_folder_behind_a_symbolic_link_is_replaced_where_it_is(
    demo_copy: Path, tmp_path: Path
) -> None:
    real = tmp_path / "real"
    assert main(["run", str(demo_copy), "--out", str(real)]) == 0
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    _edit(demo_copy, "  p: 10\n", "  p: 5\n")
    assert main(["run", str(demo_copy), "--out", str(link)]) == 0
    assert link.is_symlink()  # still the link, still pointing at the real folder
    summary = json.loads((real / "summary.json").read_text(encoding="utf-8"))
    assert len(summary["new_sites"]) == 5  # the new set is where colleagues look
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_comparison_folder_is_one_comparison(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from siting.outputs import comparison as comparing

    a, b, cmp = tmp_path / "a", tmp_path / "b", tmp_path / "cmp"
    assert main(["run", str(demo_copy), "--out", str(a)]) == 0
    _edit(demo_copy, "  p: 10\n", "  p: 5\n")
    assert main(["run", str(demo_copy), "--out", str(b)]) == 0
    assert main(["compare", str(a), str(b), "--out", str(cmp)]) == 0
    before = _listing(cmp)

    def broken(runs: object) -> None:
        raise RuntimeError("map failed")

    monkeypatch.setattr(comparing, "difference_map", broken)
    assert main(["compare", str(b), str(a), "--out", str(cmp)]) == 3
    assert _listing(cmp) == before  # not a new table beside the old map


def test_a_community_type_left_out_of_the_circles_is_said(demo_copy: Path, demo_result) -> None:
    # F001-F005 typed 社区养老服务中心: a community facility in the rule book, not in the demo
    # scenario's explicit facility_types. Unset, every community/street/village type counts.
    _use_facilities(demo_copy, "types_other_community_role.csv")
    listed = run(load(demo_copy))
    notes = [n for n in listed.warnings if n.code == "facility_types_not_in_circles"]
    assert notes
    assert set(notes[0].ids) == {"F001", "F002", "F003", "F004", "F005"}
    _edit(demo_copy, "  facility_types: [社区日间照料中心, 街道综合养老服务中心, 农村幸福院]\n", "")
    unset = run(load(demo_copy))
    assert "社区养老服务中心" in unset.inputs.circle_types
    assert not [n for n in unset.warnings if n.code == "facility_types_not_in_circles"]
    w, base = unset.demand["weight"], demo_result.demand["weight"]
    assert (w * unset.demand["covered_before"]).sum() == pytest.approx(
        (base * demo_result.demand["covered_before"]).sum()
    )  # the same circles as the demo's own 社区日间照料中心


def test_a_facility_on_a_street_border_counts_in_one_street(demo_copy: Path, demo_result) -> None:
    import geopandas as gpd
    import pandas as pd
    import shapely

    data = demo_copy.parent.parent / "data"
    streets = gpd.read_file(data / "boundaries/demo_streets.geojson")
    a, b = streets.geometry.iloc[0], streets.geometry.iloc[1]
    shared = shapely.get_coordinates(a.boundary.intersection(b.boundary))
    assert len(shared)  # the two 街道 share a border
    path = data / "facilities/demo_facilities.csv"
    fac = pd.read_csv(path, dtype={"id": str}, encoding="utf-8-sig")
    fac.loc[fac["id"] == "F001", ["lon", "lat"]] = shared[0]
    fac.to_csv(path, index=False, encoding="utf-8-sig")
    res = run(load(demo_copy))
    assert "land_outside_units" not in {n.code for n in res.warnings}
    total = res.land.iloc[-1]
    base = demo_result.land.iloc[-1]
    assert total["provided_m2"] == pytest.approx(base["provided_m2"])  # no land lost
    assert res.land.iloc[:-1]["provided_m2"].sum() == pytest.approx(total["provided_m2"])


def test_a_batch_reusing_a_network_keeps_its_warnings(demo_copy: Path, tmp_path: Path) -> None:
    osm = demo_copy.parent.parent / "data/network/demo.osm"
    text = osm.read_text(encoding="utf-8")
    assert 'v="residential"' in text or "v='residential'" in text
    osm.write_text(
        text.replace('v="residential"', 'v="Residential"', 3).replace(
            "v='residential'", "v='Residential'", 3
        ),
        encoding="utf-8",
    )
    second = demo_copy.with_name("second.yaml")
    second.write_text(
        demo_copy.read_text(encoding="utf-8").replace("name: demo", "name: second"),
        encoding="utf-8",
    )
    assert main(["run", str(demo_copy.parent), "--out", str(tmp_path / "out")]) == 0
    for name in ("demo", "second"):  # the second reuses the network the first built
        summary = json.loads((tmp_path / "out" / name / "summary.json").read_text("utf-8"))
        assert "osm_unknown_highway" in {w["code"] for w in summary["warnings"]}


def test_elderly_and_residents_swapped_stop_the_run(demo_copy: Path) -> None:
    _edit(
        demo_copy,
        "  population: {path: ../data/population/demo_population.csv}",
        "  population:\n    path: ../data/population/demo_population.csv\n"
        "    columns: {elderly_60plus: residents, residents: elderly_60plus}",
    )
    with pytest.raises(InputDataError, match="more elderly than residents") as err:
        run(load(demo_copy))
    assert "inputs.population.columns" in str(err.value)


def test_a_gcj02_layer_declared_gcj02_is_converted(demo_copy: Path, demo_result) -> None:
    """A GeoJSON of Amap (GCJ-02) points carries EPSG:4326 as every tool writes it; declared
    gcj02 it is moved to WGS-84 like a table (the declaration was ignored for layers)."""
    import geopandas as gpd
    import pandas as pd

    from siting.coords import wgs84_to_gcj02

    data = demo_copy.parent.parent / "data/facilities"
    fac = pd.read_csv(data / "demo_facilities.csv", dtype={"id": str}, encoding="utf-8-sig")
    lon, lat = wgs84_to_gcj02(fac["lon"].to_numpy(), fac["lat"].to_numpy())
    layer = gpd.GeoDataFrame(
        fac.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(lon, lat), crs=4326
    )
    layer.to_file(data / "amap.geojson")
    _edit(
        demo_copy,
        "facilities: {path: ../data/facilities/demo_facilities.csv, coord_system: wgs84}",
        "facilities: {path: ../data/facilities/amap.geojson, coord_system: gcj02}",
    )
    res = run(load(demo_copy))
    w, base = res.demand["weight"], demo_result.demand["weight"]
    for when in ("covered_before", "covered_after"):
        assert (w * res.demand[when]).sum() == pytest.approx(
            (base * demo_result.demand[when]).sum()
        )
