"""Candidate sites when the bureau has none.

* ``kmeans`` -- cluster the elderly the existing facilities leave uncovered (scikit-learn's
  k-means, weighted by elderly, fixed seed), and put a candidate at the street node nearest
  each cluster centre: where the unmet need concentrates;
* ``nodes`` -- every ``every``-th street node on a residential street (every node with 1).

Candidates inside ``excluded_areas`` (water, parks, protected land) are dropped and counted.
The result is a WGS-84 point layer like a candidates file: ``id``, ``name``, ``node``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
from scipy.spatial import cKDTree

from siting._errors import ModelError
from siting.network.arrays import WalkNetwork, as_network

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)


def generate_candidates(
    network: WalkNetwork | nx.MultiDiGraph,
    demand: gpd.GeoDataFrame,
    *,
    method: Literal["kmeans", "nodes"],
    k: int = 30,
    every: int = 10,
    uncovered: np.ndarray | None = None,
    excluded_areas: gpd.GeoDataFrame | None = None,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """Candidate sites on the projected walking network; see the module docstring.

    ``demand`` are demand points in the network's CRS with ``weight`` and ``node``;
    ``uncovered`` marks the ones no existing facility covers (default: all).
    """
    nodes = as_network(network).nodes()
    if method == "kmeans":
        from sklearn.cluster import KMeans  # imported only when clustering

        mask = np.ones(len(demand), dtype=bool) if uncovered is None else np.asarray(uncovered)
        pts = demand[mask]
        if len(pts) == 0:
            raise ModelError("every demand point is covered already: no need to cluster")
        k = min(k, len(pts))
        xy = np.column_stack([pts.geometry.x, pts.geometry.y])
        km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(
            xy, sample_weight=pts["weight"].to_numpy()
        )
        weight = np.bincount(km.labels_, weights=pts["weight"].to_numpy(), minlength=k)
        _, pos = cKDTree(nodes[["x", "y"]].to_numpy()).query(km.cluster_centers_)
        order = np.argsort(-weight, kind="stable")
        chosen = list(dict.fromkeys(int(nodes.index[pos[i]]) for i in order))
        prefix = "K"
    elif method == "nodes":
        lived = sorted(set(demand["node"].astype(int)))  # nodes on residential streets
        chosen = lived[:: max(1, every)]
        prefix = "N"
    else:
        raise ModelError(f"candidate `method` must be 'kmeans' or 'nodes', got {method!r}")
    cand = gpd.GeoDataFrame(
        {"node": chosen}, geometry=nodes.loc[chosen].geometry.to_numpy(), crs=nodes.crs
    )
    if excluded_areas is not None and len(excluded_areas):
        inside = gpd.sjoin(
            cand, excluded_areas.to_crs(cand.crs)[["geometry"]], predicate="intersects", how="inner"
        ).index.unique()
        log.info(
            "candidate generation: %d candidate(s) fall in excluded land and are dropped",
            len(inside),
        )
        cand = cand.drop(index=inside)
    cand = cand.reset_index(drop=True)
    cand["id"] = [f"{prefix}{i + 1:03d}" for i in range(len(cand))]
    cand["name"] = [
        f"生成候选点 {i} (街道节点 {n})" for i, n in zip(cand["id"], cand["node"], strict=True)
    ]
    log.info("candidate generation (%s): %d candidates", method, len(cand))
    return cand.set_index("id", drop=False).rename_axis("id").to_crs(4326)
