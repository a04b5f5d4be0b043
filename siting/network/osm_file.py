"""The walking network: which ways are streets, from an OSM file, a road layer or a download.

One walking rule decides what a pedestrian can use, for all three sources (:func:`why_not_walked`):

1. Only a way with a ``highway`` tag is a street. Buildings, landuse, railways, waterways,
   natural features, barriers and every other outline never become edges, whatever else they
   carry (a pedestrian square drawn as an ``area=yes`` ring is a street: it is
   ``highway=pedestrian``).
2. The ``highway`` value must be one pedestrians use (:data:`WALKABLE_HIGHWAYS`: trunk, primary,
   secondary, tertiary and their links, unclassified, residential, living_street, service,
   pedestrian, footway, path, steps, track, bridleway, corridor, elevator, road). Never walked
   (:data:`NOT_WALKABLE_HIGHWAYS`): motorway and motorway_link (no pedestrians by law,
   道路交通安全法 第六十七条), ways under construction, proposed, planned, abandoned, disused or
   razed,
   raceway, bus_guideway and busway (buses only), platform (a stop's waiting area, not a way
   through), rest_area, services, escape, emergency_bay, bus_stop, via_ferrata and no.
   ``cycleway`` is walked only with ``foot=yes|designated|permissive``. Any other value (a
   typo, a node's tag put on a way) is not a street: such ways are left out and reported
   (``osm_unknown_highway``).
3. ``foot=no`` and ``foot=use_sidepath`` (the sidewalk is mapped as its own way) drop a way;
   ``access=private|no`` and ``motorroad=yes`` drop it unless ``foot=yes|designated|permissive``.

Streets tagged ``sidewalk=separate`` are kept (osmnx's walk filter drops them): their sidewalks
run alongside, so walks hardly change, and a sidewalk mapped with gaps cannot cut the network.

An OSM file (XML or PBF) is streamed by pyosmium in two filtered passes (the walkable ways, then
only their nodes), so no building or landuse node ever enters the network, and straight into
arrays (:class:`~siting.walknet.WalkNetwork`, simplified by osmnx's rules); an editor's file that
marks deleted objects (JOSM ``action="delete"``, which libosmium does not read) or writes a way's
nodes after its tags (libosmium keeps only the first ones) is filtered through an XML extract
first. A download asks Overpass for the walkable
``highway`` values only and applies rule 3 to the edges. A road layer's class column is read
through the built-in table ``network_classes.yaml`` (高速公路, 快速路 -> motorway; 主干路 ->
primary; 次干路 -> secondary; 支路, 街巷 -> residential; 内部道路 -> service; 人行道 -> footway;
步行街 -> pedestrian; 国道 -> trunk ... 村道 -> unclassified; sources in the file) and the
scenario's ``inputs.network.walkable``; OSM values pass as themselves; an unknown class stops the
run; a layer without a class column is read only with ``highway_column=None`` (every line
walked, reported). Every edge's ``highway`` holds the OSM value, which :mod:`siting.demand`
reads to find the streets people live on.

Walking ignores one-way rules, so every way is read in both directions; unwalkable ways are
dropped before the graph is simplified to intersections and dead ends. Disconnected pieces are
kept and reported: demand on an island is honestly unreachable.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import json
import logging
import re
import unicodedata
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from siting._errors import InputDataError, InputFileNotFoundError, NetworkError
from siting._messages import preview
from siting._record import preview_zh, warn
from siting.coords import GEOGRAPHIC_EPSG, to_wgs84
from siting.io.vector import read_vector
from siting.network.arrays import WalkNetwork, great_circle_m, simplify

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)

# fmt: off
WALKABLE_HIGHWAYS = frozenset({
    "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
    "tertiary", "tertiary_link", "unclassified", "residential", "living_street", "service",
    "pedestrian", "footway", "path", "steps", "track", "bridleway", "corridor", "elevator",
    "road",
})
# fmt: on
"""``highway`` values pedestrians use (subject to ``foot``, ``access`` and ``motorroad``)."""
FOOT_ONLY_HIGHWAYS = frozenset({"cycleway"})
"""``highway`` values walked only with ``foot=yes|designated|permissive``."""
# fmt: off
NOT_WALKABLE_HIGHWAYS = frozenset({
    "motorway", "motorway_link", "construction", "proposed", "planned", "abandoned",
    "disused", "razed", "raceway", "bus_guideway", "busway", "platform", "rest_area",
    "services", "escape", "emergency_bay", "bus_stop", "via_ferrata", "no",
})
# fmt: on
"""``highway`` values never walked."""
KNOWN_HIGHWAYS = WALKABLE_HIGHWAYS | FOOT_ONLY_HIGHWAYS | NOT_WALKABLE_HIGHWAYS
"""Every ``highway`` value a road class may stand for (``inputs.network.walkable``)."""
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})
# fmt: off
_NOT_STREET_KEYS = (  # what a way that is not a street is, for the log
    "building", "landuse", "railway", "waterway", "natural", "barrier", "amenity", "leisure",
    "man_made", "power", "boundary", "area",
)
# fmt: on
_EXTRA_WAY_TAGS = ("foot", "motorroad")
_RULE_VERSION = "walk-rule-3"  # part of the download cache key: a new rule fetches again


def _first(value: object) -> str:
    """osmnx stores merged tags as lists; take the first for classification."""
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def why_not_walked(tags: Mapping[str, object]) -> str | None:
    """``None`` when pedestrians may walk a way with these OSM tags, else the reason.

    The one walking rule of every source (see the module docstring).

    Examples
    --------
    >>> why_not_walked({"highway": "residential"}) is None
    True
    >>> why_not_walked({"building": "yes"})
    'building'
    >>> why_not_walked({"highway": "service", "access": "private", "foot": "yes"}) is None
    True
    >>> why_not_walked({"highway": "motorway"})
    'highway=motorway'
    >>> why_not_walked({"highway": "footway", "building": "yes"})
    'highway=footway on a building outline'
    """
    hw = _first(tags.get("highway"))
    if not hw:
        return next((key for key in _NOT_STREET_KEYS if _first(tags.get(key))), "no highway tag")
    for key in ("building", "landuse"):  # a highway tag on an outline does not make it a street
        value = _first(tags.get(key))
        if value and value != "no":
            return f"highway={hw} on a {key} outline"
    foot = _first(tags.get("foot"))
    allowed = foot in FOOT_ALLOWED
    if hw in NOT_WALKABLE_HIGHWAYS:
        return f"highway={hw}"
    if hw in FOOT_ONLY_HIGHWAYS:
        if not allowed:
            return f"highway={hw} without foot=yes"
    elif hw not in WALKABLE_HIGHWAYS:
        return f"unknown highway={hw}"
    if foot in ("no", "use_sidepath"):
        return f"foot={foot}"
    for key, barred in (("access", ("private", "no")), ("motorroad", ("yes",))):
        value = _first(tags.get(key))
        if value in barred and not allowed:
            return f"{key}={value}"
    return None


def walk_network_from_osm_file(path: str | Path, *, crs: str) -> WalkNetwork:
    """Read an OSM file (XML or PBF) into a projected :class:`~siting.walknet.WalkNetwork`.

    pyosmium streams the ways, then their nodes' locations; only ways the walking rule accepts
    become edges (module docstring), simplified to intersections and dead ends
    (:func:`siting.walknet.simplify`, osmnx's rules) and projected to ``crs`` in one vectorised
    step. No networkx graph is built.

    Parameters
    ----------
    path
        OpenStreetMap XML (``.osm``, also ``.osm.gz``/``.osm.bz2``), such as the demo city's
        file, or a ``.osm.pbf`` extract.
    crs
        The metric analysis CRS to project to (see :func:`siting.coords.analysis_crs`).
    """
    import tempfile

    crs = metric_crs(crs)
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"network file {str(path)!r} does not exist")
    fmt = _osm_format(path)
    if fmt != "pbf" and _edited(path):
        # an editor's or a history file marks deleted objects in ways libosmium does not read
        # (JOSM: action="delete"): the XML filter drops them first
        with tempfile.TemporaryDirectory() as tmp:
            streets = _street_extract(path, Path(tmp) / "streets.osm", name=path)
            return _read_ways(streets, crs, name=path, report=False, fmt="osm")
    return _read_ways(path, crs, name=path, report=True, fmt=fmt)


def walk_graph_from_osm_file(path: str | Path, *, crs: str) -> nx.MultiDiGraph:
    """:func:`walk_network_from_osm_file` as an osmnx-style ``MultiDiGraph`` (for users who
    want a graph; the pipeline never builds one)."""
    return walk_network_from_osm_file(path, crs=crs).to_graph()


def osmnx_graph_from_osm_file(path: str | Path, *, crs: str) -> nx.MultiDiGraph:
    """The osmnx loader (``graph_from_xml``, ``simplify_graph``, ``project_graph``) on the same
    walking rule: what :func:`walk_network_from_osm_file` replaced, kept to compare against
    (tests, ``python -m benchmarks pipeline``)."""
    import tempfile

    import osmnx as ox

    crs = metric_crs(crs)
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        source = _pbf_to_xml(path, Path(tmp)) if path.name.lower().endswith(".pbf") else path
        streets = _street_extract(source, Path(tmp) / "streets.osm", name=path)
        saved = list(ox.settings.useful_tags_way)
        ox.settings.useful_tags_way = saved + [t for t in _EXTRA_WAY_TAGS if t not in saved]
        try:
            G = ox.graph_from_xml(streets, bidirectional=True, simplify=False, retain_all=True)
        finally:
            ox.settings.useful_tags_way = saved
    G = ox.simplify_graph(G, edge_attrs_differ=["highway"], remove_rings=False)
    return ox.project_graph(G, to_crs=crs)


_NEEDS_XML_FILTER = tuple(
    re.compile(pattern)
    for pattern in (
        rb"action\s*=\s*[\"']delete[\"']",  # JOSM: a deleted object libosmium would read
        rb"visible\s*=\s*[\"']false[\"']",  # an Overpass history answer's deleted version
        # a way's nodes after one of its tags, whatever stands between (a comment, `</tag >`):
        # libosmium keeps only the nodes before the first tag, the XML filter reads them all
        rb"<tag\b(?:[^<]|<(?!nd\b|/way\b|/node\b|/relation\b|way\b|node\b))*<nd\b",
    )
)  # searched one by one: each has a literal start the regex engine skips to (0.3 s on 64 MB,
# where one alternation took 0.9 s)
_SCAN_TAIL = 1 << 16  # bytes kept between chunks: more than any way's tags the pattern spans


def _edited(path: Path) -> bool:
    """Whether an OSM XML file needs the XML filter first (a byte scan, any compression):
    deleted objects marked, or a way's ``<nd>`` written after its ``<tag>``."""
    tail = b""
    try:
        with _open_binary(path) as f:
            while chunk := f.read(1 << 22):
                block = tail + chunk
                if any(pattern.search(block) for pattern in _NEEDS_XML_FILTER):
                    return True
                tail = block[-_SCAN_TAIL:]
    except (OSError, EOFError, zlib.error) as exc:  # a truncated or corrupt .gz/.bz2
        raise NetworkError(
            f"{path}: cannot be read ({type(exc).__name__}: {exc}); the file is cut short or "
            "damaged: download or export it again"
        ) from exc
    return False


def _osm_format(path: Path) -> str:
    """libosmium's format name for an OSM file, from its first bytes (the name need not say:
    Overpass saves ``interpreter``, an export may be ``NETWORK.OSM``)."""
    with path.open("rb") as f:
        head = f.read(64)
    if head.startswith(b"\x1f\x8b"):
        return "osm.gz"
    if head.startswith(b"BZh"):
        return "osm.bz2"
    if b"OSMHeader" in head[:32]:
        return "pbf"
    return "osm"


def _read_ways(path: Path, crs: str, *, name: Path, report: bool, fmt: str) -> WalkNetwork:
    """The walkable ways of an OSM file as a simplified, projected network."""
    import osmium
    from pyproj import Transformer

    refs: list[list[int]] = []
    way_ids: list[int] = []
    classes: list[str] = []
    seen: list[int] = []  # every highway way read, walkable or not (versions: the last decides)
    order: list[int] = []  # each kept way's place in ``seen``
    left_out: Counter[str] = Counter()
    bare: dict[str, str | None] = {}  # the rule's answer for a way tagged highway=<value> only

    def rule(hw: str) -> str | None:
        return why_not_walked({"highway": hw})

    def source() -> Any:
        return osmium.io.File(str(path), fmt)

    # two passes, each filtered in libosmium: the walkable ways' node ids, then those nodes'
    # locations (measured on the 552,610-way benchmark city: 10.7 s, against 15-17 s for one
    # pass with a location index, whose lookups cost a Python call per way node)
    obj: Any
    try:
        ways = osmium.FileProcessor(source(), osmium.osm.WAY).with_filter(
            osmium.filter.KeyFilter("highway")
        )
        for obj in ways:  # the per-way work kept lean: this loop is the stage's cost
            seen.append(obj.id)
            if obj.deleted:  # a history file's deleted version
                continue
            tags = obj.tags
            if len(tags) == 1:  # a bare highway tag (KeyFilter kept only these): one lookup
                hw = tags.get("highway")
                why = bare[hw] if hw in bare else bare.setdefault(hw, rule(hw))
            else:
                tags = {t.k: t.v for t in tags}
                hw = tags["highway"]
                why = why_not_walked(tags)
            if why is not None:
                left_out[why] += 1
                continue
            refs.append([n.ref for n in obj.nodes])
            way_ids.append(obj.id)
            classes.append(hw)
            order.append(len(seen) - 1)
        if len(set(seen)) < len(seen):  # versions of one way (a history file): the last one
            last = {w: k for k, w in enumerate(seen)}  # read decides, walkable or not
            keep = [k for k, at in enumerate(order) if last[way_ids[k]] == at]
            refs = [refs[k] for k in keep]
            way_ids = [way_ids[k] for k in keep]
            classes = [classes[k] for k in keep]
        if report:
            _report_left_out(left_out, kept=len(refs), name=name)
        if not refs:
            raise NetworkError(f"{name}: no walkable ways in the file")
        counts = np.fromiter((len(r) for r in refs), np.int64, count=len(refs))
        flat = np.fromiter((i for r in refs for i in r), np.int64, count=int(counts.sum()))
        needed = np.unique(flat)
        found: list[int] = []
        lon: list[float] = []
        lat: list[float] = []
        nodes = osmium.FileProcessor(source(), osmium.osm.NODE)
        if needed[0] >= 0 and needed[-1] < 2**36:  # libosmium's id filter: a bitmap by id
            nodes = nodes.with_filter(osmium.filter.IdFilter(needed.tolist()))
        for obj in nodes:
            loc = obj.location
            if not obj.deleted and loc.valid():
                found.append(obj.id)
                lon.append(loc.lon)
                lat.append(loc.lat)
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:  # libosmium's
        raise NetworkError(
            f"{name}: cannot be read as an OSM file ({exc}); check that it is OpenStreetMap "
            "XML or PBF with numeric ids and coordinates written with a decimal point"
        ) from exc
    all_ids = np.asarray(found, dtype=np.int64)
    # a node written twice (or a history file's versions): the last one, as osmnx reads it
    backwards = all_ids[::-1]
    node_ids, at = np.unique(backwards, return_index=True)
    lon_n = np.asarray(lon, dtype=float)[::-1][at]
    lat_n = np.asarray(lat, dtype=float)[::-1][at]
    inside = np.isin(node_ids, needed)
    node_ids, lon_n, lat_n = node_ids[inside], lon_n[inside], lat_n[inside]
    missing = np.setdiff1d(needed, node_ids)
    if len(missing):
        way_of = np.repeat(np.arange(len(refs)), counts)
        cut = np.unique(way_of[np.isin(flat, missing)])
        raise NetworkError(
            f"{name}: {len(cut)} street(s) refer to {len(missing)} node(s) missing from the file "
            f"or without valid coordinates (ways {preview([str(way_ids[w]) for w in cut])}, "
            f"nodes {preview([str(n) for n in missing])}): an extract cut them at its edge "
            "(extract with complete ways: osmium extract --strategy complete_ways, or Overpass "
            "`(way[highway](...); >;); out;`), or their lat/lon are empty or out of range"
        )
    inverse = np.searchsorted(node_ids, flat)
    lon_all, lat_all = lon_n[inverse], lat_n[inverse]
    way_of = np.repeat(np.arange(len(refs)), counts)
    # consecutive refs of one way form a segment; a node repeated in a row is read once
    follows = (way_of[1:] == way_of[:-1]) & (flat[1:] != flat[:-1])
    a, b = inverse[:-1][follows], inverse[1:][follows]
    seg_way = way_of[1:][follows]
    seg_len = great_circle_m(
        lat_all[:-1][follows], lon_all[:-1][follows], lat_all[1:][follows], lon_all[1:][follows]
    )
    hw_values, hw_code = np.unique(np.asarray(classes, dtype=object), return_inverse=True)
    seg_cls = hw_code.ravel()[seg_way]
    simple = simplify(len(node_ids), a, b, seg_len, seg_cls)
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon_n, lat_n)
    x, y = np.asarray(x, float), np.asarray(y, float)
    used = simple.segment_edge >= 0
    rep = np.zeros(len(simple.u), dtype=np.int64)
    rep[simple.segment_edge[used]] = np.flatnonzero(used)
    pieces = np.stack([np.c_[x[a[used]], y[a[used]]], np.c_[x[b[used]], y[b[used]]]], axis=1)
    net = WalkNetwork(
        crs=crs,
        node_ids=node_ids[simple.keep].astype(np.int64),
        x=x[simple.keep],
        y=y[simple.keep],
        u=simple.u,
        v=simple.v,
        length=simple.length,
        highway=hw_values[seg_cls[rep]],
        drawn=pieces,
        osmid=np.asarray(way_ids, np.int64)[seg_way[rep]],
        drawn_edge=simple.segment_edge[used],
        source=name.name,
    )
    net.log_pieces()
    return net


