"""The web map's point layers: existing facilities by type, the proposed sites in build order
with the elderly each newly covers, the uncovered elderly as bubbles, the candidate sites and
parcels. Each feature carries the ids the live plan redraws by."""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from siting._text import html_table, html_text
from siting.outputs.style import (
    OTHER_COLOUR,
    PROPOSED_COLOUR,
    TYPE_COLOURS,
    UNCOVERED_COLOUR,
    UNCOVERED_LEAST,
    UNCOVERED_MAX_RADIUS,
)
from siting.outputs.webmap.layers import (
    _group,
    _Points,
)
from siting.outputs.webmap.liveplan import Live, Shift
from siting.results import RunData


def _facilities_layers(
    res: RunData, shift: Shift, live: Live | None = None
) -> list[folium.FeatureGroup]:
    """One layer per facility type; circle facilities in their colours, others grey. With
    ``live``, each circle facility carries its live-plan site index (``si``)."""
    types = set(res.inputs.circle_types)
    fac = shift(res.inputs.facilities)
    groups = []
    for ftype, part in fac.groupby("type", sort=True):
        serving = ftype in types
        label = "计入服务圈" if serving else "仅计用地"
        group = _group(f"现有：{ftype}（{len(part)}，{label}）", show=True)
        points = []
        for fid, f in part.iterrows():
            rows = [("名称", f.get("name", fid)), ("编号", fid), ("类型", ftype)]
            rows += [
                (lab, f[col])
                for col, lab in (
                    ("floor_area_m2", "建筑面积 m²"),
                    ("beds", "床位"),
                    ("nursing_beds", "护理型床位"),
                    ("land_area_m2", "用地面积 m²"),
                )
                if col in f and pd.notna(f[col])
            ]
            props: dict[str, object] = {
                "tip": html_text(f.get("name", fid)),
                "popup": html_table(rows),
            }
            if live is not None and str(fid) in live.site:
                props["si"] = live.site[str(fid)]
            points.append((f.geometry.x, f.geometry.y, props))
        colour = TYPE_COLOURS.get(str(ftype), OTHER_COLOUR) if serving else OTHER_COLOUR
        style = {
            "radius": 7 if serving else 6,
            "color": "#ffffff",
            "weight": 1.5,
            "fill": True,
            "fillColor": colour,
            "fillOpacity": 0.95,
        }
        layer = _Points(points, style=style, popup_width=320).add_to(group)
        if live is not None and serving:
            live.sites.append(layer.get_name())
        groups.append(group)
    return groups


def _required_size(res: RunData) -> str:
    parts = []
    for rid, unit in (
        ("community_facility_floor", "m² 建筑面积"),
        ("community_facility_beds", "张床位"),
    ):
        rule = res.rules.get(rid)
        if rule is not None:
            parts.append(f"不少于 {rule.figure:g} {unit}（{rule.source}）")
    return "；".join(parts) or "—"


def _proposed_layer(
    res: RunData, shift: Shift, proposed: pd.DataFrame, live: Live | None = None
) -> folium.FeatureGroup:
    group = _group("建议新建站点（按建设顺序编号）", show=True)
    located = shift(
        gpd.GeoDataFrame(
            proposed, geometry=gpd.points_from_xy(proposed["lon"], proposed["lat"]), crs=4326
        )
    )
    need = _required_size(res)
    _parcels_layer(
        res, shift, [str(i) for i in proposed["id"]], colour=PROPOSED_COLOUR, weight=2.0
    ).add_to(group)
    points = []
    for r, geom in zip(proposed.to_dict("records"), located.geometry, strict=True):
        rows = [
            ("建设顺序", r["build_order"]),
            ("编号", r["id"]),
            ("名称", r["name"]),
            ("新增覆盖老人", f"{r['newly_covered']:,.0f}"),
            ("用地面积 m²", r["land_area_m2"]),
            *_parcel_rows(res, str(r["id"])),
            ("按规则应建", need),
            ("新覆盖的社区/村", r["communities_newly_covered"] or "—"),
        ]
        props: dict[str, object] = {
            "badge": int(r["build_order"]),
            "tip": html_text(f"{r['build_order']}. {r['name']}"),
            "popup": html_table(rows),
        }
        if live is not None and str(r["id"]) in live.site:
            props["si"] = live.site[str(r["id"])]
        points.append((float(geom.x), float(geom.y), props))
    layer = _Points(points, popup_width=380).add_to(group)
    if live is not None:
        live.sites.append(layer.get_name())
    return group


def _uncovered_radius(elderly: float, largest: float) -> float:
    """A circle's radius in pixels: its area proportional to the elderly it stands for."""
    return round(max(2.5, UNCOVERED_MAX_RADIUS * float(np.sqrt(elderly / largest))), 1)


def _uncovered(res: RunData) -> pd.Series:
    """Elderly still outside every circle after the plan, per 社区/村 (only those with any)."""
    d = res.demand[~res.demand["covered_after"]]
    per = d.groupby("community")["weight"].sum()
    return per[per >= UNCOVERED_LEAST].sort_values(ascending=False)


