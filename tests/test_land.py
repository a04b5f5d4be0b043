"""Land per capita, checked by hand on a tiny district."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from siting import SitingWarning
from siting.rules import land_check


def test_land_check_by_hand() -> None:
    units = gpd.GeoDataFrame(
        {"name": ["东街道", "西乡"]},
        index=["S1", "S2"],
        geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)],
        crs="EPSG:4547",
    )
    communities = pd.DataFrame(
        {"street_code": ["S1", "S1", "S2"], "residents": [10_000, 5_000, 2_000]}
    )
    facilities = gpd.GeoDataFrame(
        {"land_area_m2": [1_000.0, 2_500.0, 600.0]},
        geometry=[Point(1, 1), Point(2, 2), Point(15, 5)],
        crs="EPSG:4547",
    )
    proposed = gpd.GeoDataFrame(
        {"land_area_m2": [1_000.0]}, geometry=[Point(5, 5)], crs="EPSG:4547"
    )
    table = land_check(units, communities, facilities, proposed, per_capita_m2=0.2)
    s1, s2, total = (table.iloc[i] for i in range(3))
    # S1: 15,000 residents x 0.2 = 3,000 m2 required; 3,500 provided -> passes
    assert (s1.required_m2, s1.provided_m2, s1.shortfall_m2, s1["pass"]) == (3000, 3500, 0, True)
    # S2: 2,000 x 0.2 = 400 required; 600 provided -> passes
    assert (s2.required_m2, s2.provided_m2, s2["pass"]) == (400, 600, True)
    assert (total.unit, total.required_m2, total.provided_m2) == ("total", 3400, 4100)
    strict = land_check(units, communities, facilities, proposed, per_capita_m2=0.3)
    # S1 at 0.3: 4,500 required, 3,500 provided -> 1,000 short, 0 after the 1,000 m2 proposed
    assert strict.iloc[0].shortfall_m2 == 1000
    assert strict.iloc[0].shortfall_after_m2 == 0
    assert not strict.iloc[0]["pass"]


def test_facility_outside_every_unit_is_reported_and_counted_in_total() -> None:
    units = gpd.GeoDataFrame(
        {"name": ["东街道"]}, index=["S1"], geometry=[box(0, 0, 10, 10)], crs="EPSG:4547"
    )
    communities = pd.DataFrame({"street_code": ["S1"], "residents": [1000]})
    facilities = gpd.GeoDataFrame(
        {"land_area_m2": [50.0, 70.0]},
        geometry=[Point(5, 5), Point(50, 50)],
        index=["F1", "F9"],
        crs="EPSG:4547",
    )
    empty = facilities.iloc[:0]
    with pytest.warns(SitingWarning, match=r"'F9'"):
        table = land_check(units, communities, facilities, empty, per_capita_m2=0.2)
    assert table.iloc[0].provided_m2 == 50
    assert table.iloc[-1].provided_m2 == 120
