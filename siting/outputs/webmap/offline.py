"""Make a folium map open with no network: Leaflet inlined, nothing fetched at view time.

folium's page links Leaflet, jQuery, Bootstrap, Font Awesome and the awesome-markers plugin
from CDNs, which government meeting rooms and intranets often cannot reach. The siting map uses
only Leaflet itself (GeoJSON, circle markers, DivIcons, the layer control) and jQuery (folium
builds popup HTML with ``$()``), so the page gets Leaflet 1.9.3 and jQuery 3.7.1 -- folium's own
versions -- inlined from the installed ``xstatic-leaflet`` and ``xstatic-jquery`` packages
(Leaflet's images as data URIs), and every other CDN link is dropped. Base-map tiles are the
one thing that still needs the network; when they fail the map says so.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import folium
import xstatic.pkg.jquery as xjquery
import xstatic.pkg.leaflet as xleaflet
from branca.element import Element, MacroElement
from jinja2 import Template

_DATA = Path(xleaflet.BASE_DIR)


def _leaflet_css() -> str:
    css = (_DATA / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        png = (_DATA / "images" / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"

    return re.sub(r"url\(images/([\w\-]+\.png)\)", data_uri, css)


def _script(path: Path) -> str:
    """A minified script without its source-map comment (nothing to fetch, even in devtools)."""
    js = path.read_text(encoding="utf-8")
    return re.sub(r"//# sourceMappingURL=\S+", "", js)


class PageHtml(Element):
    """HTML built here, its data already escaped, added to the page as text: the page renders
    it through this fixed template (``{{ this.text }}``), never as a template of its own, as
    ``folium.Element(text)`` would."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class _TileErrorNotice(MacroElement):
    """A banner that appears once when base-map tiles cannot be loaded."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this.tiles }}.on('tileerror', function () {
            if (document.getElementById('siting-tile-notice')) { return; }
            var note = document.createElement('div');
            note.id = 'siting-tile-notice';
            note.textContent = {{ this.text|tojson }};
            note.style.cssText = 'position:absolute;top:10px;left:50%;transform:translateX(-50%);'
                + 'z-index:1000;background:#fff8e1;border:1px solid #f0b400;padding:4px 10px;'
                + 'font:12px sans-serif;border-radius:4px';
            {{ this.map }}.getContainer().appendChild(note);
        });
        {% endmacro %}
    """)

    def __init__(self, fmap: folium.Map, tiles: folium.TileLayer, text: str) -> None:
        super().__init__()
        self.map = fmap.get_name()
        self.tiles = tiles.get_name()
        self.text = text


def make_offline(fmap: folium.Map) -> folium.Map:
    """Inline Leaflet into ``fmap``'s page and drop every CDN asset link."""
    fmap.default_js = []
    fmap.default_css = []
    header = fmap.get_root().header  # type: ignore[attr-defined]
    header.add_child(PageHtml(f"<style>{_leaflet_css()}</style>"), name="leaflet_css_inline")
    for name, path in (
        ("leaflet_js_inline", _DATA / "leaflet.js"),
        ("jquery_js_inline", Path(xjquery.BASE_DIR) / "jquery.min.js"),
    ):
        header.add_child(PageHtml(f"<script>{_script(path)}</script>"), name=name)
    for child in list(fmap._children.values()):
        if isinstance(child, folium.TileLayer):
            _TileErrorNotice(
                fmap,
                child,
                "底图瓦片无法加载（需联网）；图层数据不受影响。",
            ).add_to(fmap)
    return fmap
