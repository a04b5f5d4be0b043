"""Stage 2: the walking network, from an OSM file, a bureau's road layer or a download, as arrays.

Every way of getting a network ends in one :class:`WalkNetwork` (node ids and coordinates, edges
with their length and OSM class); :mod:`siting.network.distances` searches it.
"""

from siting.network._common import log_components, metric_crs
from siting.network.arrays import WalkNetwork
from siting.network.download import walk_graph_from_download, walk_network_from_download
from siting.network.osm_file import walk_graph_from_osm_file, walk_network_from_osm_file
from siting.network.road_layer import walk_graph_from_road_layer, walk_network_from_road_layer
from siting.network.walk_rule import (
    FOOT_ALLOWED,
    FOOT_ONLY_HIGHWAYS,
    KNOWN_HIGHWAYS,
    NOT_WALKABLE_HIGHWAYS,
    WALKABLE_HIGHWAYS,
    classify_roads,
    road_classes,
    why_not_walked,
)

__all__ = [
    "FOOT_ALLOWED",
    "FOOT_ONLY_HIGHWAYS",
    "KNOWN_HIGHWAYS",
    "NOT_WALKABLE_HIGHWAYS",
    "WALKABLE_HIGHWAYS",
    "WalkNetwork",
    "classify_roads",
    "log_components",
    "metric_crs",
    "road_classes",
    "walk_graph_from_download",
    "walk_graph_from_osm_file",
    "walk_graph_from_road_layer",
    "walk_network_from_download",
    "walk_network_from_osm_file",
    "walk_network_from_road_layer",
    "why_not_walked",
]


def __getattr__(name: str) -> object:
    """Names the old module ``siting.network`` had, for scripts (with a DeprecationWarning)."""
    from siting._moved import from_package

    return from_package(__name__, name)
