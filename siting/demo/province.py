"""A fictional province of small counties, for batch tests and benchmarks.

``python -m siting.demo province DIR --counties N`` writes N counties, each with its own files
(boundaries, population, facilities, candidates, walking network as OSM XML) in
``DIR/<name>/`` and its own scenario in ``DIR/scenarios/<name>.yaml``, so that
``siting run DIR/scenarios --out OUT`` runs the province as one batch.

Each county is a 4 km square tile of one metric plane (CGCS2000 / 3-degree Gauss-Krüger CM
114E, EPSG:4547, as the demo district), the tiles side by side in rows, so the counties border
each other on the province map. A county is the demo district (:mod:`siting.demo._city`) at
about a tenth of its size, built from the same pieces: a jittered urban grid of 110 m blocks
with an arterial and missing links, 社区 as Voronoi cells of seeds in two 街道; five villages
(small rotated grids joined by village roads along a spanning tree, a county road to town) as
the 村 of one 乡镇; day-care centres in town, a 幸福院 in one village, candidates spread out.

Everything is drawn from ``numpy.random.default_rng([seed, k])`` for county ``k``: the same
seed gives the same bytes, and county ``k`` is the same whatever the number of counties.
Codes are fictional: ``4198NN`` (the city code ``98`` is not a real one; after 99 counties,
``4197NN`` and so on); names ``演示N县``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import cKDTree
from shapely.geometry import Point

from siting.demo._city import (
    _COMMUNITY_STEMS,
    _COMMUNITY_SUFFIXES,
    _VILLAGE_SUFFIXES,
    _VILLAGE_SURNAMES,
    _keep_connected,
    _largest_remainder,
    _nearest,
    _Net,
    _road,
    _village,
    _voronoi_cells,
)
from siting.demo._files import _geojson, _osm_xml, _points_table, _write_csv
from siting.io.write import write_text

SEED = 4100
"""Seed of the province (Henan's province code, 41)."""

TILE_M = 4000.0
"""Side of a county's square, in metres."""

_ORIGIN_LONLAT = (113.2, 33.9)  # the south-west corner of the first county
_CRS_METRIC = "EPSG:4547"
_URBAN = (300.0, 300.0, 2100.0, 2100.0)  # the town inside the tile, metres
_SPACING = 110.0
_VILLAGES = 5
_COMMUNITIES = 12


def county_code(k: int) -> str:
    """The fictional admin code of county ``k`` (0-based): ``4198NN``, then ``4197NN``..."""
    return f"41{98 - k // 99:02d}{k % 99 + 1:02d}"


def county_name(k: int) -> str:
    return f"演示{k + 1}县"


def scenario_name(k: int) -> str:
    return f"county{k + 1:03d}"


@dataclass
class County:
    """One county's layers, in metres of its own tile (origin at its south-west corner)."""

    code: str
    name: str
    net: _Net
    communities: pd.DataFrame  # code, name, street_code, kind, geometry
    streets: pd.DataFrame  # code, name, kind, geometry
    population: pd.DataFrame  # code, name, elderly_60plus, residents, households
    facilities: pd.DataFrame  # id, name, type, x, y, floor_area_m2, beds, land_area_m2
    candidates: pd.DataFrame  # id, name, x, y, land_area_m2


def _town(net: _Net, rng: np.random.Generator) -> list[int]:
    """A jittered street grid filling the town square, one arterial each way, 8 % of the
    residential links missing; returns its node ids."""
    x0, y0, x1, y1 = _URBAN
    gx = np.arange(x0 + 20.0, x1, _SPACING)
    gy = np.arange(y0 + 20.0, y1, _SPACING)
    ids = np.array(
        [[net.add_node(x + rng.uniform(-22, 22), y + rng.uniform(-22, 22)) for x in gx] for y in gy]
    )
    middle_row, middle_col = len(gy) // 2, len(gx) // 2

    def street(nodes: list[int], arterial: bool) -> None:
        tags = (
            {"highway": "secondary", "name": "建设路"} if arterial else {"highway": "residential"}
        )
        run = [nodes[0]]
        for node in nodes[1:]:
            if not arterial and rng.random() < 0.08:
                net.add_way(run, dict(tags))
                run = []
            run.append(node)
        net.add_way(run, dict(tags))

    for r in range(len(gy)):
        street([int(v) for v in ids[r]], r == middle_row)
    for c in range(len(gx)):
        street([int(v) for v in ids[:, c]], c == middle_col)
    return [int(v) for v in ids.ravel()]


def _village_centres(rng: np.random.Generator) -> np.ndarray:
    """Village centres in the tile outside the town, at least 900 m apart."""
    town = shapely.box(*_URBAN).buffer(350.0)
    pts: list[tuple[float, float]] = []
    while len(pts) < _VILLAGES:
        p = (rng.uniform(300, TILE_M - 300), rng.uniform(300, TILE_M - 300))
        far = all(math.hypot(p[0] - q[0], p[1] - q[1]) > 900.0 for q in pts)
        if far and not town.contains(Point(p)):
            pts.append(p)
    return np.array(pts)


def _countryside(
    net: _Net, rng: np.random.Generator, centres: np.ndarray, town: list[int]
) -> list[list[int]]:
    villages = [_village(net, rng, cx, cy, seat=False) for cx, cy in centres]
    dist = np.hypot(*(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
    tree = minimum_spanning_tree(dist).tocoo()
    for i, j in sorted(zip(tree.row.tolist(), tree.col.tolist(), strict=True)):
        a = _nearest(net, villages[i], *centres[j])
        b = _nearest(net, villages[j], *centres[i])
        _road(net, rng, a, b, {"highway": "unclassified"})
    first = int(np.argmin(np.hypot(centres[:, 0] - 1200.0, centres[:, 1] - 1200.0)))
    a = _nearest(net, town, *centres[first])
    b = _nearest(net, villages[first], *net.xy[a])
    _road(net, rng, a, b, {"highway": "tertiary", "name": "县道X01"})
    return villages


def _units(
    rng: np.random.Generator, code: str, centres: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """社区 as Voronoi cells in town (two 街道, west and east), 村 as cells of the villages in
    the rest of the tile (one 乡镇); every 街道/乡镇 the union of its cells."""
    town = shapely.box(*_URBAN)
    seeds = np.column_stack(
        [
            rng.uniform(_URBAN[0] + 80, _URBAN[2] - 80, _COMMUNITIES),
            rng.uniform(400, 2000, _COMMUNITIES),
        ]
    )
    cells = _voronoi_cells(seeds, town)
    rural = shapely.box(0.0, 0.0, TILE_M, TILE_M).difference(town)
    vcells = _voronoi_cells(centres, rural)
    east = seeds[:, 0] > (_URBAN[0] + _URBAN[2]) / 2
    names = [f"{stem}{suf}社区" for suf in _COMMUNITY_SUFFIXES for stem in _COMMUNITY_STEMS]
    picks = rng.choice(len(names), _COMMUNITIES, replace=False)
    rows: list[dict[str, object]] = []
    streets: list[dict[str, object]] = []
    for s, (label, members) in enumerate([("城西街道", ~east), ("城东街道", east)]):
        street = f"{code}{s + 1:03d}"
        order = [i for i in np.argsort(seeds[:, 1] * 10_000 + seeds[:, 0]) if members[i]]
        rows += [
            {
                "code": f"{street}{n + 1:03d}",
                "name": names[picks[i]],
                "street_code": street,
                "kind": "社区",
                "geometry": cells[i],
            }
            for n, i in enumerate(order)
        ]
        streets.append(
            {
                "code": street,
                "name": label,
                "kind": "街道",
                "geometry": shapely.union_all([cells[i] for i in order]),
            }
        )
    township = f"{code}100"
    surnames = rng.choice(len(_VILLAGE_SURNAMES), _VILLAGES, replace=False)
    rows += [
        {
            "code": f"{township}{201 + i:03d}",
            "name": f"{_VILLAGE_SURNAMES[s]}{_VILLAGE_SUFFIXES[i % len(_VILLAGE_SUFFIXES)]}",
            "street_code": township,
            "kind": "村",
            "geometry": vcells[i],
        }
        for i, s in enumerate(surnames)
    ]
    streets.append(
        {"code": township, "name": "城郊乡", "kind": "乡镇", "geometry": shapely.union_all(vcells)}
    )
    return pd.DataFrame(rows), pd.DataFrame(streets)


def _population(rng: np.random.Generator, units: pd.DataFrame) -> pd.DataFrame:
    urban = (units["kind"] == "社区").to_numpy()
    area_km2 = np.array([g.area for g in units["geometry"]]) / 1e6
    elderly = np.zeros(len(units), dtype=np.int64)
    total = int(rng.integers(4_000, 9_000))
    weight = area_km2[urban] * rng.lognormal(0, 0.3, urban.sum())
    elderly[urban] = _largest_remainder(weight, total)
    share = rng.uniform(0.15, 0.24, len(units))
    share[~urban] = rng.uniform(0.21, 0.29, (~urban).sum())
    elderly[~urban] = np.round(rng.integers(450, 2600, (~urban).sum()) * share[~urban])
    residents = np.round(elderly / share).astype(np.int64)
    households = np.round(residents / rng.uniform(2.4, 3.1, len(units))).astype(np.int64)
    return pd.DataFrame(
        {
            "code": units["code"],
            "name": units["name"],
            "elderly_60plus": elderly,
            "residents": residents,
            "households": households,
        }
    )


def _sites(
    rng: np.random.Generator, units: pd.DataFrame, net: _Net, villages: list[list[int]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three day-care centres in town and a 幸福院 in one village; candidates: 14 town plots
    and the committee rooms of the other villages."""
    xy = np.array(net.xy)
    tree = cKDTree(xy)

    def near(x: float, y: float) -> tuple[float, float]:
        node = tree.query((x, y))[1]
        ang = rng.uniform(0, 2 * np.pi)
        return float(xy[node, 0] + 18 * np.cos(ang)), float(xy[node, 1] + 18 * np.sin(ang))

    town = units[units["kind"] == "社区"].reset_index(drop=True)
    rows = []
    for k, i in enumerate(sorted(rng.choice(len(town), 3, replace=False))):
        x, y = near(*town["geometry"][i].representative_point().coords[0])
        floor = float(rng.choice([200, 260, 320, 450]))
        rows.append(
            {
                "id": f"F{k + 1:03d}",
                "name": f"{town['name'][i]}日间照料中心",
                "type": "社区日间照料中心",
                "x": x,
                "y": y,
                "floor_area_m2": floor,
                "beds": int(rng.choice([0, 6, 10])),
                "land_area_m2": float(round(floor * rng.uniform(1.2, 2.0), -1)),
            }
        )
    village_rows = units[units["kind"] == "村"].reset_index(drop=True)
    home = int(rng.integers(len(villages)))
    x, y = near(*xy[villages[home][len(villages[home]) // 2]])
    rows.append(
        {
            "id": f"F{len(rows) + 1:03d}",
            "name": f"{village_rows['name'][home]}幸福院",
            "type": "农村幸福院",
            "x": x,
            "y": y,
            "floor_area_m2": 160.0,
            "beds": 5,
            "land_area_m2": 320.0,
        }
    )
    candidates: list[tuple[float, float, float, str]] = []
    while len(candidates) < 14:
        px, py = rng.uniform(_URBAN[0], _URBAN[2]), rng.uniform(_URBAN[1], _URBAN[3])
        land = float(round(rng.uniform(400, 3000), -1))
        candidates.append((*near(px, py), land, f"城区地块{len(candidates) + 1:02d}"))
    for i, nodes in enumerate(villages):
        if i != home:
            land = float(round(rng.uniform(300, 900), -1))
            label = f"{village_rows['name'][i]}村委会闲置用房"
            candidates.append((*near(*xy[nodes[len(nodes) // 2]]), land, label))
    return pd.DataFrame(rows), pd.DataFrame(
        [
            {"id": f"C{k + 1:03d}", "name": name, "x": x, "y": y, "land_area_m2": land}
            for k, (x, y, land, name) in enumerate(candidates)
        ]
    )


def build_county(k: int, *, seed: int = SEED) -> County:
    """County ``k`` (0-based) in memory, in metres of its tile. Same seed, same county."""
    rng = np.random.default_rng([seed, k])
    net = _Net()
    town = _town(net, rng)
    centres = _village_centres(rng)
    villages = _countryside(net, rng, centres, town)
    code = county_code(k)
    units, streets = _units(rng, code, centres)
    facilities, candidates = _sites(rng, units, net, villages)
    return County(
        code=code,
        name=county_name(k),
        net=_keep_connected(net),
        communities=units,
        streets=streets,
        population=_population(rng, units),
        facilities=facilities,
        candidates=candidates,
    )


_LonLat = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _lonlat_of(k: int, columns: int) -> _LonLat:
    """Tile metres of county ``k`` to WGS-84 lon/lat: tiles in rows of ``columns``, west to
    east, then north, on one EPSG:4547 plane."""
    to_metric = Transformer.from_crs("EPSG:4326", _CRS_METRIC, always_xy=True)
    ox, oy = to_metric.transform(*_ORIGIN_LONLAT)
    ox += (k % columns) * TILE_M
    oy += (k // columns) * TILE_M
    back = Transformer.from_crs(_CRS_METRIC, "EPSG:4326", always_xy=True)

    def lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return back.transform(np.asarray(x) + ox, np.asarray(y) + oy)

    return lonlat


_SCENARIO = """\
# {name}（{code}）: a county of the fictional province, generated by
# `python -m siting.demo province DIR`. Run the province: siting run DIR/scenarios --out OUT
name: {scenario}
description: {name} — 3 new sites to close the 一刻钟/一公里 gaps
inputs:
  streets: {{path: ../{scenario}/streets.geojson}}
  communities: {{path: ../{scenario}/communities.geojson}}
  population: {{path: ../{scenario}/population.csv}}
  facilities: {{path: ../{scenario}/facilities.csv, coord_system: wgs84}}
  candidates: {{path: ../{scenario}/candidates.csv, coord_system: wgs84}}
  network: {{osm_file: ../{scenario}/network.osm}}
coverage:
  walk_speed_mps: 1.0
  urban_minutes: 15
  rural_radius_m: 1000
  facility_types: [社区日间照料中心, 农村幸福院]
model:
  name: mclp
  p: 3
  time_limit_s: 30
rules:
  set: henan
district: {{code: "{code}", name: {name}}}
"""


def generate(root: str | Path, *, counties: int, seed: int = SEED) -> list[Path]:
    """Write ``counties`` counties under ``root`` and return their scenario files (in
    ``root/scenarios/``, one per county, in county order)."""
    if counties < 1:
        raise ValueError(f"`counties` must be at least 1, got {counties!r}")
    root = Path(root)
    columns = math.ceil(math.sqrt(counties))
    scenarios = []
    for k in range(counties):
        county = build_county(k, seed=seed)
        tf = _lonlat_of(k, columns)
        name = scenario_name(k)
        folder = root / name
        write_text(
            folder / "streets.geojson", _geojson(county.streets, ["code", "name", "kind"], tf)
        )
        write_text(
            folder / "communities.geojson",
            _geojson(county.communities, ["code", "name", "street_code", "kind"], tf),
        )
        _write_csv(folder / "population.csv", county.population)
        _write_csv(folder / "facilities.csv", _points_table(county.facilities, tf))
        _write_csv(folder / "candidates.csv", _points_table(county.candidates, tf))
        write_text(folder / "network.osm", _osm_xml(county.net, tf))
        text = _SCENARIO.format(name=county.name, code=county.code, scenario=name)
        scenarios.append(write_text(root / "scenarios" / f"{name}.yaml", text))
    return scenarios


def main(argv: list[str] | None = None) -> None:
    """``python -m siting.demo province DIR --counties N [--seed S]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m siting.demo province", description=__doc__.splitlines()[0]
    )
    parser.add_argument("root", type=Path, help="folder to write the counties into")
    parser.add_argument("--counties", type=int, required=True)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if args.counties < 1:
        parser.error("--counties must be at least 1")
    paths = generate(args.root, counties=args.counties, seed=args.seed)
    print(f"{len(paths)} counties; run them with: siting run {args.root / 'scenarios'} --out OUT")
