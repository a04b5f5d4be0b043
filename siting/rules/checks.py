"""Compliance checks: every rule in force against the data, one row per unit and rule.

Each row says ``unit, rule, required, actual, shortfall, pass, source`` (plus the unit's name,
the rule's title and measure, the confidence of its figure, and the stage: 现状 for what exists,
规划后 with the proposed sites). A rule the data cannot assess (no beds column, no compound
table) gives a row with ``pass`` empty and a note naming the missing data: never a silent pass.
Failing a rule is a finding, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from siting.rules.book import Rule, RuleBook

COLUMNS = [
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
    "measure",
    "source",
    "confidence",
    "note",
]
NOW, PLAN = "现状", "规划后"


@dataclass(frozen=True)
class ComplianceData:
    """What the checks read. Facilities carry ``street_code`` and ``community_code``."""

    district_code: str
    district_name: str
    # code, name, kind, street_code, elderly_60plus (the run's age group), residents; under an
    # age group other than 60+ also age_group and pop_60plus (see elderly_60plus())
    communities: pd.DataFrame
    units: pd.DataFrame  # 街道/乡镇 coverage: code, name, kind, share_before, share_after
    facilities: pd.DataFrame  # id, name, type, floor_area_m2, beds, nursing_beds, grade...
    land: pd.DataFrame  # siting.rules.land_check output, last row the total
    compounds: pd.DataFrame | None = None  # id, name, households, status, care_area_m2
    district_stats: Mapping[str, float] | None = None  # family_care_beds, social_workers


def _row(
    rule: Rule,
    unit: Any,
    unit_name: Any,
    level: Any,
    *,
    required: Any,
    actual: Any,
    stage: str = NOW,
    higher_is_better: bool = True,
    note: str = "",
    measure: str | None = None,
) -> dict[str, Any]:
    """One compliance row; ``actual`` None or NaN means the data could not assess the rule.
    ``measure``: the unit of ``required`` and ``actual`` when it is not the rule's own (a
    per-resident rule compared as totals is in m²)."""
    need = float(required)
    value = None if actual is None or pd.isna(actual) else float(actual)
    if value is not None:
        short = max(need - value, 0.0) if higher_is_better else max(value - need, 0.0)
        ok: bool | None = bool(short <= 1e-9)
    else:
        short, ok = np.nan, None
    return {
        "unit": str(unit),
        "unit_name": str(unit_name),
        "level": str(level),
        "rule": rule.id,
        "title": rule.title,
        "stage": stage,
        "required": round(need, 4),
        "actual": round(value, 4) if value is not None else np.nan,
        "shortfall": round(short, 4) if value is not None else np.nan,
        "pass": ok,
        "measure": measure or rule.unit,
        "source": rule.source,
        "confidence": rule.confidence,
        "note": note,
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _with_roles(data: ComplianceData, book: RuleBook) -> pd.DataFrame:
    fac = data.facilities.copy()
    fac["role"] = [book.role_of(str(t)) for t in fac["type"]]
    return fac


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce")


def check_land(book: RuleBook, data: ComplianceData) -> list[dict[str, Any]]:
    rule = book.get("land_per_capita")
    if rule is None:
        return []
    rows = []
    for r in _records(data.land):
        is_total = r["unit"] == "total"
        unit, name = (
            (data.district_code, data.district_name) if is_total else (r["unit"], r["name"])
        )
        level = "区县" if is_total else "街道/乡镇"
        base = f"{rule.figure:g} m² × {r['residents']:,.0f} 人"
        for stage, land, note in (
            (NOW, r["provided_m2"], base),
            (
                PLAN,
                r["provided_m2"] + r["proposed_m2"] - r.get("closed_m2", 0.0),
                "含建议新建站点用地"
                + ("，不含规划关闭设施用地" if r.get("closed_m2", 0.0) > 0 else ""),
            ),
        ):
            actual, note = _known_land(land, r, note)
            rows.append(
                _row(
                    rule,
                    unit,
                    name,
                    level,
                    required=r["required_m2"],
                    actual=actual,
                    stage=stage,
                    note=note,
                    measure="m²",  # totals: the figure per resident times the residents
                )
            )
    return rows


def _known_land(land: float, r: Mapping[str, Any], note: str) -> tuple[float | None, str]:
    """The land to judge by, or None (no data) when it falls short while some facilities of
    the unit have no land figure: they are never counted as 0 m²."""
    unknown = int(r.get("facilities_without_land", 0) or 0)
    if not unknown:
        return land, note
    what = f"{unknown} 处设施缺少用地面积数据，已知用地 {land:,.0f} m²"
    if land >= r["required_m2"]:
        return land, f"{note}；{what}（已达标）"
    return None, f"{note}；{what}，不足 {r['required_m2']:,.0f} m²，无法判定"


def check_circles(book: RuleBook, data: ComplianceData) -> list[dict[str, Any]]:
    rows = []
    for u in _records(data.units):
        rule = book.get("circle_urban" if u["kind"] == "街道" else "circle_rural")
        if rule is None:
            continue
        for stage, share in ((NOW, u["share_before"]), (PLAN, u["share_after"])):
            rows.append(
                _row(
                    rule,
                    u["code"],
                    u["name"],
                    u["kind"],
                    required=rule.figure,
                    actual=share,
                    stage=stage,
                    note=f"{u['elderly']:,.0f} 位老人",
                )
            )
    return rows


def check_presence(book: RuleBook, data: ComplianceData, fac: pd.DataFrame) -> list[dict[str, Any]]:
    """One street centre per 街道, one facility per 社区, one county home per 区县."""
    rows = []
    per_street = book.get("street_centre_per_street")
    streets = data.units[data.units["kind"] == "街道"]
    centres = fac[fac["role"] == "street_centre"]
    for u in _records(streets):
        mine = centres[centres["street_code"] == u["code"]]
        if per_street is not None:
            rows.append(
                _row(
                    per_street,
                    u["code"],
                    u["name"],
                    "街道",
                    required=per_street.figure,
                    actual=float(len(mine)),
                )
            )
        for rid, col in (("street_centre_floor", "floor_area_m2"), ("street_centre_beds", "beds")):
            rule = book.get(rid)
            if rule is not None:
                best = float(_num(mine, col).max()) if len(mine) else 0.0
                rows.append(
                    _row(
                        rule,
                        u["code"],
                        u["name"],
                        "街道",
                        required=rule.figure,
                        actual=best,
                        note="无街道综合养老服务中心"
                        if mine.empty
                        else f"最大一处：{_facility_name(mine, _num(mine, col).idxmax())}"
                        if _num(mine, col).notna().any()
                        else f"缺少 {col} 数据",
                    )
                )
    per_comm = book.get("community_facility_per_community")
    if per_comm is not None:
        serving = fac[fac["role"].isin(["community", "street_centre"])]
        counts = serving.groupby("community_code").size()
        urban = data.communities[data.communities["kind"] == "社区"]
        rows.extend(
            _row(
                per_comm,
                c["code"],
                c["name"],
                "社区",
                required=per_comm.figure,
                actual=float(counts.get(c["code"], 0)),
            )
            for c in _records(urban)
        )
    per_county = book.get("county_home_per_county")
    if per_county is not None:
        n = int((fac["role"] == "county_home").sum())
        rows.append(
            _row(
                per_county,
                data.district_code,
                data.district_name,
                "区县",
                required=per_county.figure,
                actual=float(n),
            )
        )
    return rows


def _facility_name(fac: pd.DataFrame, fid: Any) -> str:
    """A facility's name, or its id when the data has no names (``name`` is optional)."""
    name = fac.loc[fid, "name"] if "name" in fac else None
    return str(fid) if name is None or pd.isna(name) else str(name)