@contextmanager
def _open_binary(path: Path) -> Iterator[IO[bytes]]:
    fmt = _osm_format(path)
    opener = {"osm.gz": gzip.open, "osm.bz2": bz2.open}.get(fmt)
    with opener(path, "rb") if opener else path.open("rb") as f:  # type: ignore[operator]
        yield f


def _osm_elements(path: Path, kind: str, *, name: Path) -> Iterator[ET.Element]:
    """Stream the ``kind`` elements (``node``, ``way``) of an OSM XML file, memory kept flat."""
    try:
        with _open_binary(path) as f:
            events = ET.iterparse(f, events=("start", "end"))
            _, root = next(events)
            for event, el in events:
                if event == "end" and el.tag in ("node", "way", "relation"):
                    # an editor's file keeps deleted objects (JOSM: action="delete"; an
                    # Overpass history answer: visible="false"): they are not on the ground
                    gone = el.get("action") == "delete" or el.get("visible") == "false"
                    if el.tag == kind and not gone:
                        yield el
                    root.clear()
    except (ET.ParseError, OSError, EOFError, StopIteration) as exc:
        raise NetworkError(f"{name}: cannot be read as OSM XML ({exc})") from exc


def _street_extract(path: Path, out: Path, *, name: Path) -> Path:
    """Write the ways the walking rule accepts, and their nodes, to ``out`` (OSM XML)."""
    ways: list[tuple[str, list[str], dict[str, str]]] = []
    needed: set[str] = set()
    left_out: Counter[str] = Counter()
    for el in _osm_elements(path, "way", name=name):
        tags = {t.get("k", ""): t.get("v", "") for t in el.iterfind("tag")}
        why = why_not_walked(tags)
        if why is None:
            refs = [nd.get("ref", "") for nd in el.iterfind("nd")]
            ways.append((el.get("id", ""), refs, tags))
            needed.update(refs)
        else:
            left_out[why] += 1
    _report_left_out(left_out, kept=len(ways), name=name)
    if not ways:
        raise NetworkError(f"{name}: no walkable ways in the file")
    found: set[str] = set()
    with out.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="siting">\n')
        for el in _osm_elements(path, "node", name=name):
            node = el.get("id", "")
            if node in needed:
                found.add(node)
                lat, lon = quoteattr(el.get("lat", "")), quoteattr(el.get("lon", ""))
                f.write(f"<node id={quoteattr(node)} lat={lat} lon={lon}/>\n")
        for way, refs, tags in ways:
            f.write(f"<way id={quoteattr(way)}>")
            f.write("".join(f"<nd ref={quoteattr(r)}/>" for r in refs))
            f.write("".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()))
            f.write("</way>\n")
        f.write("</osm>\n")
    missing = needed - found
    if missing:
        cut = [w for w, refs, _ in ways if missing.intersection(refs)]
        raise NetworkError(
            f"{name}: {len(cut)} street(s) refer to {len(missing)} node(s) missing from the file "
            f"(ways {preview(cut)}, nodes {preview(sorted(missing))}): the extract cut them at "
            "its edge; extract with complete ways (osmium extract --strategy complete_ways, "
            "or Overpass `(way[highway](...); >;); out;`)"
        )
    return out


