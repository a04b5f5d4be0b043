"""Base-map tile providers and the coordinate systems they are drawn in.

OpenStreetMap and 天地图 (CGCS2000, within a metre of WGS-84) take the data as they are.
高德 (Gaode/Amap) draws in GCJ-02, so every overlay is shifted to GCJ-02 for display only -- the
analysis never sees the shift -- and the map says so. Baidu is refused: its tiles are in BD-09
on Baidu's own Mercator variant, which no overlay in standard Web Mercator can be aligned with.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from siting._errors import ScenarioError
from siting.coords import wgs84_to_gcj02

TIANDITU_KEY_ENV = "TIANDITU_KEY"


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    url: str
    attribution: str
    coord_system: str  # wgs84 or gcj02: what the overlays must be shifted to
    subdomains: str = "abc"
    note: str = ""


def provider(name: str) -> Provider:
    """The tile provider called ``name`` (``osm``, ``tianditu``, ``gaode``)."""
    if name == "osm":
        return Provider(
            "osm",
            "OpenStreetMap 底图",
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "&copy; OpenStreetMap contributors",
            "wgs84",
        )
    if name == "tianditu":
        key = os.environ.get(TIANDITU_KEY_ENV, "").strip()
        if not key:
            raise ScenarioError(
                f"天地图 tiles need a key: set the environment variable "
                f"{TIANDITU_KEY_ENV} (a free key from the 天地图 developer site), "
                "or use `output.tiles: osm`"
            )
        return Provider(
            "tianditu",
            "天地图 矢量底图",
            "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
            "&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
            f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}",
            "&copy; 天地图",
            "wgs84",
            subdomains="01234567",
        )
    if name == "gaode":
        return Provider(
            "gaode",
            "高德 底图（GCJ-02）",
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
            "&style=8&x={x}&y={y}&z={z}",
            "&copy; 高德地图",
            "gcj02",
            subdomains="1234",
            note="高德底图为 GCJ-02 坐标：叠加图层已转换为 GCJ-02 仅用于显示，分析使用 WGS-84。",
        )
    if name == "baidu":
        raise ScenarioError(
            "Baidu tiles are refused: they are drawn in BD-09 on Baidu's own "
            "Mercator variant, so no overlay can be placed on them correctly; "
            "use `output.tiles: osm`, `tianditu` or `gaode`"
        )
    raise ScenarioError(f"unknown tile provider {name!r}; use osm, tianditu or gaode")


def shifter(coord_system: str) -> Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame]:
    """A function taking a WGS-84 frame to the tiles' display coordinates."""
    if coord_system != "gcj02":
        return lambda frame: frame

    def shift(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        def move(xy: np.ndarray) -> np.ndarray:
            lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
            return np.column_stack([lon, lat])

        out = frame.to_crs(4326).copy()
        out["geometry"] = shapely.transform(out.geometry.to_numpy(), move)
        return out

    return shift
