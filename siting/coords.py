"""Coordinate systems: declared lon/lat systems in, one metric analysis CRS out.

Every lon/lat input declares its ``coord_system``:

* ``wgs84`` — GPS, OpenStreetMap (EPSG:4326);
* ``cgcs2000`` — China's national datum (EPSG:4490), within about a metre of WGS-84;
* ``gcj02`` — the obfuscated system of Amap/Gaode, Tencent and DataV boundaries;
* ``bd09`` — Baidu's system, GCJ-02 with a further offset.

GCJ-02 and BD-09 are converted to WGS-84 on the way in. The forward formulas are the published
ones (GCJ-02 on the Krasovsky ellipsoid; BD-09 a further shift of GCJ-02); neither has an exact
closed-form inverse, so both inverses are solved here by fixed-point iteration until the forward
formula gives back the input within 1e-10 degrees (about 0.01 mm): a BD-09 -> WGS-84 -> BD-09
round trip closes within 0.01 mm anywhere GCJ-02 applies (the published closed-form BD-09
inverse alone is off by up to 0.24 m). Points outside China are left as they are by the GCJ-02
step, as every GCJ-02 implementation does.

The analysis CRS is the CGCS2000 3-degree Gauss-Krüger zone (no zone prefix in the easting,
EPSG:4534-4554) whose central meridian is nearest the data.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from siting._errors import InputDataError

log = logging.getLogger(__name__)

_Pair = tuple[NDArray[np.float64], NDArray[np.float64]]

CoordSystem = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
COORD_SYSTEMS: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")
GEOGRAPHIC_EPSG = {"wgs84": 4326, "cgcs2000": 4490}

_A = 6378245.0  # Krasovsky 1940 semi-major axis, used by the GCJ-02 formula
_EE = 0.00669342162296594323  # its first eccentricity squared
_BD_K = np.pi * 3000.0 / 180.0


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Rough bounding box of mainland China in which GCJ-02 applies."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    return (lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271)


def _gcj_delta(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> _Pair:
    """Forward GCJ-02 shift (vectorised); points outside China are returned unchanged."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    dlon, dlat = _gcj_delta(lon, lat)
    inside = in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact inverse of :func:`wgs84_to_gcj02` by fixed-point iteration.

    ``tol_deg`` of 1e-10 degrees is about 0.01 mm; convergence takes a handful of steps.
    """
    glon, glat = np.asarray(lon, float), np.asarray(lat, float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon, wlat = wlon - elon, wlat - elat
        if _converged(elon, elat, tol_deg):
            break
    inside = in_china(glon, glat)
    return np.where(inside, wlon, glon), np.where(inside, wlat, glat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> _Pair:
    """GCJ-02 to Baidu BD-09 (the published closed form)."""
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_K)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_K)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> _Pair:
    """Exact inverse of :func:`gcj02_to_bd09`: the published closed-form approximation (off by
    up to 0.24 m, since it subtracts the offsets evaluated at the BD-09 point rather than
    the GCJ-02 one), refined by fixed-point iteration until the forward formula gives back the
    BD-09 input within ``tol_deg`` (1e-10 degrees, about 0.01 mm; two or three steps)."""
    blon, blat = np.asarray(lon, float), np.asarray(lat, float)
    x, y = blon - 0.0065, blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_K)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_K)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        flon, flat = gcj02_to_bd09(glon, glat)
        elon, elat = flon - blon, flat - blat
        glon, glat = glon - elon, glat - elat
        if _converged(elon, elat, tol_deg):
            break
    return glon, glat


def _converged(elon: NDArray[np.float64], elat: NDArray[np.float64], tol_deg: float) -> bool:
    """Every finite residual below ``tol_deg`` (NaN input stays NaN and does not hold it up)."""
    return not (np.any(np.abs(elon) >= tol_deg) or np.any(np.abs(elat) >= tol_deg))


def to_wgs84(
    lon: ArrayLike, lat: ArrayLike, coord_system: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert lon/lat declared in ``coord_system`` to WGS-84 lon/lat.

    CGCS2000 is taken as equal to WGS-84 (they differ by about a metre, far below what a
    walking-distance analysis resolves).
    """
    if coord_system not in COORD_SYSTEMS:
        raise InputDataError(f"`coord_system` must be one of {COORD_SYSTEMS}, got {coord_system!r}")
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if coord_system == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if coord_system == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
    return lon, lat