def _report_left_out(left_out: Counter[str], *, kept: int, name: Path) -> None:
    log.info(
        "%s: %d way(s) are streets; left out: %s",
        name.name,
        kept,
        ", ".join(f"{n:,} {why}" for why, n in sorted(left_out.items())) or "none",
    )
    unknown = {why.split("=", 1)[1]: n for why, n in left_out.items() if why.startswith("unknown")}
    if unknown:
        shown = sorted(unknown, key=lambda v: (-unknown[v], v))
        warn(
            "osm_unknown_highway",
            f"{name}: {sum(unknown.values()):,} way(s) with a highway value pedestrians are not "
            "known to use were left out of the walking network: "
            + ", ".join(f"highway={v!r} ({unknown[v]:,})" for v in shown[:20])
            + ("..." if len(shown) > 20 else "")
            + "; if one is a street, correct its tag in the OSM data (the values walked: "
            "siting.network.WALKABLE_HIGHWAYS)",
            shown,
            zh=f"{name}：{sum(unknown.values()):,} 条道路的 highway 值不属于已知可供行人通行的"
            "类别，未纳入步行网络："
            + "，".join(f"highway={v!r}（{unknown[v]:,} 条）" for v in shown[:20])
            + ("……" if len(shown) > 20 else "")
            + "；若其中有可步行的街道，请在 OSM 数据中更正其标签（纳入步行的值见 "
            "siting.network.WALKABLE_HIGHWAYS）",
        )


