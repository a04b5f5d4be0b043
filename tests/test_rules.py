"""The rule book: sets, inheritance, overrides, and every check on hand-made and real data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from siting import ScenarioError
from siting.cli import main
from siting.rules.book import available_sets, load_rules, rule_set_for
from siting.rules.checks import ComplianceData, check_all, county_checks

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "henan"


def test_every_shipped_set_loads_and_inherits() -> None:
    assert available_sets() == [
        "national",
        "henan",
        "henan/jiaozuo",
        "henan/kaifeng",
        "henan/puyang",
        "henan/xinxiang",
    ]
    for set_id in available_sets():
        book = load_rules(set_id)
        assert all(r.source and r.unit for r in book.rules.values())
    puyang = load_rules("henan/puyang")
    assert puyang.get("land_per_capita").figure == 0.2
    assert puyang.get("land_per_capita").defined_in == "henan"
    assert puyang.get("street_centre_floor").figure == 1500
    assert puyang.get("care_beds_per_1000_elderly").figure == 39  # the city over the nation's 40
    assert load_rules("henan/kaifeng").get("street_centre_floor").figure == 2000
    assert load_rules("henan/xinxiang").get("land_per_capita").figure == 0.1
    assert load_rules("national").get("care_beds_per_1000_elderly").figure == 40
    assert load_rules("henan").get("street_centre_floor") is None  # a city figure only
    assert load_rules("henan/jiaozuo").get("social_workers_per_1000_elderly").figure == 1


def test_unverified_figures_stay_marked() -> None:
    rule = load_rules("henan/puyang").get("day_care_class_1_floor")
    assert rule.confidence == "unverified"
    assert "建标143-2010" in rule.source


def test_overrides_say_what_they_replaced_and_typos_are_errors() -> None:
    book = load_rules("henan/puyang", {"land_per_capita": 0.25})
    rule = book.get("land_per_capita")
    assert (rule.figure, rule.confidence) == (0.25, "scenario")
    assert "was 0.2" in rule.source
    with pytest.raises(ScenarioError, match="land_per_capta"):
        load_rules("henan/puyang", {"land_per_capta": 0.25})
    with pytest.raises(ScenarioError, match="available"):
        load_rules("henan/zhengzhou")


def test_rule_set_for_admin_codes() -> None:
    assert rule_set_for("410902") == "henan/puyang"
    assert rule_set_for("410702001") == "henan/xinxiang"
    assert rule_set_for("411000") == "henan"
    assert rule_set_for("370102") == "national"


def _tiny() -> ComplianceData:
    communities = pd.DataFrame(
        {
            "code": ["S1C1", "S1C2", "T1V1"],
            "name": ["甲社区", "乙社区", "丙村"],
            "kind": ["社区", "社区", "村"],
            "street_code": ["S1", "S1", "T1"],
            "elderly_60plus": [600, 400, 1000],
            "residents": [3000, 2000, 5000],
        }
    )
    units = pd.DataFrame(
        {
            "code": ["S1", "T1"],
            "name": ["某街道", "某镇"],
            "kind": ["街道", "乡镇"],
            "elderly": [1000, 1000],
            "share_before": [0.5, 1.0],
            "share_after": [1.0, 1.0],
        }
    )
    facilities = pd.DataFrame(
        {
            "id": ["F1", "F2", "F3", "F4"],
            "name": ["中心", "日照", "福利院", "幸福院"],
            "type": ["街道综合养老服务中心", "社区日间照料中心", "养老院", "农村幸福院"],
            "floor_area_m2": [1600.0, 150.0, 5000.0, 120.0],
            "beds": [40, 12, 60, 2],
            "nursing_beds": [0, 0, 30, 0],
            "grade": ["", "", "", "基本型"],
            "street_code": ["S1", "S1", "S1", "T1"],
            "community_code": ["S1C1", "S1C1", "S1C2", "T1V1"],
        }
    ).set_index("id", drop=False)
    land = pd.DataFrame(
        {
            "unit": ["S1", "T1", "total"],
            "name": ["某街道", "某镇", "合计"],
            "residents": [5000, 5000, 10000],
            "required_m2": [1000.0, 1000.0, 2000.0],
            "provided_m2": [1200.0, 100.0, 1300.0],
            "proposed_m2": [0.0, 900.0, 900.0],
        }
    )
    compounds = pd.DataFrame(
        {
            "id": ["X1", "X2"],
            "name": ["新城", "老院"],
            "households": [1000, 500],
            "status": ["新建", "既有"],
            "care_area_m2": [250.0, 120.0],
        }
    )
    return ComplianceData(
        "000001",
        "某区",
        communities,
        units,
        facilities,
        land,
        compounds,
        {"family_care_beds": 15.0},
    )


def test_checks_by_hand() -> None:
    table = check_all(load_rules("henan/puyang"), _tiny())
    get = table.set_index(["unit", "rule", "stage"])

    def row(unit: str, rule: str, stage: str = "现状") -> pd.Series:
        return get.loc[(unit, rule, stage)]

    assert row("S1", "land_per_capita")["pass"]  # 1,200 >= 1,000
    assert row("T1", "land_per_capita")["shortfall"] == 900  # 100 of 1,000
    assert row("T1", "land_per_capita", "规划后")["pass"]  # + 900 proposed
    assert row("S1", "circle_urban")["actual"] == 0.5
    assert row("S1", "circle_urban", "规划后")["pass"]
    assert row("S1", "street_centre_per_street")["pass"]
    assert row("S1", "street_centre_floor")["actual"] == 1600  # 濮阳: >= 1,500
    assert row("S1", "street_centre_floor")["pass"]
    assert row("S1", "street_centre_beds")["shortfall"] == 10  # 40 of 50
    assert row("S1C1", "community_facility_per_community")["pass"]
    assert not row("S1C2", "community_facility_per_community")["pass"]  # 福利院 is no 社区 site
    assert row("F2", "community_facility_floor")["shortfall"] == 50  # 150 of 200
    assert row("F2", "community_facility_beds")["pass"]  # 12 >= 10 (濮阳)
    assert not row("000001", "county_home_per_county")["pass"]
    assert row("000001", "nursing_bed_share")["actual"] == 0.5  # 30 of the institution's 60
    assert row("000001", "care_beds_per_1000_elderly")["actual"] == pytest.approx(57.0)
    assert row("000001", "family_beds_per_mille")["actual"] == pytest.approx(7.5)  # 15 / 2,000
    assert row("X1", "compound_new_per_100_households")["required"] == 300  # 30 x 1,000 / 100
    assert not row("X1", "compound_new_per_100_households")["pass"]
    assert row("X1", "compound_new_min_site")["shortfall"] == 50  # 250 of 300
    assert row("X2", "compound_existing_per_100_households")["pass"]  # 120 >= 100
    assert "rural_home_basic_floor" not in set(table["rule"])  # a 开封 rule, not 濮阳's


def test_missing_data_is_reported_not_passed() -> None:
    data = _tiny()
    bare = ComplianceData(
        data.district_code,
        data.district_name,
        data.communities,
        data.units,
        data.facilities.drop(columns=["nursing_beds"]),
        data.land,
    )
    table = check_all(load_rules("henan/jiaozuo"), bare)
    rows = table.set_index("rule")
    for rule in ("nursing_bed_share", "family_beds_per_mille", "social_workers_per_1000_elderly"):
        assert pd.isna(rows.loc[rule, "pass"])
        assert "缺少" in rows.loc[rule, "note"]
    assert not (table["rule"].str.startswith("compound")).any()


def test_kaifeng_rural_home_sizes() -> None:
    table = check_all(load_rules("henan/kaifeng"), _tiny()).set_index(["unit", "rule"])
    assert table.loc[("F4", "rural_home_basic_floor"), "pass"]  # 120 >= 100
    assert not table.loc[("F4", "rural_home_basic_beds"), "pass"]  # 2 < 3
    assert table.loc[("S1", "street_centre_floor"), "shortfall"] == 400  # 开封: 2,000


def test_demo_run_writes_compliance_everywhere(demo_out: Path, demo_summary: dict) -> None:
    table = pd.read_csv(demo_out / "compliance.csv", encoding="utf-8-sig", dtype={"unit": str})
    assert list(table.columns[:10]) == [
        "unit",
        "unit_name",
        "level",
        "rule",
        "title",
        "stage",
        "required",
        "actual",
        "shortfall",
        "pass",
    ]
    assert len(demo_summary["compliance"]) == len(table)
    assert demo_summary["compliance_failures"] == int((table["pass"] == False).sum())  # noqa: E712
    book = load_rules("henan/puyang")
    unit_rules = {r for r in book.rules if r != "day_care_class_1_floor"}
    assert unit_rules <= set(table["rule"])  # every check produces real rows on the demo
    by_rule = table.groupby("rule")["pass"].agg(lambda s: set(s.dropna()))
    assert any(v == {True, False} for v in by_rule)  # some rules pass in places, fail in others
    assert {True} in list(by_rule)
    assert {False} in list(by_rule)
    assert demo_summary["rules"]["set"] == "henan/puyang"
    assert demo_summary["land_rule"]["figure"] == 0.2


def test_rules_list_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list"]) == 0
    assert "henan/puyang" in capsys.readouterr().out
    assert main(["rules", "list", "henan/puyang"]) == 0
    out = capsys.readouterr().out
    assert "street_centre_floor" in out
    assert "1500" in out
    assert "濮办〔2021〕20号" in out
    assert "seed" not in out


@pytest.mark.skipif(
    not (SHARED / "henan4_county_census2020_age.csv").exists(),
    reason="../shared/data/henan is not available",
)
def test_real_counties_of_the_four_cities() -> None:
    census = pd.read_csv(SHARED / "henan4_county_census2020_age.csv", dtype={"区划代码": str})
    counties = census[~census["区划代码"].str.endswith("00")].rename(
        columns={
            "区划代码": "code",
            "区县": "name",
            "人口数_合计": "residents",
            "pop_60plus": "elderly_60plus",
        }
    )
    # 濮阳's family-bed task per county, seed 003 annex 2 (the planned supply)
    family = {
        "410902": 618,
        "410922": 875,
        "410923": 650,
        "410926": 582,
        "410927": 418,
        "410928": 1284,
    }
    counties = counties.assign(family_care_beds=counties["code"].map(family))
    tables = [
        county_checks(load_rules(rule_set_for(code)), group)
        for code, group in counties.groupby(counties["code"].str[:4])
    ]
    table = pd.concat(tables).set_index(["unit", "rule"])
    assert len(counties) > 35
    assert table.index.get_level_values(0).nunique() == len(counties)
    # 华龙区 (濮阳): 607,028 residents x 0.2 m²; 85,782 aged 60+
    hl = table.loc["410902"]
    assert hl.loc["land_per_capita", "required"] == pytest.approx(121_405.6)
    assert hl.loc["care_beds_per_1000_elderly", "required"] == 39
    assert "3,345.5 张" in hl.loc["care_beds_per_1000_elderly", "note"]
    assert pd.isna(hl.loc["care_beds_per_1000_elderly", "pass"])  # no bed counts published
    assert hl.loc["family_beds_per_mille", "actual"] == pytest.approx(618 / 85_782 * 1000, abs=1e-4)
    assert hl.loc["family_beds_per_mille", "pass"]  # 618 >= 617.6
    # 红旗区 (新乡): the city's own 0.1 m² and the national 40 beds per 1,000
    hq = table.loc["410702"]
    assert hq.loc["land_per_capita", "required"] == pytest.approx(42_932.8)
    assert "2,414.2 张" in hq.loc["care_beds_per_1000_elderly", "note"]


def test_demo_data_feeds_every_city_rule(demo_result) -> None:
    """Re-check the same demo run under 开封's and 焦作's rules: their own checks get values."""
    kaifeng = check_all(load_rules("henan/kaifeng"), demo_result.compliance_data)
    jiaozuo = check_all(load_rules("henan/jiaozuo"), demo_result.compliance_data)
    for table, rule in (
        (kaifeng, "rural_home_basic_floor"),
        (kaifeng, "rural_home_demo_beds"),
        (kaifeng, "street_centre_floor"),
        (jiaozuo, "social_workers_per_1000_elderly"),
    ):
        rows = table[table["rule"] == rule]
        assert len(rows) > 0, rule
        assert rows["actual"].notna().all(), rule
    workers = jiaozuo.set_index("rule").loc["social_workers_per_1000_elderly"]
    assert workers["actual"] == pytest.approx(70 / 96_615 * 1000, abs=1e-4)
    assert not workers["pass"]
    centre = kaifeng.set_index("rule").loc["street_centre_floor"]
    assert (centre["actual"] == 2100).sum() == 1  # the one centre: 2,100 m² >= 开封's 2,000
