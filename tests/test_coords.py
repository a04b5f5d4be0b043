"""Coordinate systems: exact GCJ-02/BD-09 inverses, plausibility, analysis CRS."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from siting import InputDataError
from siting.coords import (
    analysis_crs,
    bd09_to_gcj02,
    check_lonlat,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    to_wgs84,
    wgs84_to_gcj02,
)

_GEOD = Geod(ellps="WGS84")


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(_GEOD.inv(lon1, lat1, lon2, lat2)[2])


def test_gcj02_offset_in_henan_is_hundreds_of_metres_and_inverse_is_exact() -> None:
    rng = np.random.default_rng(0)
    lon = rng.uniform(110.4, 116.6, 500)  # Henan
    lat = rng.uniform(31.4, 36.4, 500)
    glon, glat = wgs84_to_gcj02(lon, lat)
    shift = _metres(lon, lat, glon, glat)
    assert shift.min() > 100
    assert shift.max() < 900
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    assert _metres(lon, lat, wlon, wlat).max() < 0.01


def _grid(lon0: float, lon1: float, lat0: float, lat1: float, n: int) -> tuple:
    lon, lat = np.meshgrid(np.linspace(lon0, lon1, n), np.linspace(lat0, lat1, n))
    return lon.ravel(), lat.ravel()


@pytest.mark.parametrize(
    "extent",
    [
        (110.3, 116.7, 31.3, 36.4, 121),  # Henan
        (72.01, 137.83, 0.84, 55.82, 201),  # the whole box in which GCJ-02 applies
    ],
    ids=["henan", "china"],
)
def test_bd09_round_trip_is_exact(extent: tuple) -> None:
    """BD-09 -> WGS-84 -> BD-09 within 0.01 m (the closed-form inverse alone is off by up to
    0.24 m), and the BD-09 step on its own inverts the published forward formula."""
    lon, lat = _grid(*extent)
    wlon, wlat = to_wgs84(lon, lat, "bd09")
    assert _metres(lon, lat, *from_wgs84(wlon, wlat, "bd09")).max() < 0.01
    glon, glat = bd09_to_gcj02(lon, lat)
    assert _metres(lon, lat, *gcj02_to_bd09(glon, glat)).max() < 0.01
    # and the other way, WGS-84 -> BD-09 -> WGS-84, where the shifted point is still inside
    # the box (within a few hundred metres of its edge, far from any land, "inside China" is
    # decided on the WGS-84 point one way and on the GCJ-02 point the other)
    blon, blat = from_wgs84(lon, lat, "bd09")
    inside = in_china(*wgs84_to_gcj02(lon, lat))
    assert inside.mean() > 0.99
    back = to_wgs84(blon[inside], blat[inside], "bd09")
    assert _metres(lon[inside], lat[inside], *back).max() < 0.01


def test_bd09_against_the_published_forward_formula() -> None:
    lon, lat = np.array([114.35, 113.9]), np.array([34.79, 35.3])
    glon, glat = wgs84_to_gcj02(lon, lat)
    # forward BD-09 from GCJ-02 (published formula), written out here for the test only
    x, y = glon, glat
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * np.pi * 3000 / 180)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * np.pi * 3000 / 180)
    blon, blat = z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006
    assert _metres(glon, glat, *bd09_to_gcj02(blon, blat)).max() < 0.01
    wlon, wlat = to_wgs84(blon, blat, "bd09")
    assert _metres(lon, lat, wlon, wlat).max() < 0.01
    assert _metres(lon, lat, blon, blat).min() > 300  # BD-09 is far off WGS-84 in Henan
    nan = bd09_to_gcj02([np.nan, 114.35], [34.79, 34.79])  # a NaN stays NaN, alone
    assert np.isnan(nan[0][0])
    assert np.isfinite(nan[0][1])


def test_outside_china_is_left_alone() -> None:
    lon, lat = wgs84_to_gcj02([2.35], [48.85])
    assert lon[0] == 2.35
    assert lat[0] == 48.85


def test_swapped_and_metre_coordinates_are_caught() -> None:
    with pytest.raises(InputDataError, match="swapped"):
        check_lonlat([35.7], [115.0], source="f.csv", ids=["A1"])
    with pytest.raises(InputDataError, match="projected metres"):
        check_lonlat([38500123.0], [3950000.0], source="f.csv", ids=["A1"])


def test_analysis_crs_is_the_nearest_gauss_kruger_zone() -> None:
    assert analysis_crs(115.0) == "EPSG:4547"  # CM 114E
    assert analysis_crs(117.1) == "EPSG:4548"  # Jinan, CM 117E
    with pytest.raises(InputDataError):
        analysis_crs(2.35)


def test_gauss_kruger_zone_prefix_and_degree_mixups_are_named(tmp_path) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    from siting.inputs.layers import read_boundaries

    def layer(name: str, geom: object, crs: str):
        path = tmp_path / name
        gpd.GeoDataFrame(
            {"code": ["S1"], "name": ["某街道"], "kind": ["街道"]}, geometry=[geom], crs=crs
        ).to_file(path, driver="GPKG")
        return path

    # CGCS2000 CM 114E without prefix (EPSG:4547) but eastings written with zone prefix 38
    prefixed = layer("a.gpkg", box(38_500_000, 3_950_000, 38_501_000, 3_951_000), "EPSG:4547")
    with pytest.raises(InputDataError, match=r"zone prefix.*EPSG:4513-4533"):
        read_boundaries(prefixed, level="streets")
    # the same metres labelled as degrees
    degrees = layer("b.gpkg", box(500_000, 3_950_000, 501_000, 3_951_000), "EPSG:4490")
    with pytest.raises(InputDataError, match="holds values like metres"):
        read_boundaries(degrees, level="streets")
    right = layer("c.gpkg", box(500_000, 3_950_000, 501_000, 3_951_000), "EPSG:4547")
    assert len(read_boundaries(right, level="streets")) == 1
