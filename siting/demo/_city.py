"""The demo city's layout: street network, admin units, population and facilities.

Private to :mod:`siting.demo` (which assembles and writes the city); everything here is in
metres in EPSG:4547 and drawn from the random generator it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import cKDTree
from shapely.geometry import Point, Polygon

DISTRICT_CODE = "419901"
DISTRICT_NAME = "演示区"
ELDERLY_URBAN_TOTAL = 85_782
"""Urban 60+ total, the published figure for 华龙区 (seed 003, table 2)."""

_STREET_NAMES = [
    "人民路街道",
    "解放路街道",
    "建设路街道",
    "和平路街道",
    "文化路街道",
    "胜利路街道",
    "中原路街道",
    "新华街道",
    "迎宾街道",
]
_TOWNSHIP_NAMES = ["李庄镇", "王营乡", "张集镇"]
_COMMUNITY_STEMS = [
    "幸福",
    "和谐",
    "光明",
    "朝阳",
    "春晖",
    "锦绣",
    "阳光",
    "康乐",
    "文苑",
    "新苑",
    "丽景",
    "兴华",
    "振兴",
    "富民",
    "安居",
    "长青",
    "龙泉",
    "金桥",
    "华庭",
    "翠园",
    "东湖",
    "西湖",
    "南关",
    "北关",
    "永安",
    "育才",
    "益民",
    "福康",
    "瑞丰",
]
_COMMUNITY_SUFFIXES = ["", "东", "西", "南", "北"]
_VILLAGE_SURNAMES = [
    "刘",
    "马",
    "孙",
    "赵",
    "钱",
    "周",
    "吴",
    "郑",
    "冯",
    "陈",
    "褚",
    "卫",
    "蒋",
    "沈",
    "韩",
    "杨",
    "朱",
    "秦",
    "尤",
    "许",
    "何",
    "吕",
    "施",
    "孔",
    "曹",
    "严",
    "华",
    "金",
    "魏",
    "陶",
]
_VILLAGE_SUFFIXES = ["庄村", "营村", "寨村", "屯村", "集村", "楼村"]
_ARTERIAL_NAMES = [
    "建设路",
    "人民路",
    "解放路",
    "中原路",
    "黄河路",
    "长庆路",
    "文化路",
    "胜利路",
    "京开大道",
    "振兴路",
    "昆吾路",
    "开州路",
    "历山路",
    "绿城路",
]


@dataclass
class _Net:
    """A growing street network in metres: node coordinates and tagged ways."""

    xy: list[tuple[float, float]] = field(default_factory=list)
    ways: list[tuple[list[int], dict[str, str]]] = field(default_factory=list)

    def add_node(self, x: float, y: float) -> int:
        self.xy.append((float(x), float(y)))
        return len(self.xy) - 1

    def add_way(self, nodes: list[int], tags: dict[str, str]) -> None:
        if len(nodes) >= 2:
            self.ways.append((list(nodes), tags))


# --------------------------------------------------------------------------- urban area

_URBAN_OUTLINE = Polygon(
    [(0, 300), (1500, 0), (7150, 200), (7150, 5600), (5200, 5940), (300, 5800), (0, 3000)]
)
_OLD_TOWN = (2300.0, 3400.0)
_PARKS = [((4300.0, 1300.0), 280.0), ((1500.0, 4700.0), 230.0)]


def _river_y(x: np.ndarray | float) -> np.ndarray | float:
    return 2350.0 + 0.13 * np.asarray(x) + 160.0 * np.sin(np.asarray(x) / 900.0)


def _density(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Relative elderly density: an old town plus a secondary centre and a flat base."""
    d_old = np.hypot(x - _OLD_TOWN[0], y - _OLD_TOWN[1])
    d_new = np.hypot(x - 5600.0, y - 4300.0)
    return 0.35 + 2.2 * np.exp(-((d_old / 1500.0) ** 2)) + 0.8 * np.exp(-((d_new / 1100.0) ** 2))


