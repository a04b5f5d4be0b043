"""The review-meeting map: an interactive folium page of one run.

Layers (Chinese names, switchable): 社区/村 coloured by the share of elderly covered after the
proposed sites (and, hidden, before), 街道/乡镇 outlines, service areas of existing and proposed
sites, existing facilities by type, proposed sites numbered in build order, the elderly still
outside every circle, and the candidates not chosen.

Text from data is inert (``DESIGN.md``): every text taken from the data is HTML-escaped with
:mod:`siting._text` and travels as JSON data -- a GeoJSON property shown by a tooltip or popup,
a layer name -- never inside JavaScript code or a template literal. That is why no per-marker
``folium.Tooltip``/``folium.Popup`` (whose text folium puts into a template literal) is used
here: points are :class:`_Points` layers, polygons :func:`filled_layer`/``GeoJsonTooltip``.
folium's ``style_function`` results are written into the page as raw JSON: they carry colours
only, never text from the data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from siting._record import Note
from siting._text import html_table, html_text, script_json
from siting._tiles import provider, shifter
from siting.analysis import access as equity
from siting.analysis.coverage import dissolve_areas
from siting.io.write import write_page
from siting.models import Solution
from siting.outputs.mapimage import (
    write_png as write_png,  # the static map, moved; callers keep maps
)
from siting.outputs.webmap import liveplan
from siting.outputs.webmap.offline import PageHtml, make_offline
from siting.pipeline.stages import RunResult
from siting.rules.book import CONFIDENCE_ZH

SHARE_BINS = (
    (0.0, "#b2182b", "0%（未覆盖）"),
    (0.5, "#ef8a62", "0–50%"),
    (0.9, "#fddbc7", "50–90%"),
    (0.9999, "#a6dba0", "90–100%"),
    (1.01, "#1b7837", "100%（全覆盖）"),
)
TYPE_COLOURS = {
    "社区日间照料中心": "#2166ac",
    "街道综合养老服务中心": "#542788",
    "农村幸福院": "#35978f",
}
OTHER_COLOUR = "#737373"
PROPOSED_COLOUR = "#e66101"
Shift = Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame]


@dataclass
class Live:
    """What the live plan (:mod:`siting.liveplan`) needs from the layers as they are built:
    the indices features carry (site ids and 社区/村 codes to indices into its data) and the
    JavaScript names of the layers it redraws (folium's generated identifiers, never data)."""

    data: dict[str, Any]
    site: dict[str, int] = field(init=False)
    community: dict[str, int] = field(init=False)
    communities: str | None = None
    uncovered: str | None = None
    sites: list[str] = field(default_factory=list)
    largest: float = 1.0

    def __post_init__(self) -> None:
        self.site = {s: k for k, s in enumerate(self.data["sites"]["id"])}
        self.community = {str(c): k for k, c in enumerate(self.data["communities"]["code"])}


class LivePlan(MacroElement):
    """The live plan's call: ``window.sitingPlan`` made by the page's fixed script from the
    data (one JSON literal, :func:`siting._text.script_json`) and the layers' names."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        window.sitingPlan = window.sitingLivePlan({{ this.map }}, {{ this.data }}, {
            communities: {{ this.communities }},
            uncovered: {{ this.uncovered }},
            sites: [{{ this.sites }}]
        });
        {% endmacro %}
    """)

    def __init__(self, fmap: folium.Map, live: Live) -> None:
        super().__init__()
        self._name = "SitingLivePlan"
        self.map = fmap.get_name()
        data = dict(live.data)
        data["communities"] = {k: v for k, v in data["communities"].items() if k != "code"}
        data["uncovered"] = {"largest": live.largest, "max_radius": UNCOVERED_MAX_RADIUS}
        self.data = script_json(data)
        self.communities = live.communities or "null"
        self.uncovered = live.uncovered or "null"
        self.sites = ", ".join(live.sites)


NO_ELDERLY_COLOUR, NO_ELDERLY_LABEL = "#d9d9d9", "无老人（不计覆盖率）"


def share_legend(res: RunResult) -> list[tuple[str, str]]:
    """The choropleth's legend rows (colour, text); the grey of 社区/村 without elderly only
    when there are some."""
    rows = [(c, t) for _, c, t in SHARE_BINS]
    if (res.communities["elderly"] <= 0).any():
        rows.append((NO_ELDERLY_COLOUR, NO_ELDERLY_LABEL))
    return rows


