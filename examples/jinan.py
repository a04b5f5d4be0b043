"""The whole pipeline on a real Chinese street network: Jinan (济南).

    python examples/jinan.py DATA_DIR [--out DIR]

DATA_DIR is ``../shared/data/jinan`` (road shapefiles in WGS-84 without ``.prj``, CGCS2000
district polygons, 2020 census by district). The script derives the inputs ``siting run`` reads
into ``OUT_inputs/`` beside ``OUT`` (nothing is copied into the repository) and runs it:

* each district with street nodes in the road extract is one unit (its own 街道 and 社区), and
  its census 60+ population is spread over its residential street nodes; districts the extract
  does not reach are left out and listed;
* there are no existing facilities; every 10th residential street node is a candidate;
* the 15-minute circle at 1.0 m/s (900 m), MCLP with p = 20, the national rule set.

The outputs are those of ``siting run`` (``summary.json``, ``map.html``, tables); the reported
``elderly_total`` equals the census 60+ total of the districts covered.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting._record import recording
from siting.cli import main as siting
from siting.coords import analysis_crs
from siting.io.write import write_csv, write_text
from siting.network.road_layer import walk_graph_from_road_layer
from siting.problem.demand import RESIDENTIAL_HIGHWAYS

SCENARIO = """\
name: jinan
description: 济南 — 15-minute walking coverage of the elderly on the real road network
inputs:
  streets: {{path: streets.geojson}}
  communities: {{path: communities.geojson}}
  population: {{path: population.csv}}
  facilities: {{path: facilities.csv, coord_system: wgs84}}
  candidates: {{path: candidates.csv, coord_system: wgs84}}
  network: {{road_layer: {roads}, coord_system: wgs84}}
coverage: {{walk_speed: standard, urban_minutes: 15}}
model: {{name: mclp, p: 20, method: auto, time_limit_s: 60}}
rules: {{set: national}}
district: {{code: "370100", name: 济南市}}
"""


def prepare(data: Path, inputs: Path) -> Path:
    """Write the derived inputs and the scenario; return the scenario's path."""
    districts = gpd.read_file(data / "districts_cgcs2000.geojson").to_crs(4326)
    census = pd.read_csv(data / "census2020_districts.csv", dtype={"区划代码": str})
    crs = analysis_crs(float(districts.union_all().centroid.x))
    with recording():  # what reading the roads reports, the run below records again
        G = walk_graph_from_road_layer(data / "road_edges.shp", crs=crs, coord_system="wgs84")
    nodes = gpd.GeoDataFrame(
        {"lived": [any(h in RESIDENTIAL_HIGHWAYS for h in _tags(G, n)) for n in G.nodes]},
        geometry=gpd.points_from_xy(
            [G.nodes[n]["x"] for n in G.nodes], [G.nodes[n]["y"] for n in G.nodes]
        ),
        index=list(G.nodes),
        crs=crs,
    ).to_crs(4326)
    inside = gpd.sjoin(nodes, districts[["adcode", "geometry"]], predicate="within")
    covered = sorted(inside["adcode"].astype(str).unique())
    left_out = districts.loc[~districts["adcode"].astype(str).isin(covered), "name"].tolist()
    if left_out:
        print(f"districts without street nodes in the extract, left out: {', '.join(left_out)}")
    units = districts[districts["adcode"].astype(str).isin(covered)].assign(
        code=lambda d: d["adcode"].astype(str), street_code=lambda d: d["adcode"].astype(str)
    )
    write_text(
        inputs / "streets.geojson",
        units.assign(kind="街道")[["code", "name", "kind", "geometry"]].to_json(ensure_ascii=False),
    )
    write_text(
        inputs / "communities.geojson",
        units.assign(kind="社区")[["code", "name", "street_code", "kind", "geometry"]].to_json(
            ensure_ascii=False
        ),
    )
    table = census[census["区划代码"].isin(covered)]
    write_csv(
        inputs / "population.csv",
        pd.DataFrame(
            {
                "code": table["区划代码"],
                "elderly_60plus": table["pop_60plus"],
                "residents": table["人口数_合计"],
                "households": table["家庭户数"],
            }
        ),
    )
    write_csv(
        inputs / "facilities.csv",
        pd.DataFrame(columns=["id", "name", "type", "lon", "lat", "land_area_m2"]),
    )
    lived = inside[inside["lived"]].sort_index()
    every10 = lived.iloc[::10]
    write_csv(
        inputs / "candidates.csv",
        pd.DataFrame(
            {
                "id": [f"N{n}" for n in every10.index],
                "name": [f"街道节点 {n}" for n in every10.index],
                "lon": every10.geometry.x.round(7),
                "lat": every10.geometry.y.round(7),
                "land_area_m2": 0.0,
            }
        ),
    )
    scenario = inputs / "jinan.yaml"
    write_text(scenario, SCENARIO.format(roads=(data / "road_edges.shp").resolve().as_posix()))
    return scenario


def _tags(G: object, node: int) -> set[str]:
    tags: set[str] = set()
    for _, _, hw in G.edges(node, data="highway"):  # type: ignore[attr-defined]
        tags.update(hw if isinstance(hw, list) else [str(hw)])
    return tags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="the Jinan data folder (../shared/data/jinan)")
    parser.add_argument("--out", type=Path, default=Path("maps") / "jinan")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    if not (args.data_dir / "road_edges.shp").exists():
        parser.error(f"{args.data_dir} holds no road_edges.shp; give ../shared/data/jinan")
    scenario = prepare(args.data_dir, args.out.with_name(f"{args.out.name}_inputs"))
    return siting(
        ["run", str(scenario), "--out", str(args.out), *(["--overwrite"] if args.overwrite else [])]
    )


if __name__ == "__main__":
    sys.exit(main())
