"""A prefecture-sized city end to end: ``python -m benchmarks pipeline --size large``.

The scenario is generated (nothing committed) into ``benchmarks/.cities/pipeline_<size>/``
from the shared benchmark city of that size (``../shared/bench/gen_city.py``, seed 42): its
street graph written as OSM XML (one way per street segment, placed at 115°E 35.75°N, classes
drawn with a fixed seed), 40 街道/乡镇 as a grid over the city, each cut into 40 社区/村 (6
乡镇 of 村 in the corners), the city's elderly summed per 社区/村 from its demand points,
300 existing facilities and 2,000 candidates at street nodes, MCLP with p = 100.

It runs ``siting run`` on it in a child process (stage times from ``timings.json``, wall time,
peak memory of the child, size of ``map.html``) and, beside it, the network stage the osmnx
loader did before the arrays (``graph_from_xml``, ``simplify_graph``, ``project_graph`` and the
conversion to CSR arrays, also in a child process), and prints both with the ratio.
Targets (issue 18): whole run ≤ 60 s, ≤ 2 GiB peak, ``map.html`` ≤ 20 MB, network stage ≥ 8×
faster than the osmnx path.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from benchmarks._data import CACHE, city

ORIGIN = (115.0, 35.75)  # lon, lat of the city's south-west corner
N_UNITS = (8, 5)  # 街道/乡镇 columns x rows
N_CELLS = (8, 5)  # 社区/村 per unit, columns x rows
RURAL_UNITS = {0, 7, 32, 39}  # the grid's corner units (plus two more below) are 乡镇
N_FACILITIES, N_CANDIDATES, P = 300, 2000, 100
HIGHWAYS = (
    ("residential", 0.62),
    ("service", 0.12),
    ("footway", 0.10),
    ("tertiary", 0.08),
    ("secondary", 0.05),
    ("primary", 0.03),
)


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    to_metres = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
    x0, y0 = to_metres.transform(*ORIGIN)
    back = Transformer.from_crs("EPSG:4547", "EPSG:4326", always_xy=True)
    lon, lat = back.transform(x0 + x, y0 + y)
    return np.asarray(lon), np.asarray(lat)


def _write_osm(path: Path, lon: np.ndarray, lat: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
    rng = np.random.default_rng(42)
    names = [h for h, _ in HIGHWAYS]
    classes = rng.choice(len(names), size=len(u), p=[p for _, p in HIGHWAYS])
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="bench">\n')
        f.writelines(
            f'<node id="{i + 1}" lat="{la:.7f}" lon="{lo:.7f}"/>\n'
            for i, (lo, la) in enumerate(zip(lon, lat, strict=True))
        )
        f.writelines(
            f'<way id="{k + 1}"><nd ref="{a + 1}"/><nd ref="{b + 1}"/>'
            f'<tag k="highway" v="{escape(names[c])}"/></way>\n'
            for k, (a, b, c) in enumerate(
                zip(u.tolist(), v.tolist(), classes.tolist(), strict=True)
            )
        )
        f.write("</osm>\n")
    tmp.replace(path)


def build(size: str) -> Path:
    """Write the scenario (once per size) and return its YAML path."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    folder = CACHE / f"pipeline_{size}"
    scenario = folder / "city.yaml"
    if scenario.exists():
        return scenario
    folder.mkdir(parents=True, exist_ok=True)
    w = city(size)
    x, y = w.edges["x"], w.edges["y"]
    lon, lat = _lonlat(x, y)
    _write_osm(folder / "city.osm", lon, lat, w.edges["u"], w.edges["v"])
    x0, x1, y0, y1 = x.min() - 50, x.max() + 50, y.min() - 50, y.max() + 50
    nx_u, ny_u = N_UNITS
    nx_c, ny_c = N_CELLS
    dx, dy = (x1 - x0) / (nx_u * nx_c), (y1 - y0) / (ny_u * ny_c)
    rural = RURAL_UNITS | {3, 36}
    streets, cells = [], []
    for k in range(nx_u * ny_u):
        ux, uy = k % nx_u, k // nx_u
        code = f"4199{k + 1:05d}"
        kind = "乡镇" if k in rural else "街道"
        box = shapely.box(
            x0 + ux * nx_c * dx,
            y0 + uy * ny_c * dy,
            x0 + (ux + 1) * nx_c * dx,
            y0 + (uy + 1) * ny_c * dy,
        )
        streets.append({"code": code, "name": f"第{k + 1}{kind}", "kind": kind, "geometry": box})
        for j in range(nx_c * ny_c):
            cx, cy = ux * nx_c + j % nx_c, uy * ny_c + j // nx_c
            cells.append(
                {
                    "code": f"{code}{j + 1:03d}",
                    "name": f"第{k + 1}{kind}{j + 1}{'村' if k in rural else '社区'}",
                    "street_code": code,
                    "kind": "村" if k in rural else "社区",
                    "geometry": shapely.box(
                        x0 + cx * dx, y0 + cy * dy, x0 + (cx + 1) * dx, y0 + (cy + 1) * dy
                    ),
                }
            )

    def to_wgs(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
        from pyproj import Transformer

        frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4547")
        x_0, y_0 = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True).transform(*ORIGIN)
        frame["geometry"] = frame.geometry.translate(x_0, y_0)
        return frame.to_crs(4326)

    st, cm = to_wgs(streets), to_wgs(cells)
    st.to_file(folder / "streets.geojson", driver="GeoJSON")
    cm.to_file(folder / "communities.geojson", driver="GeoJSON")
    # elderly: the city's demand points summed per 社区/村 (cells without any get a few)
    col = np.clip(((x[w.demand_node] - x0) / dx).astype(int), 0, nx_u * nx_c - 1)
    row = np.clip(((y[w.demand_node] - y0) / dy).astype(int), 0, ny_u * ny_c - 1)
    unit = (row // ny_c) * nx_u + col // nx_c
    cell = (row % ny_c) * nx_c + col % nx_c
    index = unit * (nx_c * ny_c) + cell
    elderly = np.bincount(index, weights=w.demand_w, minlength=len(cells)).round()
    elderly = np.maximum(elderly, 5).astype(int)
    pd.DataFrame(
        {
            "code": [c["code"] for c in cells],
            "name": [c["name"] for c in cells],
            "elderly_60plus": elderly,
            "residents": elderly * 5,
            "households": elderly * 2,
        }
    ).to_csv(folder / "population.csv", index=False)
    rng = np.random.default_rng(7)
    nodes = rng.choice(len(x), size=N_FACILITIES + N_CANDIDATES, replace=False)
    fac, cand = nodes[:N_FACILITIES], nodes[N_FACILITIES:]
    pd.DataFrame(
        {
            "id": [f"F{i + 1:04d}" for i in range(len(fac))],
            "name": [f"照料中心{i + 1}" for i in range(len(fac))],
            "type": "社区日间照料中心",
            "lon": lon[fac].round(7),
            "lat": lat[fac].round(7),
            "floor_area_m2": 300.0,
            "beds": 10,
            "land_area_m2": 400.0,
        }
    ).to_csv(folder / "facilities.csv", index=False)
    pd.DataFrame(
        {
            "id": [f"C{i + 1:04d}" for i in range(len(cand))],
            "name": [f"候选地块{i + 1}" for i in range(len(cand))],
            "lon": lon[cand].round(7),
            "lat": lat[cand].round(7),
            "land_area_m2": 800.0,
        }
    ).to_csv(folder / "candidates.csv", index=False)
    scenario.write_text(
        f"""name: city_{size}
description: 基准城市 — {len(cells)} 个社区/村，{N_FACILITIES} 处现有设施，{N_CANDIDATES} 个候选点
inputs:
  streets: {{path: streets.geojson}}
  communities: {{path: communities.geojson}}
  population: {{path: population.csv}}
  facilities: {{path: facilities.csv, coord_system: wgs84}}
  candidates: {{path: candidates.csv, coord_system: wgs84}}
  network: {{osm_file: city.osm}}
coverage: {{walk_speed_mps: 1.0, urban_minutes: 15, rural_radius_m: 1000}}
model: {{name: mclp, p: {P}, time_limit_s: 60}}
rules: {{set: henan/puyang}}
district: {{code: "419900", name: 基准城市}}
""",
        encoding="utf-8",
    )
    return scenario


_CHILD_PEAK = (
    "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
    "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _child(code: str) -> tuple[float, float, str]:
    """Run ``code`` in a fresh Python; wall seconds, peak MiB, its stdout.

    The peak is that process's plus the largest of its own children's (the forked process
    that draws ``map.png``, :mod:`siting.outputs._background`): an upper bound on what they held at
    once, since a forked child's resident pages include those it still shares with its parent.
    """
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code + "\n" + _CHILD_PEAK],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    lines = done.stdout.strip().splitlines()
    own, children = (int(v) for v in lines[-1].split())
    return wall, (own + children) / 1024, "\n".join(lines[:-1])


def main(size: str) -> int:
    t = time.perf_counter()
    scenario = build(size)
    print(f"scenario {scenario} ready in {time.perf_counter() - t:.1f} s")
    osm = scenario.parent / "city.osm"
    print(f"OSM file {osm.stat().st_size / 2**20:.0f} MiB")
    out = scenario.parent / "out"
    wall, peak, _ = _child(
        "import sys; from siting.cli import main; "
        f"sys.argv=['siting','run',{str(scenario)!r},'--out',{str(out)!r},'--overwrite']; "
        "code = main()\nassert not code, code"
    )
    times = json.loads((out / "timings.json").read_text(encoding="utf-8"))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    map_mb = (out / "map.html").stat().st_size / 1e6
    old_wall, old_peak, old_out = _child(
        "import time; from siting.network import osmnx_graph_from_osm_file; "
        "from siting.network.arrays import WalkNetwork\n"
        f"t=time.perf_counter(); G=osmnx_graph_from_osm_file({str(osm)!r}, crs='EPSG:4547'); "
        "net=WalkNetwork.from_graph(G); net.arrays\n"
        "print(time.perf_counter()-t, G.number_of_nodes())"
    )
    old_network_s, old_nodes = (float(v) for v in old_out.split())
    new_wall, new_peak, new_out = _child(
        "import time; from siting.network import walk_network_from_osm_file\n"
        f"t=time.perf_counter(); net=walk_network_from_osm_file({str(osm)!r}, crs='EPSG:4547'); "
        "net.arrays\nprint(time.perf_counter()-t, net.n_nodes)"
    )
    new_network_s, new_nodes = (float(v) for v in new_out.split())
    print()
    print(f"{'stage':28s} {'seconds':>9s}")
    for key, value in times.items():
        print(f"{key:28s} {value:9.2f}")
    print(f"{'siting run, wall':28s} {wall:9.2f}   (target <= 60)")
    print(f"{'peak memory, MiB':28s} {peak:9.0f}   (target <= 2048; run + pictures process)")
    print(f"{'map.html, MB':28s} {map_mb:9.1f}   (target <= 20)")
    before, after = summary["covered_before"], summary["covered_after"]
    print(
        f"elderly {summary['elderly_total']:,.0f}; covered {before['share']:.1%} -> "
        f"{after['share']:.1%}; model: {summary['model']['status']}, gap "
        f"{summary['model']['gap']:.3%}"
    )
    print()
    print(f"{'network stage':28s} {'arrays':>9s} {'osmnx':>9s} {'ratio':>7s}")
    print(
        f"{'seconds (own process)':28s} {new_network_s:9.2f} {old_network_s:9.2f} "
        f"{old_network_s / new_network_s:6.1f}x   (target >= 8x)"
    )
    print(f"{'peak MiB (own process)':28s} {new_peak:9.0f} {old_peak:9.0f}")
    print(f"{'nodes':28s} {new_nodes:9.0f} {old_nodes:9.0f}")
    del new_wall, old_wall
    ok = wall <= 60 and peak <= 2048 and map_mb <= 20 and old_network_s / new_network_s >= 8
    print(f"RESULT pipeline {size}: {'all targets met' if ok else 'a target missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "large"))