def _finish(G: nx.MultiDiGraph, *, source: str, class_nodes: bool = True) -> nx.MultiDiGraph:
    """Drop lone nodes, simplify, report the pieces: the last step of every OSM source.

    Simplified only after filtering, so no merged edge mixes walkable and forbidden pieces;
    ``class_nodes`` keeps the nodes where the street class changes (where a lane of houses
    meets a main road).
    """
    import osmnx as ox

    G.remove_nodes_from([n for n, d in list(G.degree()) if d == 0])
    if G.number_of_edges() == 0:
        raise NetworkError(f"{source}: no walkable ways")
    # remove_rings=False: a detached ring of lanes (an island, a walled estate) is a piece of
    # street the component statistics must count, not noise to drop
    G = ox.simplify_graph(
        G, edge_attrs_differ=["highway"] if class_nodes else None, remove_rings=False
    )
    log_components(G, source=source)
    return G


def metric_crs(crs: str) -> str:
    """``crs`` if it measures in metres; a geographic or unknown CRS is an error, since every
    length, snap and radius would silently be in degrees."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        parsed = CRS.from_user_input(crs)
    except CRSError as exc:
        raise NetworkError(f"`crs` {crs!r} is not a coordinate reference system: {exc}") from exc
    unit = parsed.axis_info[0].unit_name if parsed.axis_info else ""
    if parsed.is_geographic or unit not in ("metre", "meter"):
        raise NetworkError(
            f"`crs` {crs!r} ({parsed.name}) measures in {unit or 'no unit'}, not metres: "
            "lengths and radii would be wrong. Give a projected CRS in metres, e.g. "
            "siting.coords.analysis_crs(longitude) (a CGCS2000 3-degree Gauss-Kruger zone)"
        )
    return crs


@functools.cache
def _builtin_classes() -> Mapping[str, str]:
    text = (
        resources.files("siting.network")
        .joinpath("network_classes.yaml")
        .read_text(encoding="utf-8")
    )
    table: dict[str, str] = {}
    for entry in yaml.safe_load(text)["classes"]:
        for name in entry["names"]:
            table[_norm(str(name))] = str(entry["highway"])
    return MappingProxyType(table)


def road_classes() -> dict[str, str]:
    """The built-in table of road classes (``network_classes.yaml``): class -> OSM ``highway``.

    Keys are normalised (:func:`_norm`: NFKC, no spaces, lower case).

    Examples
    --------
    >>> road_classes()["主干路"], road_classes()["街巷"], road_classes()["高速公路"]
    ('primary', 'residential', 'motorway')
    """
    return dict(_builtin_classes())


def _norm(text: str) -> str:
    """A class name as matched: NFKC (full-width and Roman-numeral forms), no spaces, lower."""
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def _as_text(value: object) -> str:
    """A class cell as text: a code read as ``2.0`` is ``'2'``; missing is ``''``."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):  # type: ignore[call-overload]
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def classify_roads(
    values: pd.Series, *, walkable: Mapping[str, str] | None = None, where: str
) -> pd.Series:
    """The OSM ``highway`` value each road class stands for.

    The scenario's ``walkable`` first, then the built-in table (:func:`road_classes`), then OSM
    values as themselves. Unknown classes raise :class:`InputDataError` naming ``where`` (the
    file and column), each value with its count, and the ``walkable:`` YAML to add.
    """
    table = {**_builtin_classes(), **{_norm(str(k)): v for k, v in (walkable or {}).items()}}
    text = values.map(_as_text)
    osm = text.map(lambda t: table.get(_norm(t), _norm(t) if _norm(t) in KNOWN_HIGHWAYS else None))
    unknown = text[osm.isna()].value_counts()
    if len(unknown):
        listing = ", ".join(f"{v!r} ({n:,} line(s))" for v, n in unknown.items())
        lines = [
            f"      {json.dumps(v, ensure_ascii=False)}: {_guess(str(v))}" for v in unknown.index
        ]
        raise InputDataError(
            f"{where}: {len(unknown)} road class(es) the walking rule does not know: {listing}. "
            "Add what each stands for, as an OSM highway value, to the scenario (TODO marks a "
            "class with no guess; motorway, motorway_link, proposed, construction and cycleway "
            "are not walked; residential, service, footway and pedestrian are streets people "
            "live on):\n  network:\n    walkable:\n" + "\n".join(lines)
        )
    return osm.astype(str)


