"""Spatial outputs: one GeoPackage per run, and a Shapefile export for older desktop GIS.

GeoPackage is the default: any field name, any text, one file. Shapefile truncates field names
to 10 bytes (Chinese names become unreadable), so the export renames every field to a short
ASCII name and writes ``codebook.csv`` with the full names, and a ``.cpg`` saying UTF-8.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting.io.write import DOCUMENT_TIME, atomic_path, write_csv

# GeoPackage wants milliseconds in its timestamps (gpkg_contents.last_change)
_GPKG_TIME = DOCUMENT_TIME.replace("Z", ".000Z")


def write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    """All ``layers`` into one GeoPackage, atomically (the file appears complete or not at all).

    GDAL stamps each layer's ``last_change`` with the clock unless ``OGR_CURRENT_DATE`` is set:
    it is set to the fixed document time while writing (and put back), so the same layers give
    the same bytes."""
    import pyogrio

    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _GPKG_TIME})
    try:
        with atomic_path(path) as tmp:
            tmp.unlink()  # GDAL creates the file itself
            for name, frame in layers.items():
                frame.to_file(tmp, layer=name, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
    return path


def _ascii_names(columns: list[str]) -> dict[str, str]:
    """Short unique ASCII field names (<= 10 bytes) for ``columns``."""
    out: dict[str, str] = {}
    for i, col in enumerate(columns):
        base = re.sub(r"[^A-Za-z0-9_]", "", col)[:7] or "f"
        name = base
        k = 1
        while name.lower() in {v.lower() for v in out.values()}:
            name = f"{base[:7]}{k:02d}"[:10]
            k += 1
        out[col] = name or f"f{i:02d}"
    return out


def _fit_254(text: str) -> str:
    """Cut to the 254 bytes a DBF text field holds, at a character boundary, ending in …."""
    data = text.encode()[: 254 - len("…".encode())]
    return data.decode("utf-8", errors="ignore") + "…"


def write_shapefiles(folder: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    """Each layer as ``folder/<layer>.shp`` with ASCII field names; ``codebook.csv`` maps them."""
    rows = []
    for name, frame in layers.items():
        cols = [c for c in frame.columns if c != frame.geometry.name]
        names = _ascii_names(cols)
        out = frame.rename(columns=names)
        cut: dict[str, int] = {}
        for col in cols:  # Shapefile has no boolean or list type: write text
            field = names[col]
            if out[field].dtype == bool or out[field].map(type).eq(list).any():
                out[field] = out[field].astype(str)
            long = out[field].map(lambda v: isinstance(v, str) and len(v.encode()) > 254)
            if long.any():  # (pandas 3 text columns are not dtype object: test the values)
                cut[col] = int(long.sum())
                out.loc[long, field] = out.loc[long, field].map(_fit_254)
        with atomic_path(folder / f"{name}.shp") as tmp:
            tmp.unlink()
            out.to_file(tmp, driver="ESRI Shapefile", encoding="utf-8")
            for ext in (".shx", ".dbf", ".prj", ".cpg"):
                side = tmp.with_suffix(ext)
                if side.exists():
                    side.replace((folder / name).with_suffix(ext))
        rows += [
            {
                "layer": name,
                "field": names[c],
                "column": c,
                "note": (
                    f"{cut[c]} value(s) cut to 254 bytes (…); full text in "
                    "results.gpkg and the CSV tables"
                )
                if c in cut
                else "",
            }
            for c in cols
        ]
    write_csv(folder / "codebook.csv", pd.DataFrame(rows))
    return folder
