"""Layers of the web map that are data before they are drawn: the 2SFCA accessibility per
社区/村 and its title."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from siting._text import html_table, html_text, script_json
from siting.analysis.access import Equity
from siting.analysis.coverage import dissolve_areas
from siting.outputs.style import (
    ACCESS_PALETTE,
    PROPOSED_COLOUR,
    _colour,
    share_text,
)
from siting.outputs.webmap.liveplan import Live, Shift
from siting.results import RunData
from siting.rules.book import CONFIDENCE_ZH


def map_layer(communities: pd.DataFrame, eq: Equity) -> pd.DataFrame:
    """What a map layer of accessibility needs, per 社区/村 (``code`` as in the run's community
    table): ``access_before``, ``access_after``, ``change`` and a Chinese ``label`` (plain text:
    escape it through :mod:`siting._text` where it enters HTML)."""
    what = eq.supply.label_zh
    before = communities["access_2sfca_before"].to_numpy(dtype=float)
    after = communities["access_2sfca_after"].to_numpy(dtype=float)
    decay = "高斯衰减" if eq.decay == "gaussian" else "不衰减"
    labels = [
        f"{name}：{what} 规划前 {b:,.1f} → 规划后 {a:,.1f}（两步移动搜索法，{decay}）"
        for name, b, a in zip(communities["name"].astype(str), before, after, strict=True)
    ]
    return pd.DataFrame(
        {
            "code": communities["code"].astype(str).to_numpy(),
            "access_before": before,
            "access_after": after,
            "change": after - before,
            "label": labels,
        }
    )


def map_title(eq: Equity) -> str:
    """The map layer's name (plain text: the map escapes it for the layer control)."""
    decay = "，高斯衰减" if eq.decay == "gaussian" else ""
    return f"社区/村可及性（两步移动搜索法{decay}，{eq.supply.label_zh}）"


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
    res: RunData, shift: Shift, *, when: str, show: bool, live: Live | None = None
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


def _access_layer(res: RunData, shift: Shift) -> folium.FeatureGroup | None:
    """社区/村 by 2SFCA accessibility after the plan
    (:func:`siting.outputs.webmap.layers.map_layer`), in five quantile classes, the figures before
    and after in the tooltip; hidden at first."""
    if res.equity is None:
        return None
    rows = map_layer(res.communities, res.equity).set_index("code")
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
    group = _group(map_title(res.equity), show=False)
    filled_layer(geo, edge="#555555", weight=0.5, opacity=0.7, highlight=True).add_to(group)
    return group


def _units_layer(res: RunData, shift: Shift) -> folium.FeatureGroup:
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


def _compliance_layer(res: RunData, shift: Shift) -> folium.FeatureGroup:
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


def _areas_layers(res: RunData, shift: Shift, role: str) -> list[folium.FeatureGroup]:
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


def _without_specks(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` (metric CRS) without holes under :data:`SPECK_M2`, for drawing."""
    if isinstance(geom, MultiPolygon):
        return MultiPolygon([_without_specks(g) for g in geom.geoms])
    if isinstance(geom, Polygon):
        rings = [r for r in geom.interiors if Polygon(r).area >= SPECK_M2]
        return Polygon(geom.exterior, rings)
    return geom


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


def _community_points(res: RunData, shift: Shift) -> _Points:
    """The 居委会/村委会 points the cells were derived from."""
    names = res.inputs.communities["name"]
    located = shift(gpd.GeoDataFrame(geometry=res.inputs.community_points))
    points = [
        (g.x, g.y, {"tip": html_text(f"{names.get(code, code)}（{code}）居委会/村委会点位")})
        for code, g in located.geometry.items()
    ]
    style = {"radius": 2.5, "weight": 1, "color": "#333333", "fill": True, "fillOpacity": 1.0}
    return _Points(points, style=style)


SPECK_M2 = 20_000.0
"""Holes in a service area smaller than this (2 ha, a block between streets) are left out of
its outline on the map: drawn, they read as texture, not as places out of reach."""