def _guess(value: str) -> str:
    """The OSM value of the longest built-in class name inside ``value``, else ``TODO``."""
    key = _norm(value)
    names = [n for n in _builtin_classes() if n and n in key]
    if not names:
        return "TODO"
    best = max(names, key=len)
    return f"{_builtin_classes()[best]}  # guessed from {best}: check"


def walk_graph_from_road_layer(path: str | Path, **options: Any) -> nx.MultiDiGraph:
    """:func:`walk_network_from_road_layer` as an osmnx-style ``MultiDiGraph`` (same options)."""
    return walk_network_from_road_layer(path, **options).to_graph()


def walk_network_from_road_layer(
    path: str | Path,
    *,
    crs: str,
    layer_crs: str | None = None,
    coord_system: str | None = None,
    highway_column: str | None = "highway",
    walkable: Mapping[str, str] | None = None,
    layer: str | None = None,
    snap_m: float = 0.5,
    encoding: str | None = None,
) -> WalkNetwork:
    """Build a projected walking network from a road line layer (the bureau's own roads).

    Line ends closer than ``snap_m`` become one node; each line is one edge, walked both ways,
    its length measured in the metric ``crs``. Each line's class (``highway_column``) becomes
    an OSM ``highway`` value (:func:`classify_roads`), kept as the edge's ``highway`` (the
    class as written in ``road_class``); lines whose value is not walked (motorway...) are
    dropped.

    Parameters
    ----------
    path
        Shapefile, GeoPackage or GeoJSON of LineStrings (MultiLineStrings are split).
    crs
        The metric analysis CRS.
    layer_crs
        The layer's CRS when the file has none (a Shapefile without ``.prj``), e.g.
        ``"EPSG:4326"``; never assumed.
    coord_system
        Or the lon/lat system of a layer without a CRS: ``wgs84``, ``cgcs2000``, ``gcj02``,
        ``bd09`` (the last two are converted to WGS-84 vertex by vertex).
    highway_column
        The column of road classes (Chinese classes such as 主干路 or OSM values). ``None``:
        the layer has none, every line is walked as a street of unknown class (``road``),
        reported as a warning; a named column that is absent is an error.
    walkable
        Classes the built-in table lacks, or replacements: ``{class: OSM highway value}``.
    """
    crs = metric_crs(crs)
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"road layer {str(path)!r} does not exist")
    lines = read_vector(path, layer=layer, encoding=encoding)
    if lines.crs is None:
        if layer_crs is None and coord_system is None:
            raise InputDataError(
                f"{path}: the road layer has no coordinate reference system "
                "(no .prj?); declare its `coord_system` (wgs84, cgcs2000, "
                "gcj02, bd09) in the scenario's inputs.network"
            )
        lines = lines.set_crs(layer_crs or f"EPSG:{GEOGRAPHIC_EPSG.get(coord_system or '', 4326)}")
    if coord_system in ("gcj02", "bd09"):
        lines = _to_wgs84_lines(lines, coord_system)
    lines = lines.explode(index_parts=False)
    kinds = lines.geometry.geom_type
    other = lines[kinds != "LineString"]
    if len(other):
        warn(
            "road_layer_not_lines",
            f"{path}: {len(other):,} feature(s) are not lines and are not streets: "
            + ", ".join(f"{n:,} {k}" for k, n in other.geometry.geom_type.value_counts().items())
            + f" (rows {preview([str(i) for i in other.index])}); draw roads as lines",
            other.index,
            zh=f"{path}：{len(other):,} 个要素不是线，不作为街道："
            + "，".join(f"{n:,} 个 {k}" for k, n in other.geometry.geom_type.value_counts().items())
            + f"（行 {preview_zh([str(i) for i in other.index])}）；道路请绘制为线",
        )
    lines = lines[kinds == "LineString"].to_crs(crs)
    lines = _walkable_lines(lines, path, highway_column, walkable)
    lines = _split_at_junctions(lines, snap_m, path)
    coords = shapely.get_coordinates(lines.geometry.to_numpy(), return_index=True)
    xy, owner = coords[0], coords[1]
    first = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    last = np.r_[first[1:] - 1, len(owner) - 1]
    ends = np.vstack([xy[first], xy[last]])
    keys = np.round(ends / snap_m).astype(np.int64)
    _, node_of, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    n_lines = len(lines)
    net = WalkNetwork(
        crs=crs,
        node_ids=np.arange(len(node_of), dtype=np.int64),
        x=ends[node_of, 0],
        y=ends[node_of, 1],
        u=inverse[:n_lines].astype(np.int64),
        v=inverse[n_lines:].astype(np.int64),
        length=lines.geometry.length.to_numpy(),
        highway=lines["highway"].to_numpy(dtype=object),
        road_class=lines["road_class"].to_numpy(dtype=object),
        drawn=lines.geometry.to_numpy(),
        source=path.name,
    )
    net.log_pieces()
    return net


