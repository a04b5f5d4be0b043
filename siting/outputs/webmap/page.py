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

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import folium
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from siting._text import html_text, script_json
from siting._tiles import provider, shifter
from siting.io.write import write_page
from siting.outputs.style import (
    NO_ELDERLY_COLOUR,
    SHARE_BINS,
)
from siting.outputs.webmap import liveplan
from siting.outputs.webmap.layers import (
    _access_layer,
    _areas_layers,
    _communities_layer,
    _compliance_layer,
    _Points,
    _units_layer,
)
from siting.outputs.webmap.legend import LEGEND_WIDTH, _legend
from siting.outputs.webmap.liveplan import Live, LivePlan, Shift
from siting.outputs.webmap.offline import PageHtml, make_offline
from siting.outputs.webmap.points import (
    _candidates_layer,
    _facilities_layers,
    _proposed_layer,
    _uncovered_layer,
)
from siting.results import RunData


def build_map(res: RunData, proposed: pd.DataFrame, *, live_plan: bool = True) -> folium.Map:
    """The folium map of a run; ``proposed`` is :func:`siting.outputs.tables.proposed_table`.
    ``live_plan``: the what-if panel (:mod:`siting.outputs.webmap.liveplan`) with its data."""
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


def _live_data(res: RunData) -> dict[str, Any]:
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


def _view_bounds(res: RunData, shift: Shift) -> np.ndarray:
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


def write_map(res: RunData, proposed: pd.DataFrame, path: Path) -> Path:
    """Save the map as a self-contained HTML page, atomically."""
    fmap = build_map(res, proposed)
    return write_page(path, fmap)