def _urban_grid(net: _Net, rng: np.random.Generator) -> None:
    spacing, ncol, nrow = 110.0, 66, 55
    gx = np.arange(ncol) * spacing + 20.0
    gy = np.arange(nrow) * spacing + 20.0
    ids = -np.ones((nrow, ncol), dtype=np.int64)
    inside = shapely.contains_xy(_URBAN_OUTLINE.buffer(-15.0), *np.meshgrid(gx, gy))
    for r in range(nrow):
        for c in range(ncol):
            x = gx[c] + rng.uniform(-22, 22)
            y = gy[r] + rng.uniform(-22, 22)
            in_park = any(np.hypot(x - px, y - py) < pr for (px, py), pr in _PARKS)
            if inside[r, c] and not in_park and abs(y - _river_y(x)) > 45.0:
                ids[r, c] = net.add_node(x, y)
    bridges = {6, 21, 38, 55}

    def crosses_river(a: int, b: int) -> bool:
        (xa, ya), (xb, yb) = net.xy[a], net.xy[b]
        return bool(np.sign(ya - _river_y(xa)) != np.sign(yb - _river_y(xb)))

    def street(cells: list[tuple[int, int]], arterial: int | None, vertical: bool) -> None:
        run: list[int] = []
        tags = {"highway": "residential"}
        if arterial is not None:
            tags = {
                "highway": "primary" if arterial % 2 == 0 else "secondary",
                "name": _ARTERIAL_NAMES[arterial % len(_ARTERIAL_NAMES)],
            }
        for r, c in cells:
            node = int(ids[r, c])
            keep_link = bool(run) and node >= 0
            if keep_link:
                missing = arterial is None and rng.random() < 0.08
                river = crosses_river(run[-1], node) and not (vertical and c in bridges)
                keep_link = not (missing or river)
            if not keep_link:
                net.add_way(run, dict(tags))
                run = []
            if node >= 0:
                run.append(node)
        net.add_way(run, dict(tags))

    for r in range(nrow):
        street([(r, c) for c in range(ncol)], r // 9 if r % 9 == 4 else None, vertical=False)
    for c in range(ncol):
        street([(r, c) for r in range(nrow)], 7 + c // 11 if c % 11 == 5 else None, vertical=True)
    for r in range(nrow - 1):  # footpaths cutting through a few blocks
        for c in range(ncol - 1):
            a, b = int(ids[r, c]), int(ids[r + 1, c + 1])
            if a >= 0 and b >= 0 and rng.random() < 0.04 and not crosses_river(a, b):
                net.add_way([a, b], {"highway": "footway"})


# --------------------------------------------------------------------------- rural area

_RURAL_BOX = (7700.0, -800.0, 19700.0, 7200.0)
_TOWNSHIP_SEATS = [(10500.0, 1500.0), (16500.0, 1800.0), (13000.0, 5800.0)]


def _village_centres(rng: np.random.Generator, n: int) -> np.ndarray:
    x0, y0, x1, y1 = _RURAL_BOX
    pts: list[tuple[float, float]] = list(_TOWNSHIP_SEATS)
    while len(pts) < n:
        p = (rng.uniform(x0 + 400, x1 - 400), rng.uniform(y0 + 400, y1 - 400))
        if min(np.hypot(p[0] - q[0], p[1] - q[1]) for q in pts) > 1350.0:
            pts.append(p)
    return np.array(pts)


def _village(net: _Net, rng: np.random.Generator, cx: float, cy: float, seat: bool) -> list[int]:
    """A small rotated street grid around a village centre; returns its node ids."""
    nx_, ny_ = (6, 5) if seat else (int(rng.integers(3, 6)), int(rng.integers(3, 5)))
    theta = rng.uniform(0, np.pi / 2)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    grid = np.empty((ny_, nx_), dtype=np.int64)
    for r in range(ny_):
        for c in range(nx_):
            local = np.array([(c - (nx_ - 1) / 2) * 75.0, (r - (ny_ - 1) / 2) * 75.0])
            x, y = rot @ local + (cx, cy) + rng.uniform(-10, 10, 2)
            grid[r, c] = net.add_node(x, y)
    for r in range(ny_):
        net.add_way([int(v) for v in grid[r]], {"highway": "residential"})
    for c in range(nx_):
        net.add_way([int(v) for v in grid[:, c]], {"highway": "residential"})
    return [int(v) for v in grid.ravel()]


def _road(net: _Net, rng: np.random.Generator, a: int, b: int, tags: dict[str, str]) -> None:
    """A country road from node a to node b with gently wandering intermediate nodes."""
    (xa, ya), (xb, yb) = net.xy[a], net.xy[b]
    n_mid = max(int(np.hypot(xb - xa, yb - ya) // 250.0), 1)
    nodes = [a]
    for k in range(1, n_mid):
        t = k / n_mid
        nodes.append(
            net.add_node(
                xa + t * (xb - xa) + rng.uniform(-30, 30), ya + t * (yb - ya) + rng.uniform(-30, 30)
            )
        )
    nodes.append(b)
    net.add_way(nodes, tags)


def _nearest(net: _Net, pool: list[int], x: float, y: float) -> int:
    xy = np.array([net.xy[i] for i in pool])
    return pool[int(np.argmin(np.hypot(xy[:, 0] - x, xy[:, 1] - y)))]


def _rural_network(
    net: _Net, rng: np.random.Generator, centres: np.ndarray, urban_nodes: list[int]
) -> list[list[int]]:
    village_nodes = [
        _village(net, rng, cx, cy, seat=i < len(_TOWNSHIP_SEATS))
        for i, (cx, cy) in enumerate(centres)
    ]
    dist = np.hypot(*(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
    mst = minimum_spanning_tree(dist).tocoo()
    links = {(min(i, j), max(i, j)) for i, j in zip(mst.row, mst.col, strict=True)}
    order = np.argsort(dist, axis=None)
    extra = 0
    for flat in order:  # a few loops so the rural roads are not a bare tree
        i, j = divmod(int(flat), len(centres))
        if i < j and (i, j) not in links and extra < 7 and rng.random() < 0.5:
            links.add((i, j))
            extra += 1
    for i, j in sorted(links):
        a = _nearest(net, village_nodes[i], *centres[j])
        b = _nearest(net, village_nodes[j], *centres[i])
        _road(net, rng, a, b, {"highway": "unclassified"})
    for k, (_, sy) in enumerate(_TOWNSHIP_SEATS[:2]):  # county roads to the city
        a = _nearest(net, urban_nodes, 7150.0, sy + 600.0 * k)
        b = _nearest(net, village_nodes[k], *net.xy[a])
        _road(net, rng, a, b, {"highway": "tertiary", "name": f"县道X0{k + 1}"})
    return village_nodes


# --------------------------------------------------------------------------- admin units


def _voronoi_cells(seeds: np.ndarray, clip: Polygon) -> list[Polygon]:
    """Voronoi cells of ``seeds`` clipped to ``clip``, in seed order."""
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=clip.buffer(5000))
    parts = list(shapely.get_parts(cells))
    owner = cKDTree(seeds).query([p.representative_point().coords[0] for p in parts])[1]
    by_seed = {int(o): p for o, p in zip(owner, parts, strict=True)}
    return [shapely.make_valid(by_seed[i].intersection(clip)) for i in range(len(seeds))]


def _community_seeds(rng: np.random.Generator, n: int) -> np.ndarray:
    minx, miny, maxx, maxy = _URBAN_OUTLINE.bounds
    pts: list[tuple[float, float]] = []
    peak = float(_density(np.array([_OLD_TOWN[0]]), np.array([_OLD_TOWN[1]]))[0])
    while len(pts) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not _URBAN_OUTLINE.contains(Point(x, y)):
            continue
        if rng.random() < float(_density(np.array([x]), np.array([y]))[0]) / peak:
            pts.append((x, y))
    seeds = np.array(pts)
    for _ in range(2):  # two Lloyd steps: even out slivers, keep the crowding
        cells = _voronoi_cells(seeds, _URBAN_OUTLINE)
        seeds = 0.5 * seeds + 0.5 * np.array([c.centroid.coords[0] for c in cells])
    return seeds


def _group_cells(cells: list[Polygon], seeds: np.ndarray, seats: np.ndarray) -> np.ndarray:
    """Index of the seat nearest each cell's seed: the 街道/乡镇 each 社区/村 belongs to."""
    return cKDTree(seats).query(seeds)[1]


def _units(
    rng: np.random.Generator, village_centres: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    seeds = _community_seeds(rng, 135)
    cells = _voronoi_cells(seeds, _URBAN_OUTLINE)
    street_seats = np.array(
        [(x, y) for y in (1000.0, 3000.0, 5000.0) for x in (1200.0, 3600.0, 6000.0)]
    ) + rng.uniform(-250, 250, (9, 2))
    street_of = _group_cells(cells, seeds, street_seats)
    rural_clip = shapely.box(*_RURAL_BOX)
    vcells = _voronoi_cells(village_centres, rural_clip)
    township_of = _group_cells(vcells, village_centres, np.array(_TOWNSHIP_SEATS))

    names = [f"{stem}{suf}社区" for suf in _COMMUNITY_SUFFIXES for stem in _COMMUNITY_STEMS]
    rows: list[dict[str, object]] = []
    street_rows: list[dict[str, object]] = []
    for s in range(len(street_seats)):
        code = f"{DISTRICT_CODE}{s + 1:03d}"
        members = [i for i in np.argsort(seeds[:, 1] * 10_000 + seeds[:, 0]) if street_of[i] == s]
        for k, i in enumerate(members):
            rows.append(
                {
                    "code": f"{code}{k + 1:03d}",
                    "name": names[len(rows)],
                    "street_code": code,
                    "kind": "社区",
                    "geometry": cells[i],
                }
            )
        street_rows.append(
            {
                "code": code,
                "name": _STREET_NAMES[s],
                "kind": "街道",
                "geometry": shapely.union_all([cells[i] for i in members]),
            }
        )
    village_names = [f"{sur}{suf}" for suf in _VILLAGE_SUFFIXES for sur in _VILLAGE_SURNAMES]
    for t in range(len(_TOWNSHIP_SEATS)):
        code = f"{DISTRICT_CODE}{100 + t:03d}"
        members = [i for i in range(len(village_centres)) if township_of[i] == t]
        for k, i in enumerate(members):
            rows.append(
                {
                    "code": f"{code}{200 + k + 1:03d}",
                    "name": village_names[i * 7 % 180],
                    "street_code": code,
                    "kind": "村",
                    "geometry": vcells[i],
                    "_centre": i,
                }
            )
        street_rows.append(
            {
                "code": code,
                "name": _TOWNSHIP_NAMES[t],
                "kind": "乡镇",
                "geometry": shapely.union_all([vcells[i] for i in members]),
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(street_rows)


def _largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    raw = shares / shares.sum() * total
    out = np.floor(raw).astype(np.int64)
    out[np.argsort(-(raw - out), kind="stable")[: total - int(out.sum())]] += 1
    return out


def _population(rng: np.random.Generator, units: pd.DataFrame) -> pd.DataFrame:
    urban = (units["kind"] == "社区").to_numpy()
    cx = np.array([g.centroid.x for g in units["geometry"]])
    cy = np.array([g.centroid.y for g in units["geometry"]])
    area_km2 = np.array([g.area for g in units["geometry"]]) / 1e6
    weight = area_km2 * _density(cx, cy) ** 1.4 * rng.lognormal(0, 0.25, len(units))
    elderly = np.zeros(len(units), dtype=np.int64)
    elderly[urban] = _largest_remainder(weight[urban], ELDERLY_URBAN_TOTAL)
    village_residents = rng.integers(450, 2600, (~urban).sum())
    share = np.where(urban, rng.uniform(0.15, 0.24, len(units)), 0.0)
    share[~urban] = rng.uniform(0.21, 0.29, (~urban).sum())
    elderly[~urban] = np.round(village_residents * share[~urban]).astype(np.int64)
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


# --------------------------------------------------------------------------- facilities


def _facilities(
    rng: np.random.Generator,
    units: pd.DataFrame,
    pop: pd.DataFrame,
    net: _Net,
    village_nodes: list[list[int]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    xy = np.array(net.xy)
    tree = cKDTree(xy)

    def near(x: float, y: float) -> tuple[float, float]:
        node = tree.query((x, y))[1]
        ang = rng.uniform(0, 2 * np.pi)
        return float(xy[node, 0] + 18 * np.cos(ang)), float(xy[node, 1] + 18 * np.sin(ang))

    urban = units[units["kind"] == "社区"].reset_index(drop=True)
    cent = np.array([g.representative_point().coords[0] for g in urban["geometry"]])
    closeness = np.exp(
        -((np.hypot(cent[:, 0] - _OLD_TOWN[0], cent[:, 1] - _OLD_TOWN[1]) / 1700.0) ** 2)
    )
    chosen = rng.choice(len(urban), 18, replace=False, p=closeness / closeness.sum())
    rows = []
    for k, i in enumerate(sorted(chosen)):
        x, y = near(*cent[i])
        floor = float(rng.choice([200, 260, 320, 450, 600, 750]))
        rows.append(
            {
                "id": f"F{k + 1:03d}",
                "name": f"{urban['name'][i]}日间照料中心",
                "type": "社区日间照料中心",
                "x": x,
                "y": y,
                "floor_area_m2": floor,
                "beds": int(rng.choice([0, 6, 10, 12, 15])),
                "land_area_m2": float(round(floor * rng.uniform(1.2, 2.0), -1)),
            }
        )
    hub = int(np.argmax(closeness))
    for name, ftype, floor, beds, land, at in [
        ("人民路街道综合养老服务中心", "街道综合养老服务中心", 2100.0, 60, 2600.0, cent[hub]),
        ("演示区社会福利院", "养老院", 9800.0, 1300, 14500.0, (1300.0, 2000.0)),
        ("迎宾颐养院", "养老院", 5200.0, 900, 7800.0, (6400.0, 5200.0)),
    ]:
        x, y = near(*at)
        rows.append(
            {
                "id": f"F{len(rows) + 1:03d}",
                "name": name,
                "type": ftype,
                "x": x,
                "y": y,
                "floor_area_m2": floor,
                "beds": beds,
                "land_area_m2": land,
            }
        )
    villages = units[units["kind"] == "村"].reset_index(drop=True)
    with_home = sorted(
        {0, 1, 2} | set(rng.choice(np.arange(3, len(villages)), 5, replace=False).tolist())
    )
    for i in with_home:
        centre = int(villages["_centre"][i])
        x, y = near(*xy[village_nodes[centre][len(village_nodes[centre]) // 2]])
        floor = float(rng.choice([120, 160, 220, 300]))
        rows.append(
            {
                "id": f"F{len(rows) + 1:03d}",
                "name": f"{villages['name'][i]}幸福院",
                "type": "农村幸福院",
                "x": x,
                "y": y,
                "floor_area_m2": floor,
                "beds": int(rng.choice([3, 5, 8, 10])),
                "land_area_m2": float(round(floor * rng.uniform(1.5, 2.5), -1)),
            }
        )
    facilities = pd.DataFrame(rows)

    cand: list[tuple[float, float, float, str]] = []
    minx, miny, maxx, maxy = _URBAN_OUTLINE.bounds
    while len(cand) < 52:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if _URBAN_OUTLINE.buffer(-100).contains(Point(x, y)):
            cand.append((*near(x, y), float(round(rng.uniform(400, 3000), -1)), "城区地块"))
    for i in range(len(villages)):
        if i not in with_home:
            centre = int(villages["_centre"][i])
            node = village_nodes[centre][len(village_nodes[centre]) // 2]
            cand.append(
                (
                    *near(*xy[node]),
                    float(round(rng.uniform(300, 900), -1)),
                    f"{villages['name'][i]}村委会闲置用房",
                )
            )
    candidates = pd.DataFrame(
        [
            {
                "id": f"C{k + 1:03d}",
                "name": f"{label}{k + 1:02d}" if label == "城区地块" else label,
                "x": x,
                "y": y,
                "land_area_m2": land,
            }
            for k, (x, y, land, label) in enumerate(cand)
        ]
    )
    return facilities, candidates


# --------------------------------------------------------------------------- assembly


def _keep_connected(net: _Net) -> _Net:
    """Drop nodes and ways outside the largest connected component (as a real extract would)."""
    u = [a for nodes, _ in net.ways for a in nodes[:-1]]
    v = [b for nodes, _ in net.ways for b in nodes[1:]]
    n = len(net.xy)
    adj = coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
    _, label = connected_components(adj, directed=False)
    keep = label == np.bincount(label).argmax()
    used = np.zeros(n, dtype=bool)
    used[u + v] = True
    keep &= used
    new_id = np.cumsum(keep) - 1
    out = _Net(xy=[p for p, k in zip(net.xy, keep, strict=True) if k])
    for nodes, tags in net.ways:
        if keep[nodes[0]]:
            out.add_way([int(new_id[i]) for i in nodes], tags)
    return out


def _rule_attributes(rng: np.random.Generator, facilities: pd.DataFrame, net: _Net) -> pd.DataFrame:
    """Nursing beds, 幸福院 grades and a county care home, for the rule-book checks."""
    out = facilities.copy()
    share = out["type"].map({"养老院": 0.62}).fillna(0.0)
    out["nursing_beds"] = np.round(out["beds"] * share).astype(int)
    out["grade"] = ""
    homes = out.index[out["type"] == "农村幸福院"]
    out.loc[homes, "grade"] = rng.choice(["示范型", "基本型"], len(homes), p=[0.4, 0.6])
    x, y = net.xy[int(np.argmin([abs(px - 2900.0) + abs(py - 900.0) for px, py in net.xy]))]
    county = {
        "id": f"F{len(out) + 1:03d}",
        "name": "演示区特困人员供养服务中心",
        "type": "县级特困供养服务机构",
        "x": x + 25.0,
        "y": y + 10.0,
        "floor_area_m2": 3600.0,
        "beds": 150,
        "land_area_m2": 6200.0,
        "nursing_beds": 150,
        "grade": "",
    }
    return pd.concat([out, pd.DataFrame([county])], ignore_index=True)


def _compounds(rng: np.random.Generator, units: pd.DataFrame, pop: pd.DataFrame) -> pd.DataFrame:
    """Residential compounds (小区) with households and the elderly-care rooms they provide."""
    urban = pop[units["kind"].to_numpy() == "社区"].reset_index(drop=True)
    picks = np.sort(rng.choice(len(urban), 40, replace=False))
    rows = []
    for k, i in enumerate(picks):
        households = int(rng.integers(300, 2600))
        new = rng.random() < 0.35
        per100 = rng.uniform(18, 40) if new else rng.uniform(8, 28)
        rows.append(
            {
                "id": f"X{k + 1:03d}",
                "name": f"{urban['name'][i][:-2]}{k % 3 + 1}号院",
                "community_code": urban["code"][i],
                "households": households,
                "status": "新建" if new else "既有",
                "care_area_m2": float(round(households / 100 * per100, -1)),
            }
        )
    return pd.DataFrame(rows)
