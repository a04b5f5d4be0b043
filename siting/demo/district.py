"""The built-in demo city: a fictional Henan district generated from a fixed seed.

``演示区`` (admin code ``419901``; the ``99`` city code is not a real one) is sized like
濮阳市华龙区 as published in the 濮阳 policy (seed 003: 85,782 residents aged 60+): nine urban
街道 with 135 社区, and three rural 乡镇 with 30 村 joined by village roads. Everything is made
by :func:`generate` from :data:`SEED`, so the files committed under ``data/`` can be rebuilt
byte for byte with ``python -m siting.demo``; that also writes ``data/examples/bureau/``, the
same district in the shapes a 民政局 keeps its files (:mod:`siting.demo.bureau`).

The city is laid out in metres in CGCS2000 / 3-degree Gauss-Krüger CM 114E (EPSG:4547) around
115.0°E 35.75°N and written in WGS-84 lon/lat:

* an urban street grid (110 m blocks, jittered) with arterials, footpaths, missing links, two
  parks and a river crossed by four bridges, so some 社区 are a long walk from anything;
* 社区 are Voronoi cells of seeds that crowd into the old town; a 街道 is the union of the
  社区 nearest its seat, so boundaries nest exactly; 村 and 乡镇 likewise;
* villages are small street clusters joined by village roads (a spanning tree plus a few
  loops) and linked to the city by county roads;
* existing facilities crowd into the old town (the gaps are real), candidates are spread out.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from siting.demo import bureau as demo_bureau
from siting.demo._city import (
    DISTRICT_CODE,
    DISTRICT_NAME,
    ELDERLY_URBAN_TOTAL,
    _compounds,
    _facilities,
    _keep_connected,
    _Net,
    _population,
    _rule_attributes,
    _rural_network,
    _units,
    _urban_grid,
    _village_centres,
)
from siting.demo._files import _geojson, _osm_xml, _points_table, _write_csv
from siting.io.write import write_text

__all__ = [
    "DISTRICT_CODE",
    "DISTRICT_NAME",
    "ELDERLY_URBAN_TOTAL",
    "SEED",
    "DemoCity",
    "build",
    "generate",
    "main",
]

log = logging.getLogger(__name__)

SEED = 2021
"""Seed of the demo city (the year of the 濮阳 policy, 濮办〔2021〕20号)."""


_ORIGIN_LONLAT = (115.0, 35.75)
_CRS_METRIC = "EPSG:4547"


@dataclass
class DemoCity:
    """Every layer of the demo city, in metres (EPSG:4547) until written."""

    net: _Net
    communities: pd.DataFrame  # code, name, street_code, kind, geometry (shapely, metres)
    streets: pd.DataFrame  # code, name, kind, geometry
    population: pd.DataFrame  # code, name, elderly_60plus, residents, households
    facilities: pd.DataFrame  # id, name, type, x, y, floor_area_m2, beds, land_area_m2...
    candidates: pd.DataFrame  # id, name, x, y, land_area_m2
    compounds: pd.DataFrame  # 小区: id, name, community_code, households, status, care_area_m2
    district_stats: pd.DataFrame  # code, name, family_care_beds, social_workers


def build(seed: int = SEED) -> DemoCity:
    """Build the demo city in memory (metres, EPSG:4547). Same seed, same city."""
    rng = np.random.default_rng(seed)
    net = _Net()
    _urban_grid(net, rng)
    urban_nodes = list(range(len(net.xy)))
    centres = _village_centres(rng, 30)
    village_nodes = _rural_network(net, rng, centres, urban_nodes)
    units, streets = _units(rng, centres)
    pop = _population(rng, units)
    facilities, candidates = _facilities(rng, units, pop, net, village_nodes)
    # the rule-book data draws from its own stream, so adding it left the city above unchanged
    rules_rng = np.random.default_rng(seed + 1)
    facilities = _rule_attributes(rules_rng, facilities, net)
    compounds = _compounds(rules_rng, units, pop)
    net = _keep_connected(net)
    return DemoCity(
        net=net,
        communities=units.drop(columns="_centre"),
        streets=streets,
        population=pop,
        facilities=facilities,
        candidates=candidates,
        compounds=compounds,
        district_stats=pd.DataFrame(
            [
                {
                    "code": DISTRICT_CODE,
                    "name": DISTRICT_NAME,
                    "family_care_beds": 720,
                    "social_workers": 70,
                }
            ]
        ),
    )


def _lonlat_of() -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Map local metres (origin at :data:`_ORIGIN_LONLAT`) to WGS-84 lon/lat."""
    to_metric = Transformer.from_crs("EPSG:4326", _CRS_METRIC, always_xy=True)
    ox_, oy_ = to_metric.transform(*_ORIGIN_LONLAT)
    back = Transformer.from_crs(_CRS_METRIC, "EPSG:4326", always_xy=True)

    def lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return back.transform(np.asarray(x) + ox_, np.asarray(y) + oy_)

    return lonlat


def generate(root: str | Path, *, seed: int = SEED) -> dict[str, Path]:
    """Write the demo city's files under ``root`` (the repository's ``data/`` folder), and
    from them the bureau-shaped example set in ``root/examples/bureau/``.

    Returns the written paths by role. All coordinates are WGS-84 lon/lat, but those of the
    Amap export (GCJ-02).
    """
    city = build(seed)
    tf = _lonlat_of()
    root = Path(root)
    paths = {
        "streets": root / "boundaries" / "demo_streets.geojson",
        "communities": root / "boundaries" / "demo_communities.geojson",
        "population": root / "population" / "demo_population.csv",
        "facilities": root / "facilities" / "demo_facilities.csv",
        "candidates": root / "facilities" / "demo_candidates.csv",
        "compounds": root / "population" / "demo_compounds.csv",
        "district_stats": root / "population" / "demo_district_stats.csv",
        "network": root / "network" / "demo.osm",
    }
    write_text(paths["streets"], _geojson(city.streets, ["code", "name", "kind"], tf))
    write_text(
        paths["communities"],
        _geojson(city.communities, ["code", "name", "street_code", "kind"], tf),
    )
    _write_csv(paths["population"], city.population)
    _write_csv(paths["facilities"], _points_table(city.facilities, tf))
    _write_csv(paths["candidates"], _points_table(city.candidates, tf))
    _write_csv(paths["compounds"], city.compounds)
    _write_csv(paths["district_stats"], city.district_stats)
    write_text(paths["network"], _osm_xml(city.net, tf))
    paths |= demo_bureau.generate(root)
    log.info(
        "demo city: %d 社区/村, %d nodes, %d ways, %d facilities, %d candidates",
        len(city.communities),
        len(city.net.xy),
        len(city.net.ways),
        len(city.facilities),
        len(city.candidates),
    )
    return paths


def main(argv: list[str] | None = None) -> None:
    """``python -m siting.demo [DATA_DIR]``: regenerate the demo city files;
    ``python -m siting.demo province DIR --counties N``: a fictional province of N counties
    (:mod:`siting.demo.province`)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["province"]:
        from siting.demo import province as demo_province

        demo_province.main(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default="data", type=Path)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for role, path in generate(args.data_dir, seed=args.seed).items():
        print(f"{role:24s} {path}")


if __name__ == "__main__":
    main()
