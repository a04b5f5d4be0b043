"""What the scenarios of one batch (or one :class:`~siting.pipeline.study.Study`) reuse: walking
networks and cost matrices, and :func:`network_for`, the network stage with that reuse."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
from scipy import sparse

from siting import network
from siting._record import Note, recording, warn
from siting.network.arrays import WalkNetwork
from siting.scenario import Scenario

log = logging.getLogger(__name__)


class RunCache:
    """What scenarios sharing inputs can reuse within one process: walking networks (by file,
    its size and time, and the CRS) and cost matrices (by network and the exact demand and
    site inputs, radii included). Hits and misses are logged."""

    def __init__(self) -> None:
        self.networks: dict[tuple[object, ...], WalkNetwork] = {}
        self.matrices: dict[tuple[object, ...], sparse.csr_matrix] = {}
        self.notes: dict[tuple[object, ...], tuple[Note, ...]] = {}  # said building a network
        self.hits = 0

    @staticmethod
    def network_key(path: Path, crs: str, *options: object) -> tuple[object, ...]:
        """A network file by name, size and time, the CRS, and the options that read it."""
        stat = path.stat()
        return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, crs, repr(options))

    @staticmethod
    def matrix_key(net: tuple[object, ...], *arrays: object) -> tuple[object, ...]:
        digest = hashlib.sha256()
        for a in arrays:
            digest.update(np.ascontiguousarray(np.asarray(a, dtype=np.float64)).tobytes())
        return (*net, digest.hexdigest())


def network_for(
    sc: Scenario, crs: str, cache: RunCache | None, streets: gpd.GeoDataFrame
) -> tuple[WalkNetwork, tuple[object, ...]]:
    """The walking network a scenario names (OSM file, road layer or download), with a key
    for reuse across the scenarios of a batch."""
    net = sc.inputs.network
    area_wgs = None
    if net.path is not None:
        walkable = sorted(net.walkable.items())  # another class table is another network
        key = RunCache.network_key(Path(net.path), crs, net.highway_column, walkable)
    else:  # a download: the district and 1 km around it, so circles at the edge see streets
        area = gpd.GeoSeries([streets.to_crs(crs).union_all().buffer(1000.0)], crs=crs)
        area_wgs = area.to_crs(4326).iloc[0]
        key = ("download", hashlib.sha256(area_wgs.wkb).hexdigest(), crs)
    if cache is not None and key in cache.networks:
        cache.hits += 1
        log.info("reusing the walking network of an earlier scenario")
        for n in cache.notes.get(key, ()):  # what building it said is part of this run's record
            warn(n.code, n.message, n.ids, zh=n.message_zh)
        return cache.networks[key], key
    with recording() as rec:
        walk = _build(sc, crs, area_wgs)
    for n in rec.notes:
        warn(n.code, n.message, n.ids, zh=n.message_zh)
    walk.arrays  # noqa: B018  (built once here, shared by every scenario reusing the network)
    if cache is not None:
        cache.networks[key] = walk
        cache.notes[key] = tuple(rec.notes)
    return walk, key


def _build(sc: Scenario, crs: str, area_wgs: object) -> WalkNetwork:
    net = sc.inputs.network
    if net.osm_file is not None:
        return network.walk_network_from_osm_file(net.osm_file, crs=crs)
    if net.road_layer is not None:
        return network.walk_network_from_road_layer(
            net.road_layer,
            crs=crs,
            coord_system=net.coord_system,
            highway_column=net.class_column,
            walkable=net.walkable,
            encoding=net.encoding,
        )
    return network.walk_network_from_download(area_wgs, crs=crs, cache_dir=net.cache_dir)
