"""The walking network from the bureau's own road layer (Shapefile, GeoPackage, a CAD export):
lines classed by the walk rule through the road-class table, split where they cross, joined
within a snapping distance, and finished like any other source."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._errors import InputDataError, InputFileNotFoundError, NetworkError
from siting._messages import preview
from siting._record import preview_zh, warn
from siting.coords import GEOGRAPHIC_EPSG, to_wgs84
from siting.io.vector import read_vector
from siting.network._common import metric_crs
from siting.network.arrays import WalkNetwork
from siting.network.walk_rule import (
    _as_text,
    classify_roads,
    why_not_walked,
)

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)


def walk_graph_from_road_layer(path: str | Path, **options: Any) -> nx.MultiDiGraph:
    """:func:`walk_network_from_road_layer` as an osmnx-style ``MultiDiGraph`` (same options)."""
    return walk_network_from_road_layer(path, **options).to_graph()


def walk_network_from_road_layer(
    path: str | Path,
    *,
    crs: str,
    layer_crs: str | None = None,
    coord_system: str | None = None,
    highway_column: str | None = "highway",
    walkable: Mapping[str, str] | None = None,
    layer: str | None = None,
    snap_m: float = 0.5,
    encoding: str | None = None,
) -> WalkNetwork:
    """Build a projected walking network from a road line layer (the bureau's own roads).

    Line ends closer than ``snap_m`` become one node; each line is one edge, walked both ways,
    its length measured in the metric ``crs``. Each line's class (``highway_column``) becomes
    an OSM ``highway`` value (:func:`classify_roads`), kept as the edge's ``highway`` (the
    class as written in ``road_class``); lines whose value is not walked (motorway...) are
    dropped.

    Parameters
    ----------
    path
        Shapefile, GeoPackage or GeoJSON of LineStrings (MultiLineStrings are split).
    crs
        The metric analysis CRS.
    layer_crs
        The layer's CRS when the file has none (a Shapefile without ``.prj``), e.g.
        ``"EPSG:4326"``; never assumed.
    coord_system
        Or the lon/lat system of a layer without a CRS: ``wgs84``, ``cgcs2000``, ``gcj02``,
        ``bd09`` (the last two are converted to WGS-84 vertex by vertex).
    highway_column
        The column of road classes (Chinese classes such as 主干路 or OSM values). ``None``:
        the layer has none, every line is walked as a street of unknown class (``road``),
        reported as a warning; a named column that is absent is an error.
    walkable
        Classes the built-in table lacks, or replacements: ``{class: OSM highway value}``.
    """
    crs = metric_crs(crs)
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"road layer {str(path)!r} does not exist")
    lines = read_vector(path, layer=layer, encoding=encoding)
    if lines.crs is None:
        if layer_crs is None and coord_system is None:
            raise InputDataError(
                f"{path}: the road layer has no coordinate reference system "
                "(no .prj?); declare its `coord_system` (wgs84, cgcs2000, "
                "gcj02, bd09) in the scenario's inputs.network"
            )
        lines = lines.set_crs(layer_crs or f"EPSG:{GEOGRAPHIC_EPSG.get(coord_system or '', 4326)}")
    if coord_system in ("gcj02", "bd09"):
        lines = _to_wgs84_lines(lines, coord_system)
    lines = lines.explode(index_parts=False)
    kinds = lines.geometry.geom_type
    other = lines[kinds != "LineString"]
    if len(other):
        warn(
            "road_layer_not_lines",
            f"{path}: {len(other):,} feature(s) are not lines and are not streets: "
            + ", ".join(f"{n:,} {k}" for k, n in other.geometry.geom_type.value_counts().items())
            + f" (rows {preview([str(i) for i in other.index])}); draw roads as lines",
            other.index,
            zh=f"{path}：{len(other):,} 个要素不是线，不作为街道："
            + "，".join(f"{n:,} 个 {k}" for k, n in other.geometry.geom_type.value_counts().items())
            + f"（行 {preview_zh([str(i) for i in other.index])}）；道路请绘制为线",
        )
    lines = lines[kinds == "LineString"].to_crs(crs)
    lines = _walkable_lines(lines, path, highway_column, walkable)
    lines = _split_at_junctions(lines, snap_m, path)
    coords = shapely.get_coordinates(lines.geometry.to_numpy(), return_index=True)
    xy, owner = coords[0], coords[1]
    first = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    last = np.r_[first[1:] - 1, len(owner) - 1]
    ends = np.vstack([xy[first], xy[last]])
    keys = np.round(ends / snap_m).astype(np.int64)
    _, node_of, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    n_lines = len(lines)
    net = WalkNetwork(
        crs=crs,
        node_ids=np.arange(len(node_of), dtype=np.int64),
        x=ends[node_of, 0],
        y=ends[node_of, 1],
        u=inverse[:n_lines].astype(np.int64),
        v=inverse[n_lines:].astype(np.int64),
        length=lines.geometry.length.to_numpy(),
        highway=lines["highway"].to_numpy(dtype=object),
        road_class=lines["road_class"].to_numpy(dtype=object),
        drawn=lines.geometry.to_numpy(),
        source=path.name,
    )
    net.log_pieces()
    return net


def _split_at_junctions(lines: gpd.GeoDataFrame, snap_m: float, path: Path) -> gpd.GeoDataFrame:
    """Lines split at every inner vertex another line also has (within ``snap_m``): the
    junctions of a layer whose roads run on through crossings, as most CAD and survey road
    layers do. A crossing without a shared vertex (a bridge over a road) stays a crossing."""
    coords, owner = shapely.get_coordinates(lines.geometry.to_numpy(), return_index=True)
    keys = np.round(coords / snap_m).astype(np.int64)
    _, key_id = np.unique(keys, axis=0, return_inverse=True)
    key_id = key_id.ravel()
    first = np.r_[True, owner[1:] != owner[:-1]]
    last = np.r_[owner[1:] != owner[:-1], True]
    # a junction is a vertex with three or more distinct neighbours over all lines: a road
    # drawn twice (both directions) or two lines sharing a stretch add none
    step = ~last
    ends = np.sort(np.column_stack([key_id[:-1][step[:-1]], key_id[1:][step[:-1]]]), axis=1)
    ends = np.unique(ends[ends[:, 0] != ends[:, 1]], axis=0)
    degree = np.bincount(ends.ravel(), minlength=int(key_id.max()) + 1)
    cut = (degree[key_id] >= 3) & ~first & ~last
    if not cut.any():
        return lines
    # a cut vertex ends one piece and starts the next: it is written twice
    piece = np.cumsum(first | np.r_[False, cut[:-1]]) - 1
    again = np.flatnonzero(cut)
    order = np.r_[np.arange(len(coords)), again]
    piece_of = np.r_[piece, piece[again] + 1]
    sort = np.lexsort((order, piece_of))
    pieces = shapely.linestrings(coords[order[sort]], indices=piece_of[sort])
    source = np.r_[owner, owner[again]][sort]
    line_of_piece = source[np.r_[0, np.flatnonzero(np.diff(piece_of[sort])) + 1]]
    split = lines.iloc[line_of_piece].copy()
    split["geometry"] = pieces
    split = gpd.GeoDataFrame(split, geometry="geometry", crs=lines.crs)
    n_lines = len(np.unique(owner[cut]))
    warn(
        "road_layer_split_at_junctions",
        f"{path}: {n_lines:,} line(s) run on through junctions (another line meets them at an "
        f"inner vertex) and were split there, {len(lines):,} lines -> {len(split):,} pieces; "
        "without this the side streets would not connect",
        zh=f"{path}：{n_lines:,} 条线穿过路口而未断开（另一条线在其中间顶点与之相交），已在该处"
        f"打断，{len(lines):,} 条线 -> {len(split):,} 段；否则支路无法连通",
    )
    return split


def _walkable_lines(
    lines: gpd.GeoDataFrame,
    path: Path,
    column: str | None,
    walkable: Mapping[str, str] | None,
) -> gpd.GeoDataFrame:
    """The lines pedestrians may walk, with ``highway`` (OSM value) and ``road_class``."""
    if column is None:
        warn(
            "road_layer_without_classes",
            f"{path}: read with `highway_column: none`: all {len(lines):,} lines are walked as "
            "streets of unknown class (motorways too, if the layer has any), and each "
            "社区/村's elderly are spread over every street node inside it, main roads included",
            zh=f"{path}：按 `highway_column: none` 读取：全部 {len(lines):,} 条线都作为等级未知的"
            "街道步行（图层中如有高速公路也包括在内），每个社区/村的老人分布在其内所有街道节点上，"
            "包括主干道",
        )
        out = lines.assign(highway="road", road_class="")
    elif column not in lines.columns:
        present = [c for c in lines.columns if c != lines.geometry.name]
        raise InputDataError(
            f"{path}: the road layer has no class column {column!r} (its columns: {present}). "
            "Name the column holding the road class (道路等级, highway...) in the scenario: "
            "`inputs.network.highway_column: <column>`; or set `highway_column: none` to walk "
            "every line as a street of unknown class (reported as a warning)"
        )
    else:
        where = f"{path}, column {column!r}"
        osm = classify_roads(lines[column], walkable=walkable, where=where)
        out = lines.assign(highway=osm, road_class=lines[column].map(_as_text))
        walked = osm.map(lambda h: why_not_walked({"highway": h}) is None).astype(bool)
        counts = (
            pd.DataFrame({"c": out["road_class"], "h": osm, "w": walked})
            .value_counts()
            .sort_index()
        )
        log.info(
            "%s: road classes: %s; %d line(s) not walked",
            path.name,
            "; ".join(
                f"{c or '(empty)'} -> {h} {n:,}{'' if w else ' (not walked)'}"
                for (c, h, w), n in zip(counts.index, counts.to_numpy(), strict=True)
            ),
            int((~walked).sum()),
        )
        out = out[walked.to_numpy()]
    if out.empty:
        raise NetworkError(f"{path}: no walkable lines in the layer")
    return out


def _to_wgs84_lines(lines: gpd.GeoDataFrame, coord_system: str) -> gpd.GeoDataFrame:
    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1], coord_system)
        return np.column_stack([lon, lat])

    out = lines.to_crs(4326).copy()
    out["geometry"] = shapely.transform(out.geometry.to_numpy(), move)
    log.info("road layer: converted %d lines from %s to WGS-84", len(out), coord_system)
    return out