_SIZE_RULES = (  # rule id, facility role, column, only facilities of this grade
    ("community_facility_floor", "community", "floor_area_m2", None),
    ("community_facility_beds", "community", "beds", None),
    ("rural_home_basic_floor", "rural_home", "floor_area_m2", None),
    ("rural_home_basic_beds", "rural_home", "beds", None),
    ("rural_home_demo_floor", "rural_home", "floor_area_m2", "示范型"),
    ("rural_home_demo_beds", "rural_home", "beds", "示范型"),
    ("county_home_beds", "county_home", "beds", None),
)


def _per_facility(
    rule: Rule, facilities: pd.DataFrame, values: pd.Series, *, missing: str
) -> list[dict[str, Any]]:
    """One row per facility: its value against the rule's figure."""
    return [
        _row(
            rule,
            str(fid),
            _facility_name(facilities, fid),
            str(f["type"]),
            required=rule.figure,
            actual=value,
            note="" if pd.notna(value) else f"缺少 {missing} 数据",
        )
        for (fid, f), value in zip(facilities.iterrows(), values, strict=True)
    ]


def check_facility_sizes(book: RuleBook, fac: pd.DataFrame) -> list[dict[str, Any]]:
    """Floor area and beds of each facility against its role's minimums."""
    rows = []
    for rid, role, col, grade in _SIZE_RULES:
        rule = book.get(rid)
        if rule is None:
            continue
        mine = fac[fac["role"] == role]
        if grade is not None:
            mine = mine[mine.get("grade", pd.Series(index=mine.index, dtype=object)) == grade]
        rows += _per_facility(rule, mine, _num(mine, col), missing=col)
    rule = book.get("county_home_floor_per_bed")
    if rule is not None:
        homes = fac[fac["role"] == "county_home"]
        per_bed = _num(homes, "floor_area_m2") / _num(homes, "beds").replace(0, np.nan)
        rows += _per_facility(rule, homes, per_bed, missing="floor_area_m2 / beds")
    return rows