def _split_at_junctions(lines: gpd.GeoDataFrame, snap_m: float, path: Path) -> gpd.GeoDataFrame:
    """Lines split at every inner vertex another line also has (within ``snap_m``): the
    junctions of a layer whose roads run on through crossings, as most CAD and survey road
    layers do. A crossing without a shared vertex (a bridge over a road) stays a crossing."""
    coords, owner = shapely.get_coordinates(lines.geometry.to_numpy(), return_index=True)
    keys = np.round(coords / snap_m).astype(np.int64)
    _, key_id = np.unique(keys, axis=0, return_inverse=True)
    key_id = key_id.ravel()
    first = np.r_[True, owner[1:] != owner[:-1]]
    last = np.r_[owner[1:] != owner[:-1], True]
    # a junction is a vertex with three or more distinct neighbours over all lines: a road
    # drawn twice (both directions) or two lines sharing a stretch add none
    step = ~last
    ends = np.sort(np.column_stack([key_id[:-1][step[:-1]], key_id[1:][step[:-1]]]), axis=1)
    ends = np.unique(ends[ends[:, 0] != ends[:, 1]], axis=0)
    degree = np.bincount(ends.ravel(), minlength=int(key_id.max()) + 1)
    cut = (degree[key_id] >= 3) & ~first & ~last
    if not cut.any():
        return lines
    # a cut vertex ends one piece and starts the next: it is written twice
    piece = np.cumsum(first | np.r_[False, cut[:-1]]) - 1
    again = np.flatnonzero(cut)
    order = np.r_[np.arange(len(coords)), again]
    piece_of = np.r_[piece, piece[again] + 1]
    sort = np.lexsort((order, piece_of))
    pieces = shapely.linestrings(coords[order[sort]], indices=piece_of[sort])
    source = np.r_[owner, owner[again]][sort]
    line_of_piece = source[np.r_[0, np.flatnonzero(np.diff(piece_of[sort])) + 1]]
    split = lines.iloc[line_of_piece].copy()
    split["geometry"] = pieces
    split = gpd.GeoDataFrame(split, geometry="geometry", crs=lines.crs)
    n_lines = len(np.unique(owner[cut]))
    warn(
        "road_layer_split_at_junctions",
        f"{path}: {n_lines:,} line(s) run on through junctions (another line meets them at an "
        f"inner vertex) and were split there, {len(lines):,} lines -> {len(split):,} pieces; "
        "without this the side streets would not connect",
        zh=f"{path}：{n_lines:,} 条线穿过路口而未断开（另一条线在其中间顶点与之相交），已在该处"
        f"打断，{len(lines):,} 条线 -> {len(split):,} 段；否则支路无法连通",
    )
    return split


