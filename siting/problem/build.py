"""The seam between geography and models: :class:`Problem`, built by :func:`build_problem`.

Everything left of it is geography (layers, the walking network, snapping); everything right of
it (models, coverage, reports) reads these arrays. A :class:`Problem` holds

- ``demand``: one row per demand point — ``community`` (code), ``node``, ``weight`` (elderly),
  ``radius_m`` (the circle that applies: 社区 the 一刻钟 walk, 村 1,000 m), ``snap_m``, and
  ``x``/``y`` in the analysis CRS;
- ``sites``: one row per site column — ``id``, ``role`` (``existing``: an open circle
  facility; ``candidate``; ``excluded``: a candidate that must not open), ``name``, ``node``,
  ``snap_m``, ``kind`` (社区/村, by the polygon it stands in), ``capacity`` (elderly it can
  serve, NaN when unknown), ``cost`` (of opening), ``land_area_m2``, ``x``/``y``;
- ``cost``: the demand x site matrix of walking metres, each pair within the point's radius;
- ``cover``: the same as booleans, the coverage sets every covering model and summary uses.

Built from in-memory tables (no scenario file needed); frozen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

from siting._errors import ModelError
from siting._messages import preview
from siting.network import distances as costs
from siting.network.arrays import WalkNetwork, as_network
from siting.problem import demand
from siting.problem.cover import coverage_sets, covered_by
from siting.problem.sites import snap_sites

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)

ROLES = ("existing", "candidate", "excluded")


@dataclass(frozen=True)
class Problem:
    """Demand points, the site table and the cost matrix of one siting question."""

    demand: pd.DataFrame
    sites: pd.DataFrame
    cost: sparse.csr_matrix
    network: costs.WalkArrays | None = field(default=None, repr=False)  # for longer walks
    cover: sparse.csr_matrix = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n_demand, n_sites = self.cost.shape
        if len(self.demand) != n_demand or len(self.sites) != n_sites:
            raise ModelError(
                f"the cost matrix is {n_demand} x {n_sites} but there are {len(self.demand)} "
                f"demand points and {len(self.sites)} sites"
            )
        bad = sorted(set(self.sites["role"]) - set(ROLES))
        if bad:
            raise ModelError(f"site roles must be {ROLES}, got {bad}")
        twice = self.sites["id"][self.sites["id"].duplicated()].tolist()
        if twice:
            raise ModelError(f"site ids must be unique; repeated: {preview(twice)}")
        object.__setattr__(self, "cover", coverage_sets(self.cost, self.radius_m))

    @property
    def weights(self) -> NDArray[np.float64]:
        return self.demand["weight"].to_numpy(dtype=float)

    @property
    def radius_m(self) -> NDArray[np.float64]:
        return self.demand["radius_m"].to_numpy(dtype=float)

    @property
    def site_ids(self) -> list[str]:
        return [str(s) for s in self.sites["id"]]

    def columns(self, role: str) -> NDArray[np.int64]:
        """Column positions of the sites with ``role``."""
        return np.flatnonzero(self.sites["role"].to_numpy() == role)

    def column_of(self, ids: Iterable[str]) -> NDArray[np.int64]:
        """Column positions of site ids; an unknown id is an error naming it."""
        where = {s: k for k, s in enumerate(self.site_ids)}
        wanted = [str(i) for i in ids]
        unknown = [i for i in wanted if i not in where]
        if unknown:
            raise ModelError(f"site ids {preview(unknown)} are not sites of this problem")
        return np.array([where[i] for i in wanted], dtype=np.int64)

    def covered(self, open_columns: Sequence[int] | NDArray[np.int64]) -> NDArray[np.bool_]:
        """Demand points within their circle of at least one of the open columns."""

        return covered_by(self.cover, open_columns)

    def uncoverable(self) -> NDArray[np.bool_]:
        """Demand points no usable site (existing or candidate) reaches within their circle."""
        usable = np.r_[self.columns("existing"), self.columns("candidate")]
        return ~self.covered(usable)

    def with_roles(self, roles: dict[str, str]) -> Problem:
        """The same problem with some sites' roles changed (``{id: role}``)."""
        self.column_of(roles)
        sites = self.sites.assign(
            role=[roles.get(s, r) for s, r in zip(self.site_ids, self.sites["role"], strict=True)]
        )
        return Problem(self.demand, sites, self.cost, self.network)

    def walk_costs(self, cutoff_m: float) -> sparse.csr_matrix:
        """Walking metres from every demand point to every site up to ``cutoff_m`` (not the
        circle), for the walk models (p-median, p-center)."""
        if self.network is None:
            raise ModelError("this problem was built without its network: longer walks need it")
        return costs.cost_matrix(
            self.network,
            self.demand["node"],
            self.sites["node"],
            cutoff_m=cutoff_m,
            demand_offset_m=self.demand["snap_m"],
            site_offset_m=self.sites["snap_m"],
        )