def elderly_60plus(communities: pd.DataFrame) -> tuple[float | None, str]:
    """The 60+ population the rules per 60+ population divide by, or None and why not.

    A run counting another age group (``age_group`` 65+ / 80+: the communities then carry
    ``age_group`` and ``pop_60plus``) has a 60+ figure only when its table gave one besides."""
    if "pop_60plus" not in communities:
        return float(communities["elderly_60plus"].sum()), ""
    group = str(communities["age_group"].iloc[0]) if "age_group" in communities else "60+"
    values = pd.to_numeric(communities["pop_60plus"], errors="coerce")
    if len(values) and values.notna().all():
        return float(values.sum()), ""
    if values.isna().all():
        return None, (
            f"本规则按60岁以上老年人口计；本次人口口径为{group[:-1]}岁以上，人口表未给出60岁以上人口"
            "（在 columns 中映射 elderly_60plus）"
        )
    return None, (
        f"本规则按60岁以上老年人口计；{int(values.isna().sum())} 个社区/村缺少60岁以上人口数据"
    )


def check_ratios(book: RuleBook, data: ComplianceData, fac: pd.DataFrame) -> list[dict[str, Any]]:
    """County-level ratios per elderly population, from facilities and district statistics.

    The ratios per 60+ population (beds per 1,000 elderly, family beds ‰, social workers per
    1,000) are "no data" when the run counts another age group without a 60+ figure."""
    elderly, no_60plus = elderly_60plus(data.communities)
    stats = dict(data.district_stats or {})
    code, name = data.district_code, data.district_name
    rows = []
    institutions = fac[fac["role"].isin(["institution", "county_home", "township_home"])]
    beds_inst = _num(institutions, "beds").sum()
    nursing = _num(institutions, "nursing_beds")
    rule = book.get("nursing_bed_share")
    if rule is not None:
        known = nursing.notna().all() and beds_inst > 0
        rows.append(
            _row(
                rule,
                code,
                name,
                "区县",
                required=rule.figure,
                actual=float(nursing.sum() / beds_inst) if known else None,
                note=f"护理型 {nursing.sum():,.0f} / 机构床位 {beds_inst:,.0f}"
                if known
                else "缺少养老机构 nursing_beds 或 beds 数据",
            )
        )
    rule = book.get("care_beds_per_1000_elderly")
    if rule is not None:
        beds = _num(fac, "beds")
        rows.append(
            _row(
                rule,
                code,
                name,
                "区县",
                required=rule.figure,
                actual=float(beds.sum() / elderly * 1000)
                if beds.notna().any() and elderly is not None
                else None,
                note=f"床位 {beds.sum():,.0f} / 老人 {elderly:,.0f}"
                if elderly is not None
                else no_60plus,
            )
        )
    for rid, key, label in (
        ("family_beds_per_mille", "family_care_beds", "家庭养老床位"),
        ("social_workers_per_1000_elderly", "social_workers", "社会工作者"),
    ):
        rule = book.get(rid)
        if rule is None:
            continue
        value = stats.get(key)
        rows.append(
            _row(
                rule,
                code,
                name,
                "区县",
                required=rule.figure,
                actual=None if value is None or elderly is None else float(value) / elderly * 1000,
                note=no_60plus
                if elderly is None
                else f"{label} {value:,.0f} / 老人 {elderly:,.0f}"
                if value is not None
                else f"缺少区县统计 {key}",
            )
        )
    return rows


