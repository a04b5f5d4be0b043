"""Population tables as a 民政局 hands them over (issue 13, part 1): by name within the 街道,
age bands, total rows, a title above the header; each against the tidy demo it was made from.

``data/examples/bureau/老年人口统计.xlsx`` is the demo's ``demo_population.csv`` as a bureau
keeps it, made by :mod:`siting.demo.bureau` (``python -m siting.demo data``): a title line and a
填报单位 line above the header (row 3), 序号, the 街道 merged once per block and written as
``XX街道办事处`` / ``XX镇人民政府`` (迎宾街道 as its 9-digit code), 社区/村 names with
居委会/村委会 suffixes in four spellings (and a full-width space), five age bands that add up to
the demo's 60+ figure, 常住人口, 户数, a 小计 row for 李庄镇, a ``合 计`` row and a 填表人 line.
``scenarios/examples/bureau.yaml`` reads it. Here, two demo villages in two 乡镇 are also both
called 新庄村 (the boundary layer renamed and the workbook's two cells edited at test time).

When ``../shared/data/henan`` is present, the name matching is run on the real 社区/村 and
街道/乡镇 names of four Henan cities.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

from siting._errors import InputDataError, ScenarioError
from siting._record import Note, recording
from siting.cli import main
from siting.demo.bureau import BANDS, FILES, HEADER, bureau_rows, population_workbook
from siting.demo.bureau import POPULATION_COLUMNS as COLUMNS
from siting.demo.bureau import bands as _bands
from siting.inputs.age_bands import age_band, band_columns
from siting.inputs.join import Joined, join_population
from siting.inputs.layers import read_boundaries
from siting.inputs.population import REPORT_COLUMNS, street_key, unit_key
from siting.io.tables import find_header, read_table

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
XLSX = DATA / "examples" / "bureau" / FILES["bureau_population"]
SCENARIO = ROOT / "scenarios" / "examples" / "bureau.yaml"
HENAN = ROOT.parent / "shared" / "data" / "henan"

TWIN = {"419901100201": "新庄村", "419901101201": "新庄村"}  # one village name, two 乡镇
TWIN_WRITTEN = {"419901100201": "新庄村委会", "419901101201": "新庄村村民委员会"}
BY_CODE = "419901009"  # 迎宾街道: its 街道 cell holds the code


# -- the example workbook, made from the demo -------------------------------------------------


def _data_rows() -> dict[str, int]:
    """The sheet row (1-based) of each 社区/村 code, in the demo's order."""
    pop = pd.read_csv(DATA / "population" / "demo_population.csv", dtype={"code": str})
    rows, _ = bureau_rows(DATA)
    numbers = [i for i, r in enumerate(rows, 1) if isinstance(r[0], int)]
    return dict(zip(pop["code"], numbers, strict=True))


def _cells(book: openpyxl.Workbook) -> tuple[list[tuple[object, ...]], list[str]]:
    sheet = book.active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True)), sorted(map(str, sheet.merged_cells.ranges))


def test_the_example_workbook_is_the_demo_as_a_bureau_keeps_it() -> None:
    # the bytes are checked with the rest of data/ in test_demo.py
    assert _cells(openpyxl.load_workbook(XLSX)) == _cells(population_workbook(DATA))
    assert XLSX.stat().st_size < 50_000
    pop = pd.read_csv(DATA / "population" / "demo_population.csv")
    rows, _ = bureau_rows(DATA)
    assert rows[2] == HEADER
    data = [r for r in rows[3:] if isinstance(r[0], int)]
    assert len(data) == len(pop) == 165
    for row, elderly in zip(data, pop["elderly_60plus"], strict=True):
        assert sum(row[3:8]) == elderly  # the bands split the demo's 60+ exactly
        assert min(row[3:8]) >= 0


# -- runs against the tidy demo -----------------------------------------------------------------


