"""The walking network downloaded from OpenStreetMap for a district polygon, through osmnx and
Overpass, with the walk rule's filter and a cache keyed by the rule's version."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely

from siting._errors import NetworkError
from siting.network._common import _finish, metric_crs
from siting.network.arrays import WalkNetwork
from siting.network.walk_rule import (
    _EXTRA_WAY_TAGS,
    _RULE_VERSION,
    FOOT_ONLY_HIGHWAYS,
    WALKABLE_HIGHWAYS,
    why_not_walked,
)

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)


def walk_network_from_download(polygon: shapely.Geometry, **options: Any) -> WalkNetwork:
    """:func:`walk_graph_from_download`'s graph as a :class:`~siting.network.arrays.WalkNetwork`."""
    return WalkNetwork.from_graph(walk_graph_from_download(polygon, **options), source="download")


def walk_graph_from_download(
    polygon: shapely.Geometry,
    *,
    crs: str,
    cache_dir: str | Path,
    attempts: int = 3,
    deadline_s: float = 600.0,
    backoff_s: float = 5.0,
) -> nx.MultiDiGraph:
    """Download the walking network inside ``polygon`` (WGS-84) with osmnx, when online.

    Overpass is asked for the ways whose ``highway`` value pedestrians use (the walking rule,
    module docstring); ``foot``, ``access`` and ``motorroad`` are applied to the edges before
    the graph is simplified. The download is cached as GraphML in ``cache_dir`` (written
    atomically, so an interrupted run leaves no partial file; an unreadable cache file is
    deleted and fetched again). At most
    ``attempts`` tries, the whole download bounded by ``deadline_s`` (osmnx itself re-tries
    some server answers without limit). A failure raises :class:`NetworkError` pointing to the
    offline way: an OSM extract given as ``inputs.network.osm_file``.
    """
    import concurrent.futures
    import hashlib
    import time

    import osmnx as ox
    import requests

    from siting.io.write import write_with

    crs = metric_crs(crs)
    stamp = (ox.__version__ + _RULE_VERSION).encode()
    key = hashlib.sha256(shapely.to_wkb(polygon) + stamp).hexdigest()[:16]
    cached = Path(cache_dir) / f"walk_{key}.graphml"
    if cached.exists():
        try:
            stored = ox.load_graphml(cached)
            log.info("walking network from the download cache %s", cached)
            return ox.project_graph(stored, to_crs=crs)
        except Exception as exc:  # a damaged cache file is never used
            log.warning("download cache %s is unreadable (%s): fetching again", cached, exc)
            cached.unlink()
    saved = (ox.settings.use_cache, ox.settings.overpass_rate_limit, ox.settings.useful_tags_way)
    ox.settings.use_cache, ox.settings.overpass_rate_limit = False, False
    ox.settings.useful_tags_way = list(saved[2]) + [t for t in _EXTRA_WAY_TAGS if t not in saved[2]]
    failures: list[str] = []
    start = time.monotonic()
    G: nx.MultiDiGraph | None = None
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        for attempt in range(1, attempts + 1):
            left = deadline_s - (time.monotonic() - start)
            if left <= 0:
                failures.append(f"the {deadline_s:.0f} s deadline passed")
                break
            job = pool.submit(
                ox.graph_from_polygon,
                polygon,
                network_type="walk",  # both directions of one-way streets
                custom_filter=_OVERPASS_WALKABLE,
                retain_all=True,
                simplify=False,
            )
            try:
                G = job.result(timeout=left)
                break
            except concurrent.futures.TimeoutError:
                failures.append(f"attempt {attempt}: no answer within {left:.0f} s")
                break
            except (
                requests.RequestException,
                ox._errors.InsufficientResponseError,
                ox._errors.ResponseStatusCodeError,
                ValueError,
            ) as exc:
                failures.append(f"attempt {attempt}: {type(exc).__name__}: {exc}"[:300])
                if attempt < attempts:
                    time.sleep(min(backoff_s * attempt, max(left - 1.0, 0.0)))
    finally:
        ox.settings.use_cache, ox.settings.overpass_rate_limit, ox.settings.useful_tags_way = saved
        pool.shutdown(wait=False, cancel_futures=True)
    if G is None:
        raise NetworkError(
            "downloading the walking network failed (" + "; ".join(failures) + "). Work "
            "offline instead: save an OpenStreetMap extract of the district as .osm XML and set "
            "`inputs.network.osm_file` (or use the bureau's road layer, `road_layer`)"
        )
    drop = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if why_not_walked(d)]
    G.remove_edges_from(drop)
    log.info("download: %d edge(s) pedestrians may not use left out", len(drop))
    G = _finish(G, source="download", class_nodes=False)  # as osmnx simplified downloads
    write_with(cached, lambda tmp: ox.save_graphml(G, tmp))
    return ox.project_graph(G, to_crs=crs)


_OVERPASS_WALKABLE = (
    '["highway"~"^(' + "|".join(sorted(WALKABLE_HIGHWAYS | FOOT_ONLY_HIGHWAYS)) + ')$"]'
)
"""The Overpass filter of a download: the ``highway`` values of the walking rule."""