def check_compounds(book: RuleBook, data: ComplianceData) -> list[dict[str, Any]]:
    """m² per 100 households in each residential compound, and the single-site minimum."""
    if data.compounds is None:
        return []
    rows = []
    for c in _records(data.compounds):
        new = str(c["status"]) in ("新建", "new")
        per100 = book.get(
            "compound_new_per_100_households" if new else "compound_existing_per_100_households"
        )
        if per100 is not None:
            rows.append(
                _row(
                    per100,
                    str(c["id"]),
                    str(c["name"]),
                    "小区",
                    required=per100.figure * c["households"] / 100.0,
                    actual=float(c["care_area_m2"]),
                    note=f"{c['households']:,.0f} 户 × {per100.figure:g} m²/百户",
                    measure="m²",
                )
            )
        site = book.get("compound_new_min_site" if new else "compound_existing_min_site")
        if site is not None:
            largest = float(c.get("largest_site_m2", c["care_area_m2"]))
            rows.append(
                _row(
                    site, str(c["id"]), str(c["name"]), "小区", required=site.figure, actual=largest
                )
            )
    return rows


def check_all(book: RuleBook, data: ComplianceData) -> pd.DataFrame:
    """Every rule in ``book`` that applies, as one compliance table (see module docstring)."""
    fac = _with_roles(data, book)
    rows = (
        check_land(book, data)
        + check_circles(book, data)
        + check_presence(book, data, fac)
        + check_facility_sizes(book, fac)
        + check_ratios(book, data, fac)
        + check_compounds(book, data)
    )
    return pd.DataFrame(rows, columns=COLUMNS)


def county_checks(book: RuleBook, counties: pd.DataFrame) -> pd.DataFrame:
    """Land per resident and bed ratios per 区县, from census-style county figures.

    ``counties`` has ``code``, ``name``, ``residents``, ``elderly_60plus`` and, where known, the
    supply: ``land_m2``, ``care_beds``, ``family_care_beds``. Missing supply gives rows without a
    verdict; the ``note`` of each row states the absolute figure required (m², beds).
    """
    rows = []
    land, care, family = (
        book.get(r)
        for r in ("land_per_capita", "care_beds_per_1000_elderly", "family_beds_per_mille")
    )
    for c in _records(counties):
        residents, elderly = float(c["residents"]), float(c["elderly_60plus"])
        if land is not None:
            rows.append(
                _row(
                    land,
                    c["code"],
                    c["name"],
                    "区县",
                    required=land.figure * residents,
                    actual=c.get("land_m2"),
                    note=f"{land.figure:g} m² × {residents:,.0f} 人",
                    measure="m²",
                )
            )
        for rule, key in ((care, "care_beds"), (family, "family_care_beds")):
            if rule is None:
                continue
            supply = c.get(key)
            ratio = None if supply is None or pd.isna(supply) else float(supply) / elderly * 1000
            rows.append(
                _row(
                    rule,
                    c["code"],
                    c["name"],
                    "区县",
                    required=rule.figure,
                    actual=ratio,
                    note=f"需 {rule.figure * elderly / 1000:,.1f} 张（{elderly:,.0f} 位老人）",
                )
            )
    return pd.DataFrame(rows, columns=COLUMNS)