def build_problem(
    communities: gpd.GeoDataFrame,
    network: WalkNetwork | nx.MultiDiGraph,
    *,
    arrays: costs.WalkArrays | None = None,
    **placement: Any,
) -> Problem:
    """Build a :class:`Problem` from in-memory tables and a projected walking graph.

    Parameters
    ----------
    communities
        社区/村 polygons in the graph's CRS, indexed by code, with ``kind`` (社区/村) and
        ``elderly_60plus``.
    network
        The projected walking network: a :class:`~siting.network.arrays.WalkNetwork` (what
        :func:`siting.network.walk_network_from_osm_file` reads) or an osmnx ``MultiDiGraph``
        in metres.
    facilities, candidates
        Points (any CRS), indexed by id; facilities with ``type``. Facilities whose type is in
        ``circle_types`` are the existing circle sites; the others are not sites.
    urban_radius_m, rural_radius_m
        The circles: 社区 points within ``urban_radius_m`` (the 一刻钟 walk), 村 points within
        ``rural_radius_m`` of a site count as covered.
    excluded
        Candidate ids that must not open.
    capacity_column, candidate_capacity, elderly_per_place
        Places per site from this column of the facilities and candidates (candidates
        without one take ``candidate_capacity``); capacity = places x ``elderly_per_place``.
    cost_column
        The candidates' cost of opening.
    snap_warn_m
        Sites farther than this from any street are reported (200 m).
    arrays, points
        The graph's arrays and demand points when already computed (reuse).

    Every keyword but ``arrays`` is :func:`placed`'s.
    """
    net = as_network(network)
    arrays = arrays if arrays is not None else net.arrays
    points, sites = placed(communities, net, **placement)
    return Problem(points, sites, circle_costs(arrays, points, sites), arrays)