def _walkable_lines(
    lines: gpd.GeoDataFrame,
    path: Path,
    column: str | None,
    walkable: Mapping[str, str] | None,
) -> gpd.GeoDataFrame:
    """The lines pedestrians may walk, with ``highway`` (OSM value) and ``road_class``."""
    if column is None:
        warn(
            "road_layer_without_classes",
            f"{path}: read with `highway_column: none`: all {len(lines):,} lines are walked as "
            "streets of unknown class (motorways too, if the layer has any), and each "
            "社区/村's elderly are spread over every street node inside it, main roads included",
            zh=f"{path}：按 `highway_column: none` 读取：全部 {len(lines):,} 条线都作为等级未知的"
            "街道步行（图层中如有高速公路也包括在内），每个社区/村的老人分布在其内所有街道节点上，"
            "包括主干道",
        )
        out = lines.assign(highway="road", road_class="")
    elif column not in lines.columns:
        present = [c for c in lines.columns if c != lines.geometry.name]
        raise InputDataError(
            f"{path}: the road layer has no class column {column!r} (its columns: {present}). "
            "Name the column holding the road class (道路等级, highway...) in the scenario: "
            "`inputs.network.highway_column: <column>`; or set `highway_column: none` to walk "
            "every line as a street of unknown class (reported as a warning)"
        )
    else:
        where = f"{path}, column {column!r}"
        osm = classify_roads(lines[column], walkable=walkable, where=where)
        out = lines.assign(highway=osm, road_class=lines[column].map(_as_text))
        walked = osm.map(lambda h: why_not_walked({"highway": h}) is None).astype(bool)
        counts = (
            pd.DataFrame({"c": out["road_class"], "h": osm, "w": walked})
            .value_counts()
            .sort_index()
        )
        log.info(
            "%s: road classes: %s; %d line(s) not walked",
            path.name,
            "; ".join(
                f"{c or '(empty)'} -> {h} {n:,}{'' if w else ' (not walked)'}"
                for (c, h, w), n in zip(counts.index, counts.to_numpy(), strict=True)
            ),
            int((~walked).sum()),
        )
        out = out[walked.to_numpy()]
    if out.empty:
        raise NetworkError(f"{path}: no walkable lines in the layer")
    return out


