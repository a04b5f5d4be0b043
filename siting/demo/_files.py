"""The files every demo generator writes the same way: GeoJSON layers, an OSM XML street file, a
table of points with their lon/lat and a CSV in UTF-8 with a BOM (what Excel opens). The district,
bureau and province demos take them from here rather than from each other."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import shapely

from siting.demo._city import (
    _Net,
)
from siting.io.write import atomic_path

_LonLat = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _geojson(frame: pd.DataFrame, props: list[str], tf: _LonLat) -> str:
    def ring(coords: np.ndarray) -> list[list[float]]:
        lon, lat = tf(coords[:, 0], coords[:, 1])
        return [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]

    features = []
    for _, row in frame.iterrows():
        polys = [g for g in shapely.get_parts(row["geometry"]) if g.geom_type == "Polygon"]
        coords = [
            [ring(np.asarray(p.exterior.coords))]
            + [ring(np.asarray(h.coords)) for h in p.interiors]
            for p in polys
        ]
        geometry = (
            {"type": "Polygon", "coordinates": coords[0]}
            if len(coords) == 1
            else {"type": "MultiPolygon", "coordinates": coords}
        )
        features.append(
            {"type": "Feature", "properties": {k: row[k] for k in props}, "geometry": geometry}
        )
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def _osm_xml(net: _Net, tf: _LonLat) -> str:
    xy = np.array(net.xy)
    lon, lat = tf(xy[:, 0], xy[:, 1])
    lines = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        "<osm version='0.6' generator='siting.demo'>",
        f"  <bounds minlat='{lat.min():.7f}' minlon='{lon.min():.7f}' "
        f"maxlat='{lat.max():.7f}' maxlon='{lon.max():.7f}'/>",
    ]
    lines += [
        f"  <node id='{i + 1}' version='1' lat='{a:.7f}' lon='{b:.7f}'/>"
        for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]
    for w, (nodes, tags) in enumerate(net.ways):
        lines.append(f"  <way id='{w + 1}' version='1'>")
        lines += [f"    <nd ref='{n + 1}'/>" for n in nodes]
        lines += [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in sorted(tags.items())]
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def _points_table(frame: pd.DataFrame, tf: _LonLat) -> pd.DataFrame:
    lon, lat = tf(frame["x"].to_numpy(), frame["y"].to_numpy())
    out = frame.drop(columns=["x", "y"]).copy()
    out.insert(2 if "type" not in out else 3, "lon", np.round(lon, 7))
    out.insert(3 if "type" not in out else 4, "lat", np.round(lat, 7))
    return out


def _write_csv(path: Path, table: pd.DataFrame) -> None:
    """A demo table as the committed files have it: UTF-8 with BOM, LF line ends. (Outputs go
    through ``siting.io.write.write_csv``, CRLF since it learnt to keep names with line
    breaks; the demo's own names hold none, nor text a spreadsheet would run.)"""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