def share_text(share: float) -> str:
    """A share in a tooltip; 无老人 where there is none."""
    return "无老人" if share != share else f"{share:.1%}"


def _colour(share: float) -> str:
    if share != share:  # NaN: a 社区/村 without elderly has no share
        return NO_ELDERLY_COLOUR
    if share <= 0:
        return SHARE_BINS[0][1]
    for upper, colour, _ in SHARE_BINS[1:]:
        if share < upper:
            return colour
    return SHARE_BINS[-1][1]


class _Points(MacroElement):
    """A layer of points whose texts travel as JSON data, never as code.

    Each point is a GeoJSON feature with properties ``tip`` and ``popup`` (HTML, already
    escaped: Leaflet shows them as innerHTML) and, for a numbered badge, ``badge`` (its number,
    set as the badge's textContent). Points without a badge are circle markers drawn with
    ``style`` (a number ``radius`` in a point's properties sizes its own circle; ``hidden``
    draws it invisible, for the live plan to show when it matters). The features,
    the style and the badge's CSS are embedded with :func:`siting._text.script_json`; the
    script itself is fixed.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data }}, {
            pointToLayer: function (feature, latlng) {
                var p = feature.properties;
                if (p.badge === undefined) {
                    var style = Object.assign({}, {{ this.style }});
                    if (typeof p.radius === 'number') { style.radius = p.radius; }
                    if (p.hidden) { style.radius = 0; style.opacity = 0; style.fillOpacity = 0; }
                    return L.circleMarker(latlng, style);
                }
                var badge = document.createElement('div');
                badge.className = 'siting-site';
                badge.style.cssText = {{ this.badge_css }};
                badge.textContent = String(p.badge);
                return L.marker(latlng, {icon: L.divIcon({
                    html: badge, className: 'siting-badge', iconSize: [24, 24], iconAnchor: [12, 12]
                })});
            },
            onEachFeature: function (feature, layer) {
                var p = feature.properties;
                if (p.tip) { layer.bindTooltip(p.tip, {sticky: true}); }
                if (p.popup) { layer.bindPopup(p.popup, {maxWidth: {{ this.popup_width }}}); }
            }
        }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    BADGE_CSS = (
        f"background:{PROPOSED_COLOUR};color:#fff;border:2px solid #fff;border-radius:50%;"
        "width:24px;height:24px;line-height:20px;text-align:center;font:bold 12px sans-serif;"
        "box-shadow:0 0 3px #000"
    )

    def __init__(
        self,
        points: Iterable[tuple[float, float, Mapping[str, object]]],
        *,
        style: Mapping[str, object] | None = None,
        popup_width: int = 320,
    ) -> None:
        super().__init__()
        self._name = "SitingPoints"
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(x, 7), round(y, 7)]},
                "properties": dict(props),
            }
            for x, y, props in points
        ]
        self.data = script_json({"type": "FeatureCollection", "features": features})
        self.style = script_json(dict(style or {}))
        self.badge_css = script_json(self.BADGE_CSS)
        self.popup_width = script_json(int(popup_width))


def filled_layer(
    frame: gpd.GeoDataFrame,
    *,
    edge: str,
    weight: float,
    opacity: float,
    highlight: bool = False,
    name: str | None = None,
    dash: str | None = None,
    extra: Sequence[str] = (),
    with_popup: bool = False,
) -> folium.GeoJson:
    """Polygons filled with their ``fill`` column's colour (one of siting's palette: folium
    writes styles into the page as raw JSON), ``tip`` (escaped HTML) on hover; ``name``, plain
    text, is escaped here for the layer control; ``dash``: a dashed outline (Leaflet
    ``dashArray``, e.g. ``"4 3"``); ``extra``: more columns as properties (numbers only: the
    live plan's indices); ``with_popup``: the ``pop`` column (escaped HTML) opens on a click."""
    style: dict[str, object] = {"color": edge, "weight": weight, "fillOpacity": opacity}
    if dash is not None:
        style["dashArray"] = dash
    pop = ["pop"] if with_popup else []
    layer = folium.GeoJson(
        frame[["tip", "fill", *pop, *extra, "geometry"]].to_json(),
        name=None if name is None else html_text(name),
        style_function=lambda f: {"fillColor": f["properties"]["fill"], **style},
        highlight_function=(lambda f: {"weight": 2.5, "color": "#000000"}) if highlight else None,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    )
    if with_popup:
        folium.GeoJsonPopup(fields=["pop"], labels=False, max_width=460).add_to(layer)
    return layer


def _group(name: str, *, show: bool) -> folium.FeatureGroup:
    """A switchable layer; Leaflet's layer control shows ``name`` as HTML, so it is escaped."""
    return folium.FeatureGroup(name=html_text(name), show=show)


DERIVED_CELLS = (
    "派生单元：由居委会/村委会点位按就近原则划分（泰森多边形，按街道/乡镇裁剪），非实际边界"
)
CELL_DASH = "4 3"


def _communities_layer(
    res: RunResult, shift: Shift, *, when: str, show: bool, live: Live | None = None
) -> folium.FeatureGroup:
    """社区/村 coloured by share covered; derived cells (社区/村 given as points) dashed, their
    points drawn, and every tooltip saying the area is derived. With ``live``, each polygon
    carries its index into the live plan's 社区/村 (``ci``) and the layer is the one the page
    recolours."""
    derived = res.inputs.community_geometry == "points"
    comm = res.communities.set_index("code", drop=False)
    geo = shift(res.inputs.communities[["geometry"]]).join(comm, how="inner").reset_index(drop=True)
    extra = [("范围", DERIVED_CELLS)] if derived else []
    geo["tip"] = [
        html_table(
            [
                ("名称", f"{r['name']}（{r['kind']}）"),
                ("代码", r["code"]),
                (f"{res.inputs.age_label}老人", f"{r['elderly']:,.0f}"),
                ("服务半径", f"{r['radius_m']:.0f} m"),
                ("规划前覆盖", share_text(r["share_before"])),
                ("规划后覆盖", share_text(r["share_after"])),
                *extra,
            ]
        )
        for _, r in geo.iterrows()
    ]
    geo["fill"] = [_colour(s) for s in geo[f"share_{when}"]]
    keep: list[str] = []
    if live is not None:
        geo["ci"] = [live.community[str(c)] for c in geo["code"]]
        keep = ["ci"]
    label = "社区/村覆盖率（规划后）" if when == "after" else "社区/村覆盖率（规划前）"
    if derived:
        label += "·派生单元"
    group = _group(label, show=show)
    layer = filled_layer(
        geo,
        edge="#555555",
        weight=0.9 if derived else 0.6,
        opacity=0.55,
        highlight=True,
        dash=CELL_DASH if derived else None,
        extra=keep,
    ).add_to(group)
    if live is not None:
        live.communities = layer.get_name()
    if derived and res.inputs.community_points is not None:
        _community_points(res, shift).add_to(group)
    return group


ACCESS_PALETTE = ("#f7fcf5", "#c7e9c0", "#74c476", "#31a354", "#006d2c")
"""Five quantile classes of accessibility after the plan, light (least) to dark (most)."""


def _access_layer(res: RunResult, shift: Shift) -> folium.FeatureGroup | None:
    """社区/村 by 2SFCA accessibility after the plan (:func:`siting.equity.map_layer`), in five
    quantile classes, the figures before and after in the tooltip; hidden at first."""
    if res.equity is None:
        return None
    rows = equity.map_layer(res.communities, res.equity).set_index("code")
    geo = shift(res.inputs.communities[["geometry"]]).join(rows, how="inner")
    geo = geo.rename_axis("code").reset_index()
    if geo.empty:
        return None
    values = geo["access_after"].to_numpy(dtype=float)
    edges = np.unique(np.quantile(values, [0.2, 0.4, 0.6, 0.8]))
    geo["fill"] = [ACCESS_PALETTE[int(np.searchsorted(edges, v, side="right"))] for v in values]
    names = res.communities.set_index("code")["name"]
    geo["tip"] = [
        html_table(
            [
                ("社区/村", str(names.get(r["code"], r["code"]))),
                ("规划前", f"{r['access_before']:,.1f}"),
                ("规划后", f"{r['access_after']:,.1f}"),
                ("变化", f"{r['change']:+,.1f}"),
                ("口径", res.equity.supply.label_zh),
            ]
        )
        for _, r in geo.iterrows()
    ]
    group = _group(equity.map_title(res.equity), show=False)
    filled_layer(geo, edge="#555555", weight=0.5, opacity=0.7, highlight=True).add_to(group)
    return group


def _community_points(res: RunResult, shift: Shift) -> _Points:
    """The 居委会/村委会 points the cells were derived from."""
    names = res.inputs.communities["name"]
    located = shift(gpd.GeoDataFrame(geometry=res.inputs.community_points))
    points = [
        (g.x, g.y, {"tip": html_text(f"{names.get(code, code)}（{code}）居委会/村委会点位")})
        for code, g in located.geometry.items()
    ]
    style = {"radius": 2.5, "weight": 1, "color": "#333333", "fill": True, "fillOpacity": 1.0}
    return _Points(points, style=style)


def _units_layer(res: RunResult, shift: Shift) -> folium.FeatureGroup:
    group = _group("街道/乡镇边界", show=True)
    units = shift(res.inputs.streets).reset_index(drop=True)
    units["tip"] = [
        html_text(f"{n}（{k}）{c}")
        for n, k, c in zip(units["name"], units["kind"], units["code"], strict=True)
    ]
    folium.GeoJson(
        units[["tip", "geometry"]].to_json(),
        style_function=lambda f: {"fill": False, "color": "#222222", "weight": 2.2},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    ).add_to(group)
    return group


def _compliance_layer(res: RunResult, shift: Shift) -> folium.FeatureGroup:
    """街道/乡镇 shaded by whether they meet every unit rule (after the proposed sites)."""
    group = _group("规则达标情况（街道/乡镇，规划后）", show=False)
    comp = res.compliance
    latest = comp[
        (comp["stage"] == "规划后")
        | ~comp["rule"].isin(comp.loc[comp["stage"] == "规划后", "rule"])
    ]
    units = shift(res.inputs.streets).reset_index(drop=True)
    comm = res.communities.set_index("code")["street_code"]
    tips, fills, pops = [], [], []
    for code, name in zip(units["code"], units["name"], strict=True):
        own = latest[latest["unit"] == code]
        members = comm.index[comm == code]
        lacking = latest[latest["unit"].isin(members) & (latest["pass"] == False)]  # noqa: E712
        rows = [
            (
                r.title,
                _against(r.actual, r.required, str(r.measure))
                + ("✔ 达标" if r.passed is True else "✘ 未达标" if r.passed is False else "无数据")
                + f"（{CONFIDENCE_ZH.get(str(r.confidence), str(r.confidence))}）",
            )
            for r in own.rename(columns={"pass": "passed"}).itertuples()
        ]
        if len(members):
            rows.append(("社区/村级未达标", f"{lacking['unit'].nunique()} 个社区/村"))
        if len(own):  # a tooltip does not wrap: the citations open with a click
            rows.append(("依据", "点击查看各规则的政策文件名称与文号"))
        failing = bool((own["pass"] == False).any()) or len(lacking) > 0  # noqa: E712
        head = f"<b>{html_text(name)}</b>（{html_text(code)}）"
        tips.append(head + html_table(rows))
        cited = own.drop_duplicates("rule")
        pops.append(
            f"<div style='max-height:320px;overflow:auto'>{head} 规则依据"
            + html_table(
                [
                    (
                        r.title,
                        f"{r.source}（{CONFIDENCE_ZH.get(str(r.confidence), str(r.confidence))}）",
                    )
                    for r in cited.itertuples()
                ]
            )
            + "</div>"
        )
        fills.append("#d7301f" if failing else "#1a9850")
    frame = units.assign(tip=tips, fill=fills, pop=pops)
    filled_layer(frame, edge="#333333", weight=1.5, opacity=0.35, with_popup=True).add_to(group)
    return group


def _against(actual: object, required: object, measure: str) -> str:
    """A rule's figure against its requirement in one unit: ratios as percentages on both
    sides, counts as integers, the rest to 0.1."""
    if measure == "比例":
        shown = [
            "—" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{float(v):.1%}"  # type: ignore[arg-type]
            for v in (actual, required)
        ]
        return f"{shown[0]} / 要求 {shown[1]}  "

    def plain(v: object) -> str:  # never a percentage: the unit says what the number is
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "—"
        number = float(v)  # type: ignore[arg-type]
        return f"{number:,.2f}".rstrip("0").rstrip(".")

    return f"{plain(actual)} / 要求 {plain(required)} {measure}  "


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    number = float(value)  # type: ignore[arg-type]
    return f"{number:.1%}" if 0 < abs(number) <= 1 and not number.is_integer() else f"{number:,.1f}"


AREA_STYLES = {
    "existing": ("现有设施服务圈", "#08306b", None),
    "candidate": ("新建站点服务圈", PROPOSED_COLOUR, "7 5"),
}
"""Service areas by role: name, outline colour, dash (``None``: solid). Outlines only, no fill,
so the 社区/村 coverage colours under them read true."""


def _areas_layers(res: RunResult, shift: Shift, role: str) -> list[folium.FeatureGroup]:
    """The service areas of one role, one layer per circle tier (一刻钟 / 一公里), dissolved,
    drawn as outlines (existing solid, proposed dashed)."""
    name, colour, dash = AREA_STYLES[role]
    areas = res.service_areas[res.service_areas["role"] == role]
    groups = []
    for tier, part in areas.groupby("tier", sort=True):
        group = _group(f"{name}·{tier}", show=True)
        outlines = dissolve_areas(part, ["tier"], simplify_m=12.0)
        outlines["geometry"] = [_without_specks(g) for g in outlines.geometry]
        dissolved = shift(outlines.to_crs(4326))
        dissolved["tip"] = [
            html_text(f"{name}：{t}（{n} 处）")
            for t, n in zip(dissolved["tier"], dissolved["sites"], strict=True)
        ]
        folium.GeoJson(
            dissolved[["tip", "geometry"]].to_json(),
            style_function=lambda f, c=colour, d=dash: {
                "fill": False,
                "color": c,
                "weight": 2.2,
                "opacity": 0.9,
                **({} if d is None else {"dashArray": d}),
            },
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
        ).add_to(group)
        groups.append(group)
    return groups


SPECK_M2 = 20_000.0
"""Holes in a service area smaller than this (2 ha, a block between streets) are left out of
its outline on the map: drawn, they read as texture, not as places out of reach."""


def _without_specks(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` (metric CRS) without holes under :data:`SPECK_M2`, for drawing."""
    if isinstance(geom, MultiPolygon):
        return MultiPolygon([_without_specks(g) for g in geom.geoms])
    if isinstance(geom, Polygon):
        rings = [r for r in geom.interiors if Polygon(r).area >= SPECK_M2]
        return Polygon(geom.exterior, rings)
    return geom


def _facilities_layers(
    res: RunResult, shift: Shift, live: Live | None = None
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


def _required_size(res: RunResult) -> str:
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
    res: RunResult, shift: Shift, proposed: pd.DataFrame, live: Live | None = None
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


UNCOVERED_COLOUR = "#67001f"
UNCOVERED_MAX_RADIUS = 18.0
UNCOVERED_LEAST = 0.5
"""Elderly: a 社区/村 with fewer left outside every circle gets no circle."""


def _uncovered_radius(elderly: float, largest: float) -> float:
    """A circle's radius in pixels: its area proportional to the elderly it stands for."""
    return round(max(2.5, UNCOVERED_MAX_RADIUS * float(np.sqrt(elderly / largest))), 1)


def _uncovered(res: RunResult) -> pd.Series:
    """Elderly still outside every circle after the plan, per 社区/村 (only those with any)."""
    d = res.demand[~res.demand["covered_after"]]
    per = d.groupby("community")["weight"].sum()
    return per[per >= UNCOVERED_LEAST].sort_values(ascending=False)


def _uncovered_layer(res: RunResult, shift: Shift, live: Live | None = None) -> folium.FeatureGroup:
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


def _parcel_rows(res: RunResult, cid: str) -> list[tuple[str, object]]:
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
    res: RunResult, shift: Shift, ids: Sequence[str], *, colour: str, weight: float
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


def _candidates_layer(
    res: RunResult, shift: Shift, live: Live | None = None
) -> folium.FeatureGroup:
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


def _swatch(css: str) -> str:
    return (
        f"<span style='display:inline-block;vertical-align:middle;margin-right:5px;{css}'></span>"
    )


LEGEND_WIDTH = 330
LEGEND_CSS = (
    "<style>#siting-legend summary{cursor:pointer;list-style-position:inside}"
    "#siting-legend[open] .siting-fold-closed,#siting-legend:not([open]) .siting-fold-open"
    "{display:none}#siting-legend .siting-row{margin:1px 0;white-space:nowrap}"
    "#siting-legend hr{margin:4px 0;border:0;border-top:1px solid #ccc}</style>"
)


def _legend(res: RunResult, proposed: pd.DataFrame, note: str = "") -> str:
    from siting.outputs.tables import status_zh

    sc, m = res.scenario, res.solution
    w = res.demand["weight"]
    total = float(w.sum())
    before = float((w * res.demand["covered_before"]).sum())
    after = float((w * res.demand["covered_after"]).sum())

    def row(swatch: str, text: str) -> str:
        return f"<div class='siting-row'>{swatch}{html_text(text)}</div>"

    bins = "".join(
        row(_swatch(f"background:{c};opacity:.75;width:16px;height:11px"), t)
        for c, t in share_legend(res)
    )
    dot = "border-radius:50%;border:1.5px solid #fff;box-shadow:0 0 1px #000;"
    kinds = "".join(
        row(_swatch(f"{dot}background:{c};width:10px;height:10px"), t)
        for t, c in TYPE_COLOURS.items()
    )
    areas = "".join(
        row(
            _swatch(
                f"width:22px;height:0;border-top:2.5px {'solid' if d is None else 'dashed'} {c}"
            ),
            n,
        )
        for n, c, d in AREA_STYLES.values()
    )
    per = _uncovered(res)
    sizes = ""
    if not per.empty:
        largest = float(per.max())
        circles = "".join(
            _swatch(
                f"width:{2 * r:.0f}px;height:{2 * r:.0f}px;border-radius:50%;"
                f"background:rgba(255,255,255,.45);border:2px solid {UNCOVERED_COLOUR};"
                "box-sizing:border-box"
            )
            + f"<span style='margin-right:8px'>{n:,.0f}</span>"
            for n in _round_steps(largest)
            for r in [_uncovered_radius(n, largest)]
        )
        sizes = (
            f"<div class='siting-row'>服务圈外的老人（规划后，每社区/村一圈，面积按人数）：</div>"
            f"<div class='siting-row'>{circles}人</div>"
        )
    badge = (
        f"<span style='display:inline-block;width:16px;height:16px;line-height:16px;"
        f"border-radius:50%;background:{PROPOSED_COLOUR};color:#fff;text-align:center;"
        "font:bold 10px sans-serif;margin-right:5px'>1</span>"
    )
    # a <details> box, open at first; its summary says what a click does in either state
    return (
        LEGEND_CSS + "<details open id='siting-legend' style='position:fixed;bottom:24px;left:12px;"
        "z-index:9999;background:rgba(255,255,255,.94);padding:6px 10px;border:1px solid #999;"
        f"border-radius:4px;font:12px sans-serif;max-width:{LEGEND_WIDTH}px;"
        "max-height:calc(100vh - 140px);overflow-y:auto'>"
        f"<summary><b>图例</b>·{html_text(sc.name)}"
        "<span class='siting-fold-open' style='color:#666'>（点击收起）</span>"
        "<span class='siting-fold-closed' style='color:#666'>（点击展开）</span></summary>"
        f"覆盖{res.inputs.age_label}老人：规划前 {before / total:.1%} → 规划后 {after / total:.1%}"
        f"（新建 {len(proposed)} 处）<br>"
        f"社区一刻钟服务圈：步行 {sc.coverage.urban_minutes:g} 分钟 × "
        f"{sc.coverage.walk_speed_mps:g} m/s = {sc.coverage.urban_radius_m:.0f} m；"
        f"村一公里服务圈：{sc.coverage.rural_radius_m:.0f} m"
        "（路网距离）<br>"
        f"求解：{html_text(status_zh(m.status))}，最优性差距 {m.gap:.2%}"
        f"{_walk_line(m)}"
        f"<hr><b>社区/村覆盖率（规划后）</b>{bins}{_cells_note(res)}"
        f"<hr>{areas}{kinds}"
        + row(_swatch(f"{dot}background:{OTHER_COLOUR};width:10px;height:10px"), "其他养老设施")
        + f"<div class='siting-row'>{badge}建议新建站点（按建设顺序编号）</div>"
        + (f"<hr>{sizes}" if sizes else "")
        + (f"<hr><div style='color:#b35806'>{html_text(note)}</div>" if note else "")
        + _notes(res.warnings)
        + "</details>"
    )


def _round_steps(largest: float) -> list[float]:
    """Two or three round figures up to ``largest`` for the legend's circle sizes."""
    top = float(10 ** np.floor(np.log10(max(largest, 1.0))))
    top = max(t for t in (top, 2 * top, 5 * top) if t <= max(largest, 1.0))
    steps = [top / 10, top / 2, top] if top >= 10 else [top]
    return [s for s in steps if s >= 1]


def _cells_note(res: RunResult) -> str:
    """The legend's word on derived cells: 社区/村 given as points have no real boundaries."""
    if res.inputs.community_geometry != "points":
        return ""
    n = len(res.inputs.communities)
    return (
        "<div id='siting-cells' style='margin-top:3px'><span style='display:inline-block;"
        "width:14px;height:10px;margin-right:4px;border:1.5px dashed #555'></span>"
        f"虚线：{html_text(DERIVED_CELLS)}（{n} 个）"
        "<span style='color:#333'> ●</span> 居委会/村委会点位</div>"
    )


MAX_NOTES = 6


def _notes(warnings: Sequence[Note]) -> str:
    """The run's recorded warnings for the legend: a short list, each message in Chinese
    (``message_zh``), escaped; the rest counted and pointed to in report.xlsx."""
    if not warnings:
        return ""
    items = "".join(f"<li>{html_text(n.text)}</li>" for n in warnings[:MAX_NOTES])
    if len(warnings) > MAX_NOTES:
        items += f"<li>另有 {len(warnings) - MAX_NOTES} 条，见 report.xlsx 的“注意事项”表</li>"
    return (
        "<hr style='margin:4px 0'><div id='siting-notes' style='color:#b35806'><b>注意</b>"
        "<ul style='margin:2px 0;padding-left:16px;max-height:120px;overflow-y:auto'>"
        f"{items}</ul></div>"
    )


def _walk_line(solution: Solution) -> str:
    """p-center / p-median: the walks their sites leave, for the legend."""
    w = solution.walks
    if w is None:
        return ""
    if w.bound_m is not None:  # p-center
        return (
            f"<br>最远步行距离 {w.worst_walk_m:,.0f} m"
            f"（{solution.p} 处新站点不可能低于 {w.bound_m:,.0f} m）"
        )
    return f"<br>到最近站点平均步行 {w.mean_walk_m or 0.0:,.0f} m，最远 {w.worst_walk_m:,.0f} m"


def build_map(res: RunResult, proposed: pd.DataFrame, *, live_plan: bool = True) -> folium.Map:
    """The folium map of a run; ``proposed`` is :func:`siting.report.proposed_table`.
    ``live_plan``: the what-if panel (:mod:`siting.liveplan`) with its data."""
    tiles = provider(res.scenario.output.tiles)
    shift = shifter(tiles.coord_system)
    whole = shift(res.inputs.communities).total_bounds
    bounds = _view_bounds(res, shift)
    fmap = folium.Map(
        location=((bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2),
        zoom_start=13,
        tiles=None,
        zoom_snap=0.25,  # the view fits the screen closely, not to a whole zoom level
    )
    folium.TileLayer(
        tiles.url, name=tiles.label, attr=tiles.attribution, subdomains=tiles.subdomains
    ).add_to(fmap)
    live = Live(_live_data(res)) if live_plan else None
    layers = [
        _communities_layer(res, shift, when="after", show=True, live=live),
        _communities_layer(res, shift, when="before", show=False),
        _units_layer(res, shift),
        _compliance_layer(res, shift),
        *([access] if (access := _access_layer(res, shift)) is not None else []),
        *_areas_layers(res, shift, "existing"),
        *_areas_layers(res, shift, "candidate"),
        *_facilities_layers(res, shift, live),
        _uncovered_layer(res, shift, live),
        _candidates_layer(res, shift, live),
        _proposed_layer(res, shift, proposed, live),
    ]
    for layer in layers:
        layer.add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    # room for the legend at the bottom left, the plan panel at the right, the controls on top
    fmap.fit_bounds(
        [(bounds[1], bounds[0]), (bounds[3], bounds[2])],
        padding_top_left=(LEGEND_WIDTH + 20, 40),
        padding_bottom_right=((PANEL_WIDTH if live else 0) + 20, 20),
    )
    root = fmap.get_root()
    root.html.add_child(PageHtml(_legend(res, proposed, tiles.note)))  # type: ignore[attr-defined]
    MapControls(fmap, whole=whole).add_to(fmap)
    if live is not None:
        root.header.add_child(  # type: ignore[attr-defined]
            PageHtml(f"<script>{liveplan.script()}</script>"), name="siting_liveplan_js"
        )
        LivePlan(fmap, live).add_to(fmap)
    return make_offline(fmap)


PANEL_WIDTH = 360
"""Pixels: the live plan's panel at the right."""


def _live_data(res: RunResult) -> dict[str, Any]:
    """The live plan's data with what the map draws it with (colours, badge, panel)."""
    data = liveplan.plan_data(res)
    cv = res.scenario.coverage
    data["communities"]["code"] = [str(c) for c in res.communities["code"]]
    data["bins"] = [[upper, colour] for upper, colour, _ in SHARE_BINS]
    data["no_elderly_colour"] = NO_ELDERLY_COLOUR
    data["badge_css"] = _Points.BADGE_CSS
    data["panel_width"] = PANEL_WIDTH
    data["circles"] = html_text(
        f"社区步行 {cv.urban_radius_m:.0f} m、村 {cv.rural_radius_m:.0f} m（路网距离）"
    )
    return data


CORE_SHARE = 0.5
"""The 社区 (urban) open the view alone when they hold at least this share of the elderly
and their rectangle is at most this share of the rectangle of every 社区/村 with elderly."""


def _view_bounds(res: RunResult, shift: Shift) -> np.ndarray:
    """Where the map opens: the 社区/村 with elderly; the urban 社区 alone when they hold most
    of the elderly and villages spread far around them (the 全区 button shows everything)."""
    table = res.communities.set_index("code")
    lived = table.index[table["elderly"] > 0]
    geo = shift(res.inputs.communities.loc[res.inputs.communities.index.intersection(lived)])
    if geo.empty:
        return shift(res.inputs.communities).total_bounds
    everywhere = geo.total_bounds
    urban = table.loc[geo.index, "kind"] == "社区"
    core = geo[urban.to_numpy()]
    if core.empty:
        return everywhere

    def area(b: np.ndarray) -> float:
        return float((b[2] - b[0]) * (b[3] - b[1]))

    elderly = table.loc[geo.index, "elderly"]
    core_share = float(elderly[urban].sum() / elderly.sum())
    core_bounds = core.total_bounds
    if core_share >= CORE_SHARE and area(core_bounds) <= CORE_SHARE * area(everywhere):
        return core_bounds
    return everywhere


class MapControls(MacroElement):
    """A fullscreen button using the browser's Fullscreen API (no plugin to fetch), a 全区
    button showing the whole district when its bounds are given, and a metric scale bar."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this.map }};
            if (map.zoomControl) {  // Leaflet's own buttons, titled in Chinese
                map.zoomControl._zoomInButton.title = '放大';
                map.zoomControl._zoomInButton.setAttribute('aria-label', '放大');
                map.zoomControl._zoomOutButton.title = '缩小';
                map.zoomControl._zoomOutButton.setAttribute('aria-label', '缩小');
            }
            var Control = L.Control.extend({
                options: {position: 'topleft'},
                onAdd: function () {
                    var box = L.DomUtil.create('div', 'leaflet-bar leaflet-control');
                    var link = L.DomUtil.create('a', 'siting-fullscreen', box);
                    link.href = '#'; link.title = '全屏'; link.textContent = '全屏';
                    link.style.cssText = 'width:auto;padding:0 4px;font:12px sans-serif';
                    L.DomEvent.on(link, 'click', function (e) {
                        L.DomEvent.preventDefault(e);
                        var el = map.getContainer();
                        if (document.fullscreenElement) { document.exitFullscreen(); }
                        else if (el.requestFullscreen) { el.requestFullscreen(); }
                    });
                    var whole = {{ this.whole }};
                    if (whole !== null) {
                        var all = L.DomUtil.create('a', 'siting-whole', box);
                        all.href = '#'; all.title = '显示全区'; all.textContent = '全区';
                        all.style.cssText = link.style.cssText;
                        L.DomEvent.on(all, 'click', function (e) {
                            L.DomEvent.preventDefault(e);
                            map.fitBounds(whole, {padding: [20, 20]});
                        });
                    }
                    return box;
                }
            });
            map.addControl(new Control());
            document.addEventListener('fullscreenchange', function () { map.invalidateSize(); });
            // metres only, and bottom right: the legend folds out at the bottom left
            L.control.scale({imperial: false, position: 'bottomright'}).addTo(map);
        })();
        {% endmacro %}
    """)

    def __init__(self, fmap: folium.Map, whole: Sequence[float] | None = None) -> None:
        super().__init__()
        self.map = fmap.get_name()
        # [[south, west], [north, east]] of the whole district for the 全区 button (numbers)
        self.whole = script_json(
            None
            if whole is None
            else [[float(whole[1]), float(whole[0])], [float(whole[3]), float(whole[2])]]
        )


def write_map(res: RunResult, proposed: pd.DataFrame, path: Path) -> Path:
    """Save the map as a self-contained HTML page, atomically."""
    fmap = build_map(res, proposed)
    return write_page(path, fmap)