def _uncovered_layer(res: RunData, shift: Shift, live: Live | None = None) -> folium.FeatureGroup:
    """One circle per 社区/村 at its representative point, its area proportional to the elderly
    there still outside every service circle after the plan. With ``live``, every 社区/村 with
    elderly has its circle (``ci``: its live-plan index), hidden while none of them is left
    outside, for the page to show when the current plan leaves some."""
    group = _group("服务圈外的老人（规划后）", show=True)
    per = _uncovered(res)
    if per.empty and live is None:
        return group
    largest = float(per.max()) if len(per) else 1.0
    if live is not None:
        live.largest = largest
        lived = res.demand.groupby("community")["weight"].sum()
        per = pd.concat([per, pd.Series(0.0, index=lived.index[lived > 0].difference(per.index))])
    comm = res.inputs.communities.loc[per.index]
    spots = gpd.GeoDataFrame(geometry=comm.geometry.representative_point(), crs=comm.crs)
    spots = shift(spots.to_crs(4326))
    table = res.communities.set_index("code")
    points = []
    for code, n in per.items():
        row = table.loc[str(code)]
        g = spots.geometry[str(code)]
        tip = html_table(
            [
                ("名称", f"{row['name']}（{row['kind']}）"),
                ("服务圈外的老人", f"约 {n:,.0f} 人（共 {row['elderly']:,.0f} 人）"),
                ("服务半径", f"{row['radius_m']:.0f} m 步行范围内无服务设施"),
            ]
        )
        props: dict[str, object] = {"tip": tip}
        if n >= UNCOVERED_LEAST:
            props["radius"] = _uncovered_radius(n, largest)
        else:
            props["hidden"] = True
        if live is not None:
            props["ci"] = live.community[str(code)]
        points.append((g.x, g.y, props))
    style = {
        "color": UNCOVERED_COLOUR,
        "weight": 2,
        "fill": True,
        "fillColor": "#ffffff",
        "fillOpacity": 0.45,
    }
    layer = _Points(points, style=style).add_to(group)
    if live is not None:
        live.uncovered = layer.get_name()
    return group


def _parcel_rows(res: RunData, cid: str) -> list[tuple[str, object]]:
    """Popup rows for a candidate given as a parcel: where its land figure and site come from."""
    cand = res.inputs.candidates
    if res.inputs.parcels is None or cid not in res.inputs.parcels.index:
        return []
    source = str(cand.loc[cid, "land_source"]) if "land_source" in cand else ""
    land = (
        "地块面积，" + source.removeprefix("parcel area (").removesuffix(")") + " 下计算"
        if source.startswith("parcel area")
        else "用地面积字段"
    )
    street = cand.loc[cid, "parcel_street_m"] if "parcel_street_m" in cand else np.nan
    site = "地块边界上距道路最近处" + (
        f"（地块距道路 {float(street):,.0f} m）" if pd.notna(street) else ""
    )
    return [("用地面积来源", land), ("站点位置", site)]


def _parcels_layer(
    res: RunData, shift: Shift, ids: Sequence[str], *, colour: str, weight: float
) -> folium.GeoJson | folium.FeatureGroup:
    """Outlines of the candidates in ``ids`` that were given as parcels (none: an empty group)."""
    parcels = res.inputs.parcels
    mine = [] if parcels is None else [i for i in ids if i in parcels.index]
    if not mine:
        return folium.FeatureGroup(control=False)
    assert parcels is not None
    names = res.inputs.candidates.get("name")
    frame = shift(gpd.GeoDataFrame(geometry=parcels.loc[mine])).reset_index(names="id")
    frame["tip"] = [
        html_text(f"{i} {'' if names is None else names.get(i, '')}（地块）") for i in mine
    ]
    return folium.GeoJson(
        frame[["tip", "geometry"]].to_json(),
        style_function=lambda f: {
            "color": colour,
            "weight": weight,
            "fillColor": colour,
            "fillOpacity": 0.12,
        },
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    )


def _candidates_layer(res: RunData, shift: Shift, live: Live | None = None) -> folium.FeatureGroup:
    """Candidates not chosen: their points and, for parcels, their outlines. With ``live``,
    those the page carries have their live-plan site index (``si``); the others say they
    cannot be opened on the page."""
    group = _group("候选地块（未选中）", show=False)
    chosen = set(res.solution.selected)
    unchosen = [str(i) for i in res.inputs.candidates.index if i not in chosen]
    _parcels_layer(res, shift, unchosen, colour=PROPOSED_COLOUR, weight=1.0).add_to(group)
    points = []
    for cid, c in shift(res.inputs.candidates).iterrows():
        if cid in chosen:
            continue
        props: dict[str, object] = {"tip": html_text(f"{cid} {c.get('name', '')}")}
        if live is not None:
            if str(cid) in live.site:
                props["si"] = live.site[str(cid)]
            else:
                props["tip"] = html_text(f"{cid} {c.get('name', '')}（未载入本页方案推演）")
        points.append((c.geometry.x, c.geometry.y, props))
    style = {"radius": 4, "weight": 1, "color": PROPOSED_COLOUR, "fill": False}
    layer = _Points(points, style=style).add_to(group)
    if live is not None:
        live.sites.append(layer.get_name())
    return group
