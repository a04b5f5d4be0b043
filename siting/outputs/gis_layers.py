"""results.gpkg's layers: 社区/村 and 街道/乡镇 with their coverage, demand points, existing and
proposed sites, service areas, each in the analysis CRS with the columns of its CSV."""

from __future__ import annotations

import geopandas as gpd

from siting.outputs.tables import tables
from siting.results import RunData


def spatial_layers(res: RunData) -> dict[str, gpd.GeoDataFrame]:
    """The run's map data as layers in WGS-84, attributes from the same tables as the CSVs."""
    tabs = tables(res)
    comm = (
        res.inputs.communities[["geometry"]]
        .join(tabs["coverage_by_community"].set_index("code"), how="inner")
        .reset_index(names="code")
    )
    units = (
        res.inputs.streets[["geometry"]]
        .join(tabs["coverage_by_unit"].set_index("code"), how="inner")
        .reset_index(names="code")
    )
    proposed = tabs["proposed_sites"]
    sites = gpd.GeoDataFrame(
        proposed, geometry=gpd.points_from_xy(proposed["lon"], proposed["lat"]), crs=4326
    )
    facilities = res.inputs.facilities.reset_index(drop=True)
    uncovered = res.demand[~res.demand["covered_after"]].to_crs(4326)[
        ["community", "node", "weight", "radius_m", "geometry"]
    ]
    areas = res.service_areas.to_crs(4326).reset_index(drop=True)
    return {
        "communities": gpd.GeoDataFrame(comm, crs=4326),
        "units": gpd.GeoDataFrame(units, crs=4326),
        "facilities": facilities,
        "proposed_sites": sites,
        "service_areas": areas,
        "uncovered_demand": uncovered,
    }