def _over_example(folder: Path, name: str, **changes: object) -> Path:
    """A scenario in ``folder`` inheriting ``scenarios/examples/bureau.yaml`` with ``changes``
    (maps merge key by key); map, PNG and GeoPackage off unless ``output`` is given."""
    text = {
        "base": SCENARIO.as_posix(),
        "name": name,
        "output": {"map": False, "map_png": False, "gpkg": False},
        **changes,
    }
    scenario = folder / f"{name}.yaml"
    scenario.write_text(json.dumps(text, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    return scenario


@pytest.fixture(scope="module")
def bureau_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``siting run`` on ``scenarios/examples/bureau.yaml`` (the slow outputs off); returns the
    output folder."""
    root = tmp_path_factory.mktemp("bureau")
    assert main(["run", str(_over_example(root, "bureau")), "--out", str(root / "out")]) == 0
    return root / "out"


def test_the_example_scenario_gives_the_tidy_figures(bureau_run: Path, demo_summary: dict) -> None:
    s = json.loads((bureau_run / "summary.json").read_text(encoding="utf-8"))
    assert s["elderly_total"] == demo_summary["elderly_total"] == 96_615  # to the person
    # the Amap export's facilities are the demo's (GCJ-02 converted back to within 5 cm)
    assert s["covered_before"] == demo_summary["covered_before"]
    # the candidates are parcels: their sites stand on the streets (where a street touches the
    # parcel, its point there nearest the parcel's centre), as in test_bureau_layers.py's
    # parcel run (72,270.2 there too, against the demo's 72,190.9)
    assert s["covered_after"]["elderly"] == pytest.approx(72_270.2, abs=0.05)
    assert s["covered_after"]["elderly"] == pytest.approx(
        demo_summary["covered_after"]["elderly"], rel=0.01
    )
    assert s["age_group"] == demo_summary["age_group"] == "60+"
    assert s["population_join"]["by"] == "name"
    assert s["population_join"]["figures"] == {"elderly": BANDS}
    assert s["population_join"]["total_rows_skipped"] == 2
    notes = {n["code"]: n for n in s["warnings"]}
    assert set(notes) == {
        "population_total_rows",
        "ids_generated",
        "facilities_without_land",
        "candidate_land_from_parcel_area",
        "candidate_sites_on_parcels",
    }
    totals = notes["population_total_rows"]
    assert "'李庄镇小计'" in totals["message"]
    assert "'合 计'" in totals["message"]
    assert totals["message"].count("verified") == 2
    assert "NOT" not in totals["message"]
    by_code = pd.read_csv(bureau_run / "coverage_by_community.csv", dtype={"code": str})
    assert by_code["elderly"].sum() == pytest.approx(96_615)
    tidy = pd.read_csv(DATA / "population" / "demo_population.csv", dtype={"code": str})
    assert by_code.set_index("code")["elderly"].to_dict() == pytest.approx(
        tidy.set_index("code")["elderly_60plus"].astype(float).to_dict()
    )


def test_the_points_variant_reads_as_the_example_with_points() -> None:
    from siting.scenario import load

    polygons = load(SCENARIO)
    points = load(SCENARIO.with_name("bureau_points.yaml"))
    assert (
        points.inputs.communities.path
        == DATA / "examples/bureau" / FILES["bureau_community_points"]
    )
    assert points.inputs.model_copy(update={"communities": polygons.inputs.communities}) == (
        polygons.inputs
    )
    assert points.model_dump(exclude={"name", "description", "inputs"}) == polygons.model_dump(
        exclude={"name", "description", "inputs"}
    )


def test_join_report_lists_every_match(bureau_run: Path) -> None:
    report = pd.read_csv(
        bureau_run / "join_report.csv", encoding="utf-8-sig", dtype={"code": str}
    ).fillna("")
    assert list(report.columns) == REPORT_COLUMNS
    assert len(report) == 165
    assert report["code"].is_unique
    rows, _ = bureau_rows(DATA)
    written = {i: r for i, r in enumerate(rows, 1) if isinstance(r[0], int)}
    assert sorted(report["row"]) == sorted(written)  # the sheet's own row numbers
    assert report.set_index("code")["row"].to_dict() == _data_rows()  # each its own row
    for r in report.itertuples():
        assert r.name_as_written == written[r.row][2].strip()
    exact = report[report["how"] == "exact"]
    assert (exact["name_as_written"] == exact["matched_name"]).all()
    assert report["how"].value_counts().to_dict() == _expected_how()
    # the 街道 written once per merged block is filled down; 迎宾街道 given by its code
    assert (report["street_as_written"] != "").all()
    assert set(report.loc[report["code"].str.startswith(BY_CODE), "street_as_written"]) == {BY_CODE}


def test_the_same_village_name_in_two_townships_is_told_apart_by_its_street(
    tmp_path: Path,
) -> None:
    joined, _ = _join(_twin_workbook(tmp_path), tmp_path, twin=True)
    tidy = pd.read_csv(DATA / "population" / "demo_population.csv", dtype={"code": str})
    assert joined.units["elderly_60plus"].to_dict() == (
        tidy.set_index("code")["elderly_60plus"].to_dict()
    )
    assert joined.report is not None
    twins = joined.report.matches.set_index("code").loc[list(TWIN)]
    assert twins["name_as_written"].tolist() == list(TWIN_WRITTEN.values())
    assert twins["street_as_written"].tolist() == ["李庄镇人民政府", "王营乡人民政府"]
    assert twins["matched_name"].tolist() == ["新庄村", "新庄村"]
    assert set(twins["how"]) == {"normalised"}
    assert twins["row"].tolist() == [_data_rows()[c] for c in TWIN]


def _expected_how() -> dict[str, int]:
    """Rows written exactly as the boundary names, and the others."""
    pop = pd.read_csv(DATA / "population" / "demo_population.csv", dtype={"code": str})
    rows, _ = bureau_rows(DATA)
    written = [r[2] for r in rows if isinstance(r[0], int)]
    exact = sum(w == b for w, b in zip(written, pop["name"], strict=True))
    return {"exact": exact, "normalised": len(pop) - exact}


def test_check_data_shows_the_join_the_totals_and_the_age_group(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check-data", str(SCENARIO)]) == 0
    out = capsys.readouterr().out
    how = _expected_how()
    assert "96,615 elderly (60+)" in out
    assert (
        f"joined by name: 165 row(s) matched ({how['exact']} exact, {how['normalised']} "
        "normalised), 0 unmatched"
    ) in out
    assert "header on row 3" in out
    assert "age group 60+ (60岁以上): elderly = 60-64岁 + 65-69岁 + 70-79岁" in out
    assert "2 total row(s) skipped, 2 verified" in out
    assert "population_total_rows" in out
    assert f"row {len(bureau_rows(DATA)[0]) - 1} '合 计'" in out
    assert "0 problem(s) to fix, 5 to check" in out


# -- refusals name the file, the column, the rows and the fix ---------------------------------


def _units(tmp_path: Path, *, twin: bool = False) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The demo's 社区/村 and 街道/乡镇; with ``twin``, two villages renamed 新庄村."""
    path = DATA / "boundaries" / "demo_communities.geojson"
    if twin:
        comm = gpd.read_file(path)
        comm["name"] = [TWIN.get(c, n) for c, n in zip(comm["code"], comm["name"], strict=True)]
        path = tmp_path / "twin.geojson"
        comm.to_file(path, driver="GeoJSON")
    units = read_boundaries(path, level="communities")
    streets = read_boundaries(DATA / "boundaries" / "demo_streets.geojson", level="streets")
    return units, streets


def _edited(tmp_path: Path, edits: dict[tuple[int, int], object], name: str = "人口") -> Path:
    """The example workbook with cells changed: ``{(row, column): value}``, both 1-based."""
    book = openpyxl.load_workbook(XLSX)
    for (row, col), value in edits.items():
        book.active.cell(row=row, column=col, value=value)
    path = tmp_path / f"{name}.xlsx"
    book.save(path)
    return path


def _twin_workbook(tmp_path: Path) -> Path:
    """The example workbook with the twin villages' names as their 委员会 write them."""
    rows = _data_rows()
    return _edited(tmp_path, {(rows[c], 3): w for c, w in TWIN_WRITTEN.items()}, "twin")


def _join(
    path: Path, tmp_path: Path, *, twin: bool = False, **kw: object
) -> tuple[Joined, list[Note]]:
    """The workbook at ``path`` read and joined as the example scenario does, and the warnings
    it recorded."""
    units, streets = _units(tmp_path, twin=twin)
    table = read_table(path, id_cols=["街道（乡镇）"], header_names=[*BANDS, "社区（村）名称"])
    options = {"columns": COLUMNS, "join": "name", "streets": streets, **kw}
    with recording() as rec:
        joined = join_population(units, table, source=str(path), **options)  # type: ignore[arg-type]
    return joined, rec.notes


def test_python_join_gives_the_demo_figures(tmp_path: Path) -> None:
    (units, excluded), notes = _join(XLSX, tmp_path)
    pop = pd.read_csv(DATA / "population" / "demo_population.csv", dtype={"code": str})
    tidy = pop.set_index("code")
    assert excluded.empty
    assert units["elderly_60plus"].to_dict() == tidy["elderly_60plus"].to_dict()
    assert units["residents"].to_dict() == tidy["residents"].to_dict()
    assert [n.code for n in notes] == ["population_total_rows"]


def test_an_unmatched_name_stops_the_join_with_the_closest_names(tmp_path: Path) -> None:
    path = _edited(tmp_path, {(4, 3): "幸富社区居委会"})  # row 4: 幸福社区居委会, 人民路街道
    with pytest.raises(InputDataError) as err:
        _join(path, tmp_path)
    text = str(err.value)
    assert str(path) in text
    assert "column '社区（村）名称': 1 row(s) name a 社区/村" in text
    where = "('人民路街道办事处', not in 人民路街道; closest there: '幸福社区'"
    assert f"row 4 '幸富社区居委会' {where}" in text
    assert "correct the names in the table" in text
    # the other side: the 社区 left without a row
    assert "have no population row: codes ['419901001001']" in text
    # `unmatched: exclude` leaves the row out, listed, and the polygon still needs its row
    with pytest.raises(InputDataError, match=r"no population row: codes \['419901001001'\]"):
        _join(path, tmp_path, unmatched="exclude")


def test_an_ambiguous_name_stops_the_join(tmp_path: Path) -> None:
    columns = {k: v for k, v in COLUMNS.items() if k != "street"}  # no 街道: 新庄村 is twice
    with pytest.raises(InputDataError) as err:
        _join(_twin_workbook(tmp_path), tmp_path, twin=True, columns=columns)
    text = str(err.value)
    assert "column '社区（村）名称': 2 name(s) match more than one 社区/村" in text
    assert (
        "'新庄村委会' (no 街道 given) matches '新庄村' (419901100201, 李庄镇), "
        "'新庄村' (419901101201, 王营乡)" in text
    )
    assert "map the table's 街道 column (`columns: {street: 街道}`)" in text


def test_a_band_that_is_not_a_number_stops_the_join(tmp_path: Path) -> None:
    path = _edited(tmp_path, {(5, 6): "—", (9, 4): -3})  # row 5 70-79岁; row 9 60-64岁
    with pytest.raises(InputDataError) as err:
        _join(path, tmp_path)
    text = str(err.value)
    assert str(path) in text
    assert (
        "age-band column '70-79岁' holds text that is not a number on rows [5] "
        "(和谐居委会: '—'); write the number of people (0 for none)"
    ) in text
    assert "age-band column '60-64岁' holds negative figures on rows [9]" in text


def test_a_total_that_does_not_add_up_is_a_warning_with_the_difference(tmp_path: Path) -> None:
    rows, _ = bureau_rows(DATA)
    total = len(rows) - 1  # the 合计 row, above the 填表人 line
    path = _edited(tmp_path, {(total, 4): rows[total - 1][3] + 10})
    (units, _), notes = _join(path, tmp_path)
    assert units["elderly_60plus"].sum() == 96_615  # the rows, not the total
    (note,) = [n for n in notes if n.code == "population_total_rows"]
    assert f"row {total} '合 计'" in note.message
    assert "does NOT equal the sum of all the other rows: off by 60-64岁 +10" in note.message
    assert "'李庄镇小计'" in note.message
    assert "equals the sum of the rows of its 街道 (11): verified" in note.message
    assert f"row {total}" in note.ids


# -- the age group ------------------------------------------------------------------------------


def test_a_65_plus_run_labels_every_output_and_the_60_plus_rules_say_no_data(
    bureau_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    population = {"columns": {"elderly": BANDS[1:]}, "age_group": "65+"}
    scenario = _over_example(
        tmp_path, "aged65", inputs={"population": population}, output={"gpkg": False}
    )
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    pop = pd.read_csv(DATA / "population" / "demo_population.csv")
    aged_65 = sum(sum(_bands(int(e))[1:]) for e in pop["elderly_60plus"])
    assert s["age_group"] == "65+"
    assert s["elderly_total"] == aged_65
    assert f"65岁以上老人 {aged_65:,} 人，165 个社区/村" in printed
    summary = pd.read_excel(out / "report.xlsx", sheet_name="概要").set_index("项目")["数值"]
    assert summary["65岁以上老人"] == aged_65
    assert summary["老年人口口径"] == "65岁以上"
    assert "65岁以上老人" in pd.read_excel(out / "report.xlsx", sheet_name="社区村覆盖").columns
    assert "覆盖65岁以上老人" in (out / "map.html").read_text(encoding="utf-8")
    compliance = pd.read_csv(out / "compliance.csv", encoding="utf-8-sig")
    per_60 = compliance[
        compliance["rule"].isin(["care_beds_per_1000_elderly", "family_beds_per_mille"])
    ]
    assert len(per_60) == 2
    assert per_60["pass"].isna().all()
    assert per_60["note"].str.contains("本规则按60岁以上老年人口计；本次人口口径为65岁以上").all()
    at_60 = json.loads((bureau_run / "summary.json").read_text(encoding="utf-8"))
    assert s["compliance_no_data"] == at_60["compliance_no_data"] + 2


def test_a_60_plus_column_beside_the_group_gives_the_rules_their_figure(
    tmp_path: Path, demo_result
) -> None:
    from dataclasses import replace

    from siting.rules.checks import check_all

    columns = {**COLUMNS, "elderly": BANDS[3:], "elderly_60plus": BANDS}
    (units, _), _ = _join(XLSX, tmp_path, columns=columns, age_group="80+")
    pop = pd.read_csv(DATA / "population" / "demo_population.csv", dtype={"code": str})
    assert units["age_group"].eq("80+").all()
    assert units["elderly_60plus"].sum() == sum(sum(_bands(e)[3:]) for e in pop["elderly_60plus"])
    assert units["pop_60plus"].to_dict() == pop.set_index("code")["elderly_60plus"].to_dict()
    data = demo_result.compliance_data
    comm = data.communities.assign(
        age_group="80+", pop_60plus=units["pop_60plus"].reindex(data.communities.index)
    )
    rules = ["care_beds_per_1000_elderly", "family_beds_per_mille"]
    tidy = check_all(demo_result.rules, data)
    given = check_all(demo_result.rules, replace(data, communities=comm))
    pick = lambda t: t[t["rule"].isin(rules)].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(pick(given), pick(tidy))
    without = check_all(demo_result.rules, replace(data, communities=comm.assign(pop_60plus=None)))
    assert pick(without)["pass"].isna().all()


def test_the_age_group_keys_are_checked() -> None:
    from siting.scenario import Scenario

    base = json.loads(json.dumps({"name": "x", "model": {"p": 1}}))
    paths = {
        k: {"path": str(DATA / p)}
        for k, p in (
            ("streets", "boundaries/demo_streets.geojson"),
            ("communities", "boundaries/demo_communities.geojson"),
        )
    }
    inputs = {
        **paths,
        "facilities": {
            "path": str(DATA / "facilities/demo_facilities.csv"),
            "coord_system": "wgs84",
        },
        "candidates": {
            "path": str(DATA / "facilities/demo_candidates.csv"),
            "coord_system": "wgs84",
        },
        "network": {"osm_file": str(DATA / "network/demo.osm")},
    }

    def population(**kw: object) -> dict:
        return {**base, "inputs": {**inputs, "population": {"path": str(XLSX), **kw}}}

    sc = Scenario.model_validate(population(columns={"elderly": BANDS}, age_group="60+"))
    assert sc.inputs.population.age_label == "60岁以上"
    assert sc.inputs.population.header_names()[:2] == BANDS[:2]
    for bad, message in (
        ({"age_group": "65+", "columns": {"elderly_60plus": "60岁以上"}}, "the 60+ figure"),
        ({"columns": {"elderly": BANDS, "elderly_60plus": BANDS}}, "give one"),
        ({"columns": {"residents": ["a", "b"]}}, "only elderly and elderly_60plus take a list"),
        ({"age_group": "70+"}, "age_group"),
        ({"header_row": 0}, "header_row"),
        ({"join": "address"}, "join"),
    ):
        with pytest.raises((ValueError, ScenarioError), match=re.escape(message)):
            Scenario.model_validate(population(**bad))


# -- the pieces -----------------------------------------------------------------------------------


def test_names_are_normalised_keeping_their_kind() -> None:
    assert unit_key("衡苑社区居委会") == unit_key("衡苑社区") == "衡苑社区"
    assert unit_key("衡苑居委会") == unit_key("衡苑居民委员会") == "衡苑社区"
    assert unit_key("新庄村委会") == unit_key("新庄村") == unit_key("新庄村村民委员会") == "新庄村"
    assert unit_key("ＸＸ社区服务中心") == "XX社区"  # NFKC: full-width letters
    assert unit_key(" 幸福\u3000社区 居委会 ") == "幸福社区"
    assert unit_key("桑村村民委员会") == unit_key("桑村村") == "桑村"
    assert unit_key("张庄社区") != unit_key("张庄村")  # a 社区 and a 村 stay two units
    assert street_key("人民路街道办事处") == street_key("人民路街道办") == street_key("人民路街道")
    assert street_key("人民路办事处") == "人民路"
    assert street_key("李庄镇人民政府") == street_key("李庄镇") == "李庄镇"
    assert street_key("李庄镇") != street_key("李庄街道")  # 镇/乡 kept


def test_age_bands_are_read_from_headers() -> None:
    assert age_band("60-64岁") == (60, 64)
    assert age_band("６５～６９周岁") == (65, 69)  # full-width digits and tilde
    assert age_band("70至79岁人口") == (70, 79)
    assert age_band("85岁及以上") == (85, float("inf"))
    assert age_band("80岁以上") == (80, float("inf"))
    assert age_band("常住人口") is None
    assert age_band("2023") is None
    assert band_columns(BANDS, 60) == (BANDS, "")
    assert band_columns(BANDS, 65) == (BANDS[1:], "")
    assert band_columns(["60岁以上", *BANDS], 60) == (["60岁以上"], "")  # the table's own total
    cols, why = band_columns(BANDS, 75)  # 70-79岁 straddles 75
    assert cols is None
    assert "the age band(s) ['70-79岁'] straddle the age 75" in why
    cols, why = band_columns(BANDS[:3], 60)  # nothing open-ended
    assert cols is None
    assert "do not cover the ages 60 and over" in why
    cols, why = band_columns(["60-64岁", "70-79岁", "80岁以上"], 60)
    assert cols is None
    assert "gap or an overlap" in why


def test_the_header_is_found_below_a_title_or_forced(tmp_path: Path) -> None:
    rows = [["XX区2023年老年人口统计表"], [None], ["序号", "名称", "60岁以上"], [1, "甲", 3]]
    assert find_header(rows, ["名称", "60岁以上"]) == 3
    assert find_header(rows, ["名称", "没有这一列"]) == 3  # the row holding the most of them
    assert find_header(rows, ["没有这一列"]) == 1
    csv = tmp_path / "人口.csv"
    csv.write_text(
        "XX区2023年老年人口统计表\n\n序号,社区名称,60岁以上,常住人口,户数\n"
        "1,幸福社区,10,50,20\n\n2,和谐社区,5,30,12\n合 计,,15,80,32\n",
        encoding="utf-8",
    )
    table = read_table(csv, header_names=["社区名称", "60岁以上"])
    assert table.attrs["header_row"] == 3
    assert table["社区名称"].tolist()[:2] == ["幸福社区", "和谐社区"]
    forced = read_table(csv, header_row=3)  # no name mapped: forced
    assert list(forced.columns) == ["序号", "社区名称", "60岁以上", "常住人口", "户数"]
    spaced = read_table(csv, header_names=["社区 名称", "６０岁以上"])  # other spaces and widths
    assert list(spaced.columns)[1:3] == ["社区 名称", "６０岁以上"]


def test_a_csv_by_name_with_a_serial_column_and_a_blank_total_row(tmp_path: Path) -> None:
    units, _ = _units(tmp_path)
    units = units[units["street_code"] == "419901001"]  # 人民路街道
    pop = pd.read_csv(DATA / "population" / "demo_population.csv", dtype={"code": str})
    pop = pop[pop["code"].isin(units.index)]
    lines = ["XX区2023年老年人口统计表", "序号,社区名称,60岁以上,常住人口,户数"]
    lines += [
        f"{i},{n}居委会,{e},{r},{h}"
        for i, (n, e, r, h) in enumerate(
            pop[["name", "elderly_60plus", "residents", "households"]].itertuples(index=False), 1
        )
    ]
    lines.append(f",,{pop['elderly_60plus'].sum()},{pop['residents'].sum()},")  # blank: a total
    csv = tmp_path / "人口.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="gb18030")
    columns = {
        "name": "社区名称",
        "elderly_60plus": "60岁以上",
        "residents": "常住人口",
        "households": "户数",
    }
    table = read_table(csv, header_names=list(columns.values()))
    with recording() as rec:
        joined = join_population(units, table, source=str(csv), columns=columns, join="name")
    assert joined.units["elderly_60plus"].sum() == pop["elderly_60plus"].sum()
    assert joined.report is not None
    assert joined.report.counts() == {"exact": 0, "normalised": len(pop), "code": 0}
    assert joined.report.matches["row"].tolist() == list(range(3, 3 + len(pop)))
    (note,) = rec.notes
    assert f"row {3 + len(pop)} '(no name)'" in note.message
    assert "equals the sum of all the other rows: verified" in note.message


def test_codes_given_beside_names_are_used_and_disagreements_recorded(tmp_path: Path) -> None:
    units, _ = _units(tmp_path)
    units = units[units["street_code"] == "419901001"]  # 人民路街道
    table = pd.DataFrame(
        {
            "区划代码": ["419901001001", "419901009999", *[None] * (len(units) - 2)],
            "名称": ["错名社区", "和谐社区居委会", *units["name"].iloc[2:]],
            "60岁以上": 10,
            "常住人口": 40,
            "户数": 15,
        }
    )
    columns = {"code": "区划代码", "name": "名称", "elderly_60plus": "60岁以上"}
    columns |= {"residents": "常住人口", "households": "户数"}
    with recording() as rec:
        joined = join_population(units, table, source="p.csv", columns=columns, join="name")
    assert joined.report is not None
    how = joined.report.matches.set_index("code")["how"]
    assert how["419901001001"] == "code"
    assert how["419901001002"] == "normalised"
    assert (how.iloc[2:] == "exact").all()
    notes = {n.code: n for n in rec.notes}
    assert (
        "row 2 '错名社区' -> 419901001001 '幸福社区'"
        in notes["population_code_name_differ"].message
    )
    assert notes["population_code_unknown"].ids == ("419901009999",)
    assert "'和谐社区居委会' -> 419901001002" in notes["population_code_unknown"].message


# -- real names (../shared/data/henan) -------------------------------------------------------------


def _henan() -> tuple[pd.DataFrame, pd.DataFrame]:
    if not HENAN.is_dir():
        pytest.skip("../shared/data/henan is absent")
    villages = pd.read_csv(HENAN / "villages_community_names_2023.csv", dtype=str)
    streets = pd.read_csv(HENAN / "streets_township_names_2023.csv", dtype=str)
    return villages, streets


_SWAP = (
    ("村民委员会", "村委会"),
    ("村委会", "村民委员会"),
    ("居民委员会", "居委会"),
    ("居委会", "居民委员会"),
    ("村", "村委会"),
    ("社区", "社区居委会"),
)


def _bureau_spelling(name: str, i: int) -> str:
    """A real name as another office writes it: the committee suffix in its other spelling
    (or added), and every third one with a full-width space."""
    for old, new in _SWAP:
        if name.endswith(old):
            name = name[: -len(old)] + new
            break
    return name[:1] + "\u3000" + name[1:] if i % 3 == 0 else name


def _henan_table(villages: pd.DataFrame, streets: pd.DataFrame, *, exact: set[str]) -> pd.DataFrame:
    kinds = streets.set_index("code")["name"]
    street = villages["streetCode"].map(kinds)
    written = street.map(lambda s: s + "办事处" if s.endswith("街道") else s + "人民政府")
    return pd.DataFrame(
        {
            "街道": written.to_numpy(),
            "名称": [
                n if c in exact else _bureau_spelling(n, i)
                for i, (c, n) in enumerate(zip(villages["code"], villages["name"], strict=True))
            ],
            "60岁以上": 1,
            "常住人口": 4,
            "户数": 2,
        }
    )


def test_real_names_are_matched_within_their_street() -> None:
    villages, streets = _henan()
    columns = {"name": "名称", "street": "街道", "elderly_60plus": "60岁以上"}
    columns |= {"residents": "常住人口", "households": "户数"}
    normalised = villages.assign(key=villages["name"].map(unit_key))
    twice = normalised.groupby(["areaCode", "key"])["streetCode"].nunique()
    assert (twice > 1).sum() > 300  # the same name in two 街道 of a county: hundreds of them
    yujing = villages.loc[villages["name"].str.startswith("御井"), "code"].tolist()
    assert len(yujing) == 2  # 御井居委会 and 御井社区居委会: one 街道, one normalised name
    joined = 0
    for county, group in villages.groupby("areaCode"):
        units = pd.DataFrame(
            {"name": group["name"].to_numpy(), "street_code": group["streetCode"].to_numpy()},
            index=pd.Index(group["code"].to_numpy(), name="id"),
        )
        layer = streets[streets["areaCode"] == county].set_index("code")[["name"]]
        table = _henan_table(group, streets, exact=set(yujing))
        result = join_population(
            units, table, source=f"henan {county}", columns=columns, join="name", streets=layer
        )
        assert result.units.index.tolist() == units.index.tolist()
        assert result.report is not None
        matches = result.report.matches
        assert (matches["code"].to_numpy() == group["code"].to_numpy()).all()  # each its own
        joined += len(matches)
        if county == "410928":
            with pytest.raises(InputDataError) as err:  # 御井 not written exactly: ambiguous
                join_population(
                    units,
                    _henan_table(group, streets, exact=set()),
                    source="henan",
                    columns=columns,
                    join="name",
                    streets=layer,
                )
            assert "'御井居委会' (410928100004" in str(err.value)
            assert "'御井社区居委会' (410928100018" in str(err.value)
            assert "write the name exactly as the boundary layer does" in str(err.value)
    assert joined == len(villages)


def test_real_names_without_their_street_are_ambiguous() -> None:
    villages, streets = _henan()
    county = villages[villages["areaCode"] == "410928"]
    units = pd.DataFrame(
        {"name": county["name"].to_numpy(), "street_code": county["streetCode"].to_numpy()},
        index=pd.Index(county["code"].to_numpy(), name="id"),
    )
    table = _henan_table(county, streets, exact=set(county["code"]))
    columns = {"name": "名称", "elderly_60plus": "60岁以上", "residents": "常住人口"}
    with pytest.raises(InputDataError, match=r"name\(s\) match more than one 社区/村"):
        join_population(
            units, table, source="henan", columns=columns | {"households": "户数"}, join="name"
        )


# -- what an adversarial reading found: each gave a wrong figure or a needless stop -------------


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("listed", "group", "message"),
    [
        (
            ["60-64岁", "65-69岁", "80-84岁", "85岁及以上"],
            "60+",
            "the ages 70-79 are in none of them (a gap before '80-84岁')",
        ),
        (
            ["60-64岁", "65-69岁", "70-79岁", "65-69岁", "80-84岁", "85岁及以上"],
            "60+",
            "lists the column(s) ['65-69岁'] more than once",
        ),
        (
            BANDS[1:],
            "60+",
            "the ages 60-64 are in none of them (a gap before '65-69岁')",
        ),
        (BANDS, "65+", "'60-64岁' holds ages below 65, which the 65+ figure leaves out"),
        (BANDS[:4], "60+", "the ages 85 and over are in none of them (no open last band)"),
        (["60-64岁", "60-64岁"], "60+", "more than once"),  # a repeat is always refused
    ],
)
def test_listed_band_columns_must_cover_the_age_group_once(
    tmp_path: Path, listed: list[str], group: str, message: str
) -> None:
    with pytest.raises(InputDataError) as err:
        _join(XLSX, tmp_path, columns={**COLUMNS, "elderly": listed}, age_group=group)
    text = str(err.value)
    assert str(XLSX) in text
    assert "`columns.elderly` lists the " in text
    assert message in text
    if listed == BANDS[1:]:
        assert 'or set `age_group: "65+"`' in text
    if group == "65+":
        assert 'or set `age_group: "60+"`' in text


def test_listed_columns_without_ages_in_their_headers_are_summed_with_a_warning(
    tmp_path: Path,
) -> None:
    path = _edited(tmp_path, {(3, 4): "低龄老人", (3, 5): "中龄老人"})
    own = ["低龄老人", "中龄老人", *BANDS[2:]]
    (units, _), notes = _join(path, tmp_path, columns={**COLUMNS, "elderly": own})
    assert units["elderly_60plus"].sum() == 96_615
    (note,) = [n for n in notes if n.code == "population_bands_unchecked"]
    assert "the 60+ figure is the sum of the columns [低龄老人, 中龄老人, 70-79岁" in note.message
    assert "cannot be read from their headers" in note.message


def test_a_hidden_sheet_is_not_read_unless_named(tmp_path: Path) -> None:
    book = population_workbook(DATA)
    visible = book.active
    old = book.create_sheet("2022年", 0)  # last year's figures, first and hidden
    for row in visible.iter_rows(values_only=True):
        old.append([v - 1 if isinstance(v, int) and not isinstance(v, bool) else v for v in row])
    old.sheet_state = "hidden"
    book.active = book.index(visible)
    path = tmp_path / "hidden.xlsx"
    book.save(path)
    (units, _), _ = _join(path, tmp_path)
    assert units["elderly_60plus"].sum() == 96_615  # not last year's 86,587-like figures
    with recording() as rec:
        read_table(path, header_names=["社区（村）名称"], id_cols=[])
    assert not rec.notes  # one visible sheet: no choice to record
    named = read_table(path, sheet="2022年", header_names=["社区（村）名称"], id_cols=[])
    assert named["60-64岁"].iloc[0] == 124  # the user asked for it: read
    # two visible sheets: the active one is read, and the choice recorded
    old.sheet_state = "visible"
    book.active = book.index(visible)
    book.save(path)
    with recording() as rec:
        table = read_table(path, header_names=["社区（村）名称"], id_cols=[])
    assert table["60-64岁"].iloc[0] == 125
    (note,) = [n for n in rec.notes if n.code == "excel_sheet_chosen"]
    assert "read the sheet '老年人口' (its active sheet)" in note.message
    assert "['2022年']" in note.message
    assert "`inputs.population.layer: <sheet name>`" in note.message


def test_streets_written_as_town_governments_and_jieban_are_matched(tmp_path: Path) -> None:
    assert street_key("城关镇政府") == street_key("城关镇") == "城关镇"
    assert street_key("王营乡政府") == street_key("王营乡人民政府") == "王营乡"
    assert street_key("新华街办") == street_key("新华街道办") == street_key("新华街道")
    rows, _ = bureau_rows(DATA)
    edits = {}
    for number, row in enumerate(rows, 1):
        cell = row[1] if len(row) > 1 else None
        if isinstance(cell, str) and cell.endswith("人民政府"):
            edits[(number, 2)] = cell.replace("人民政府", "政府")
        elif isinstance(cell, str) and cell.endswith("街道办事处"):
            edits[(number, 2)] = cell.replace("街道办事处", "街办")
    assert any(v.endswith("镇政府") for v in edits.values())
    assert any(v.endswith("乡政府") for v in edits.values())
    assert any(v.endswith("街办") for v in edits.values())
    (units, _), _ = _join(_edited(tmp_path, edits), tmp_path)
    assert units["elderly_60plus"].sum() == 96_615


def test_a_subtotal_inside_a_block_is_checked_against_its_street_above_it(
    tmp_path: Path,
) -> None:
    rows, _ = bureau_rows(DATA)
    start = next(i for i, r in enumerate(rows) if len(r) > 1 and r[1] == "解放路街道办事处")
    block = rows[start : start + 5]
    subtotal = [None, None, "小计", *(sum(r[k] for r in block) for k in range(3, 10))]
    path = _workbook(tmp_path / "mid.xlsx", [*rows[: start + 5], subtotal, *rows[start + 5 :]])
    (units, _), notes = _join(path, tmp_path)
    assert units["elderly_60plus"].sum() == 96_615
    (note,) = [n for n in notes if n.code == "population_total_rows"]
    line = start + 6
    assert f"row {line} '小计' (60-64岁 {subtotal[3]:,}" in note.message
    assert f"equals the sum of its 街道's rows {start + 1}-{start + 5} above it: verified" in (
        note.message
    )
    assert "NOT" not in note.message