def check_lonlat(lon: ArrayLike, lat: ArrayLike, *, source: str, ids: ArrayLike) -> None:
    """Raise if lon/lat values are not plausible degrees inside China.

    Catches swapped columns (lat in the lon column) and projected metres labelled as degrees.
    """
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    ids = np.asarray(ids)
    bad = ~in_china(lon, lat)
    if not bad.any():
        return
    hint = "the coordinates are not degrees inside China"
    if np.all(in_china(lat[bad], lon[bad])):
        hint = "lon and lat look swapped (lat values in the lon column); swap the columns"
    elif np.nanmax(np.abs(np.r_[lon[bad], lat[bad]])) > 1000:
        hint = (
            "the values look like projected metres, not degrees; give lon/lat in degrees "
            "or a layer with its projected CRS"
        )
    raise InputDataError(
        f"{source}: {int(bad.sum())} point(s) outside China's extent, ids "
        f"{list(ids[bad][:10])!r}: {hint}"
    )


def analysis_crs(lon: float) -> str:
    """The CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534-4554) nearest ``lon`` degrees."""
    cm = int(3 * round(lon / 3.0))
    if not 75 <= cm <= 135:
        raise InputDataError(
            f"longitude {lon:.3f} is outside China's Gauss-Krüger zones "
            "(75°E-135°E); check the coordinates"
        )
    epsg = 4534 + (cm - 75) // 3
    log.info("analysis CRS: EPSG:%d (CGCS2000 / 3-degree Gauss-Krüger CM %dE)", epsg, cm)
    return f"EPSG:{epsg}"


def check_layer_in_china(
    frame: object,
    *,
    source: str,
    original_crs: object,
    original_bounds: tuple[float, float, float, float],
) -> None:
    """Raise if a layer, reprojected to WGS-84, does not lie in China; name the likely cause.

    Catches a Gauss-Krüger layer whose eastings carry the zone prefix (39500000) under a CRS
    without it (500000) or the reverse, and projected metres labelled as degrees.
    """
    import geopandas as gpd
    from pyproj import CRS

    gdf = frame if isinstance(frame, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=frame)
    if gdf.empty:
        return
    pts = gdf.geometry.representative_point()
    bad = ~in_china(pts.x.to_numpy(), pts.y.to_numpy())
    if not bad.any():
        return
    crs = CRS.from_user_input(original_crs)
    min_x = original_bounds[0]
    hint = "the coordinates do not fit the layer's CRS; check the .prj / CRS"
    if crs.is_projected:
        op = crs.coordinate_operation
        eastings = [
            float(p.value)
            for p in (op.params if op is not None else [])
            if "easting" in p.name.lower()
        ]
        easting = eastings[0] if eastings else 0.0
        if min_x > 1e7 > easting:
            hint = (
                "the eastings carry a Gauss-Krüger zone prefix (like 39500000) but the CRS "
                f"{crs.name!r} has none: use the CRS with the zone prefix (CGCS2000 3-degree "
                "zones: EPSG:4513-4533)"
            )
        elif min_x < 1e7 < easting:
            hint = (
                f"the CRS {crs.name!r} expects eastings with the zone prefix but the data has "
                "none: use the CRS without it (CGCS2000 3-degree zones: EPSG:4534-4554)"
            )
    elif max(abs(v) for v in original_bounds) > 1000:
        hint = (
            "the layer says degrees but holds values like metres: give it its projected "
            "CRS (e.g. a CGCS2000 Gauss-Krüger zone)"
        )
    raise InputDataError(
        f"{source}: {int(bad.sum())} of {len(pts)} features fall outside "
        f"China after reprojection: {hint}"
    )


def from_wgs84(lon: ArrayLike, lat: ArrayLike, coord_system: str) -> _Pair:
    """WGS-84 lon/lat to ``coord_system`` (the forward of :func:`to_wgs84`)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if coord_system == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if coord_system == "bd09":
        return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
    return lon, lat


def fit_by_coord_system(
    lon_wgs84: ArrayLike,
    lat_wgs84: ArrayLike,
    declared: str,
    node_lon: ArrayLike,
    node_lat: ArrayLike,
    *,
    crs: str,
) -> dict[str, float]:
    """Median metres from points to the nearest street node under each reading of the data.

    The points were read as ``declared``; each other system is tried on the same original
    numbers. A layer that fits far better under another system was declared wrongly.
    """
    from pyproj import Transformer
    from scipy.spatial import cKDTree

    to_m = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    tree = cKDTree(np.column_stack(to_m.transform(np.asarray(node_lon), np.asarray(node_lat))))
    raw_lon, raw_lat = from_wgs84(lon_wgs84, lat_wgs84, declared)
    out = {}
    for system in ("wgs84", "gcj02", "bd09"):
        lon, lat = to_wgs84(raw_lon, raw_lat, system)
        dist, _ = tree.query(np.column_stack(to_m.transform(lon, lat)))
        out[system] = float(np.median(dist))
    return out