def _to_wgs84_lines(lines: gpd.GeoDataFrame, coord_system: str) -> gpd.GeoDataFrame:
    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1], coord_system)
        return np.column_stack([lon, lat])

    out = lines.to_crs(4326).copy()
    out["geometry"] = shapely.transform(out.geometry.to_numpy(), move)
    log.info("road layer: converted %d lines from %s to WGS-84", len(out), coord_system)
    return out


def _pbf_to_xml(path: Path, folder: Path) -> Path:
    """Convert an ``.osm.pbf`` extract to OSM XML with pyosmium (for the osmnx loader only)."""
    import osmium

    xml = folder / "extract.osm"
    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(path)):
            writer.add(obj)
    log.info("converted %s to OSM XML for osmnx", path.name)
    return xml


def log_components(G: nx.MultiDiGraph, *, source: str) -> None:
    """Log the size of the largest connected piece and how much lies outside it."""
    import networkx as nx

    parts = sorted((len(c) for c in nx.weakly_connected_components(G)), reverse=True)
    outside = sum(parts[1:])
    log.info(
        "walking network %s: %d nodes, %d edges, %d connected piece(s); largest %d nodes, "
        "%d node(s) in smaller pieces",
        source,
        G.number_of_nodes(),
        G.number_of_edges(),
        len(parts),
        parts[0],
        outside,
    )


def walk_network_from_download(polygon: shapely.Geometry, **options: Any) -> WalkNetwork:
    """:func:`walk_graph_from_download`'s graph as a :class:`~siting.walknet.WalkNetwork`."""
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
