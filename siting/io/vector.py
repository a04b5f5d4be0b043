"""Reading a vector layer (GeoPackage, GeoJSON, Shapefile in any encoding) with a log line when
it is reprojected."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd

from siting.io.encoding import shapefile_encoding

log = logging.getLogger(__name__)


def log_reprojection(path: Path, crs: object) -> None:
    from pyproj import CRS

    source = CRS.from_user_input(crs)
    if source.to_epsg() != 4326:
        log.info(
            "%s: %s (%s) reprojected to WGS-84 for the pipeline",
            path.name,
            source.name,
            source.to_string(),
        )


def read_vector(
    path: str | Path, *, layer: str | None = None, encoding: str | None = None
) -> gpd.GeoDataFrame:
    """Read a vector layer; a Shapefile's text encoding is detected (:mod:`.encoding`)."""
    path = Path(path)
    options: dict[str, str] = {}
    if path.suffix.lower() == ".shp":
        options["encoding"] = shapefile_encoding(path, encoding)
    elif encoding:
        options["encoding"] = encoding
    if layer:
        options["layer"] = layer
    return gpd.read_file(path, **options)