def placed(
    communities: gpd.GeoDataFrame,
    network: WalkNetwork | nx.MultiDiGraph,
    *,
    facilities: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    circle_types: Sequence[str],
    urban_radius_m: float,
    rural_radius_m: float,
    excluded: Iterable[str] = (),
    capacity_column: str | None = None,
    candidate_capacity: float | None = None,
    elderly_per_place: float = 1.0,
    cost_column: str | None = None,
    snap_warn_m: float = 200.0,
    points: gpd.GeoDataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demand and site tables of :func:`build_problem` (parameters there), before the
    cost matrix, so a caller holding matrices for the same inputs can reuse one."""
    net = as_network(network)
    crs = net.crs
    pts = points if points is not None else demand.demand_points(communities, net)
    kind = communities["kind"].reindex(pts["community"]).to_numpy()
    radius = np.where(kind == "村", rural_radius_m, urban_radius_m)
    sites = site_table(
        facilities,
        candidates,
        circle_types=circle_types,
        excluded=excluded,
        capacity_column=capacity_column,
        candidate_capacity=candidate_capacity,
        elderly_per_place=elderly_per_place,
        cost_column=cost_column,
    )
    located = pd.concat([facilities.geometry.to_crs(crs), candidates.geometry.to_crs(crs)])
    located = gpd.GeoDataFrame(
        geometry=located.loc[sites["id"]].to_numpy(), crs=crs, index=pd.Index(sites["id"])
    )
    snapped = snap_sites(located, net, role="sites", warn_beyond_m=snap_warn_m)
    sites = sites.assign(
        node=snapped["node"].to_numpy(),
        snap_m=snapped["snap_m"].to_numpy(),
        kind=site_kind(located, communities),
        x=located.geometry.x.to_numpy(),
        y=located.geometry.y.to_numpy(),
    )
    points_table = pd.DataFrame(
        {
            "community": pts["community"].to_numpy(),
            "node": pts["node"].to_numpy(),
            "weight": pts["weight"].to_numpy(dtype=float),
            "radius_m": radius.astype(float),
            "snap_m": pts["snap_m"].to_numpy(dtype=float),
            "x": pts.geometry.x.to_numpy(),
            "y": pts.geometry.y.to_numpy(),
        }
    )
    return points_table, sites


def circle_costs(
    arrays: costs.WalkArrays, points: pd.DataFrame, sites: pd.DataFrame
) -> sparse.csr_matrix:
    """Walking metres from each demand point to each site within the point's own circle."""
    radius = points["radius_m"].to_numpy(dtype=float)
    return costs.cost_matrix(
        arrays,
        points["node"],
        sites["node"],
        cutoff_m=float(radius.max()) if len(radius) else 1.0,
        demand_radius_m=radius,
        demand_offset_m=points["snap_m"],
        site_offset_m=sites["snap_m"],
    )


def site_table(
    facilities: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    circle_types: Sequence[str],
    excluded: Iterable[str] = (),
    capacity_column: str | None = None,
    candidate_capacity: float | None = None,
    elderly_per_place: float = 1.0,
    cost_column: str | None = None,
) -> pd.DataFrame:
    """The site columns: circle facilities (``existing``), then candidates (``candidate``, or
    ``excluded``), with name, capacity, cost and land. Unknown excluded ids are an error."""
    serving = facilities[facilities["type"].isin(list(circle_types))]
    other = facilities.loc[~facilities.index.isin(serving.index), "type"]
    if len(other):
        log.info(
            "%d facilities are not circle facilities (types %s) and count only for land",
            len(other),
            sorted(other.unique()),
        )
    out = [
        ("existing", serving, pd.Series(False, index=serving.index)),
        ("candidate", candidates, candidates.index.isin(list(excluded))),
    ]
    unknown = sorted(set(excluded) - set(candidates.index))
    if unknown:
        raise ModelError(f"excluded ids {preview(unknown)} are not candidates")
    frames = []
    for role, frame, is_excluded in out:
        places = _numbers(frame, capacity_column)
        if role == "candidate" and candidate_capacity is not None:
            places = places.fillna(candidate_capacity)
        frames.append(
            pd.DataFrame(
                {
                    "id": frame.index.astype(str),
                    "role": np.where(np.asarray(is_excluded), "excluded", role),
                    "name": frame["name"] if "name" in frame else frame.index.astype(str),
                    "capacity": (places * elderly_per_place).to_numpy(),
                    "cost": (
                        _numbers(frame, cost_column).fillna(0.0)
                        if role == "candidate"
                        else pd.Series(0.0, index=frame.index)
                    ).to_numpy(),
                    "land_area_m2": _numbers(frame, "land_area_m2").to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _numbers(frame: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None or column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def site_kind(points: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> NDArray[np.str_]:
    """社区 or 村 for each site by the polygon it stands in (社区 when in none)."""
    joined = gpd.sjoin(
        points[["geometry"]], communities[["kind", "geometry"]], predicate="intersects", how="left"
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["kind"].reindex(points.index).fillna("社区").to_numpy()
