"""社区/村 given as points: each one's area derived as its cell.

Many bureaus hold their 社区/村 as the points of their 居委会/村委会 offices, not as
boundaries. :func:`derive_cells` turns such points into areas the rest of the pipeline reads as
it reads boundaries: each 社区/村's **cell** is the part of its 街道/乡镇 (``street_code``)
nearer to its point than to any other 社区/村 point of the same 街道/乡镇 (a Voronoi diagram
per 街道/乡镇, measured in metres in the analysis CRS, clipped to the 街道/乡镇 polygon).
The cells of a 街道/乡镇 cover it without gaps or overlaps, every cell holds its own point,
and a 街道/乡镇 with one 社区/村 gives it the whole 街道/乡镇.
:func:`siting.problem.demand.demand_points` then spreads each 社区/村's elderly over the street
nodes of its cell, so shares stay partial and comparable with a run on polygons, while the cells
are not the real boundaries: that is a recorded warning (``community_cells_derived``) and the map
draws them dashed.

A point outside every 街道/乡镇, a point in another 街道/乡镇 than its ``street_code``, and two
社区/村 at the same point are errors naming them.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._errors import InputDataError
from siting._messages import Problems, preview
from siting._record import warn
from siting.coords import analysis_crs

log = logging.getLogger(__name__)

SAME_POINT_M = 1.0  # two 社区/村 points closer than this are "at the same point"


def is_point_layer(frame: gpd.GeoDataFrame) -> bool:
    """Whether a 社区/村 layer (as read) holds points rather than boundaries."""
    return len(frame) > 0 and bool(frame.geometry.geom_type.eq("Point").all())


def derive_cells(
    points: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *, source: str
) -> gpd.GeoDataFrame:
    """The 社区/村 points with their cells as geometry (WGS-84), other columns unchanged.

    Parameters
    ----------
    points
        社区/村 points indexed by code, with ``street_code`` naming a code of ``streets``
        (checked before: :func:`siting.inputs.join.check_hierarchy`).
    streets
        街道/乡镇 polygons indexed by code.
    source
        The points' file, for messages.

    Raises
    ------
    InputDataError
        Points outside every 街道/乡镇 or in another one than their ``street_code`` (with
        the distance or the 街道/乡镇 they stand in), and points closer than
        :data:`SAME_POINT_M` to another 社区/村's (with the pairs); all listed at once.
    """
    crs = analysis_crs(float(streets.to_crs(4326).union_all().centroid.x))
    pts = points.geometry.to_crs(crs)
    polys = streets.geometry.to_crs(crs)
    problems = Problems(source)
    _check_streets(problems, points, pts, polys, streets)
    _check_distinct(problems, pts)
    problems.raise_if_any(InputDataError)
    cells = pd.Series(None, index=points.index, dtype=object)
    whole = []
    for code, members in points.groupby("street_code", sort=True).groups.items():
        area = polys.loc[code]
        if len(members) == 1:
            cells[members[0]] = area
            whole.append(members[0])
            continue
        mine = pts.loc[members].to_numpy()
        diagram = shapely.voronoi_polygons(shapely.multipoints(mine), extend_to=area, ordered=True)
        for member, cell in zip(members, shapely.get_parts(diagram), strict=True):
            cells[member] = _polygonal(shapely.intersection(cell, area))
    out = points.copy()
    out = out.set_geometry(
        gpd.GeoSeries(cells.to_numpy(), index=points.index, crs=crs).to_crs(points.crs)
    )
    _report(out, streets, whole, source=source, crs=crs)
    return out


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygon parts of an intersection (a shared edge or corner may add lines/points)."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if len(parts) != 1 else parts[0]


def _check_streets(
    problems: Problems,
    points: gpd.GeoDataFrame,
    pts: gpd.GeoSeries,
    polys: gpd.GeoSeries,
    streets: gpd.GeoDataFrame,
) -> None:
    """Every point inside (or on the edge of) the 街道/乡镇 its ``street_code`` names."""
    own = polys.reindex(points["street_code"]).to_numpy()
    # on its own border counts as inside: within 1 cm (reprojection moves a vertex by less)
    inside = shapely.covers(own, pts.to_numpy()) | (shapely.distance(own, pts.to_numpy()) < 0.01)
    if inside.all():
        return
    off = points.index[~inside]
    tree = shapely.STRtree(polys.to_numpy())
    nowhere, elsewhere = [], []
    for code in off:
        hits = tree.query(pts[code], predicate="covered_by")
        if len(hits) == 0:
            nowhere.append(f"{code} ({float(polys.distance(pts[code]).min()):,.0f} m)")
        else:
            found = polys.index[hits[0]]
            elsewhere.append(
                f"{code} (street_code {points.loc[code, 'street_code']}, stands in {found} "
                f"{streets.loc[found, 'name']})"
            )
    if nowhere:
        problems.add(
            f"{len(nowhere)} 社区/村 point(s) stand outside every 街道/乡镇 polygon (distance to "
            f"the nearest): {preview(nowhere)}; a cell cannot be derived for them: check their "
            "coordinates and coordinate system, or give the missing 街道/乡镇"
        )
    if elsewhere:
        problems.add(
            f"{len(elsewhere)} 社区/村 point(s) stand in another 街道/乡镇 than their "
            f"street_code names: {preview(elsewhere)}; correct the street_code or the point"
        )


def _check_distinct(problems: Problems, pts: gpd.GeoSeries) -> None:
    """No two 社区/村 at the same point (their cells could not be told apart)."""
    xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    tree = shapely.STRtree(pts.to_numpy())
    left, right = tree.query(pts.to_numpy(), predicate="dwithin", distance=SAME_POINT_M)
    pairs = sorted(
        {(pts.index[a], pts.index[b]) for a, b in zip(left, right, strict=True) if a < b}
    )
    if pairs:
        shown = [
            f"{a} and {b} at ({xy[pts.index.get_loc(a)][0]:,.0f}, "
            f"{xy[pts.index.get_loc(a)][1]:,.0f})"
            for a, b in pairs
        ]
        problems.add(
            f"{len(pairs)} pair(s) of 社区/村 share a point (within {SAME_POINT_M:g} m): "
            f"{preview(shown)}; their areas cannot be told apart: give each 社区/村 its own "
            "居委会/村委会 location (or the 社区/村 polygons)"
        )


def _report(
    cells: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    whole: list[str],
    *,
    source: str,
    crs: str,
) -> None:
    empty = sorted(set(streets.index) - set(cells["street_code"]))
    codes = list(cells.index)
    message = (
        f"{source}: the {len(codes)} 社区/村 are points (居委会/村委会 locations), not "
        f"boundaries: {len(codes)} cells were derived, each the part of its 街道/乡镇 nearer "
        "to its point than to any other 社区/村 point there (Voronoi, in metres in "
        f"{crs}, clipped to the 街道/乡镇), and each 社区/村's elderly are spread over the "
        "street nodes of its cell. Cells are not the real boundaries: shares per 社区/村 "
        "are approximate; give the 社区/村 polygons for figures by boundary"
    )
    zh = (
        f"{source}：{len(codes)} 个社区/村是点（居委会/村委会位置），不是边界：已生成 "
        f"{len(codes)} 个单元，每个单元是所在街道/乡镇内距该点比距其他社区/村点更近的部分"
        f"（泰森多边形，按 {crs} 的米计算，裁剪到街道/乡镇），每个社区/村的老人分布在其单元内的"
        "街道节点上。单元不是真实边界：各社区/村的覆盖比例为近似值；如需按边界统计，请提供"
        "社区/村边界面"
    )
    if whole:
        message += f". {len(whole)} 社区/村 alone in their 街道/乡镇 take all of it"
        zh += f"。{len(whole)} 个社区/村是所在街道/乡镇内唯一的点，单元即整个街道/乡镇"
    if empty:
        message += f". {len(empty)} 街道/乡镇 hold no 社区/村 point: {preview(empty)}"
        zh += f"。{len(empty)} 个街道/乡镇内没有社区/村点：{preview(empty)}"
    warn("community_cells_derived", message, codes, zh=zh, stacklevel=3)
    log.info("derived %d 社区/村 cells from points in %s", len(codes), crs)
