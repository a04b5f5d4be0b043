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
arrays (:class:`~siting.network.arrays.WalkNetwork`, simplified by osmnx's rules); an editor's file
that marks deleted objects (JOSM ``action="delete"``, which libosmium does not read) or writes a
way's nodes after its tags (libosmium keeps only the first ones) is filtered through an XML extract
first. A download asks Overpass for the walkable
``highway`` values only and applies rule 3 to the edges. A road layer's class column is read
through the built-in table ``network_classes.yaml`` (高速公路, 快速路 -> motorway; 主干路 ->
primary; 次干路 -> secondary; 支路, 街巷 -> residential; 内部道路 -> service; 人行道 -> footway;
步行街 -> pedestrian; 国道 -> trunk ... 村道 -> unclassified; sources in the file) and the
scenario's ``inputs.network.walkable``; OSM values pass as themselves; an unknown class stops the
run; a layer without a class column is read only with ``highway_column=None`` (every line
walked, reported). Every edge's ``highway`` holds the OSM value, which :mod:`siting.problem.demand`
reads to find the streets people live on.

Walking ignores one-way rules, so every way is read in both directions; unwalkable ways are
dropped before the graph is simplified to intersections and dead ends. Disconnected pieces are
kept and reported: demand on an island is honestly unreachable.
"""

from __future__ import annotations

import bz2
import gzip
import logging
import re
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

import numpy as np

from siting._errors import InputFileNotFoundError, NetworkError
from siting._messages import preview
from siting.network._common import _report_left_out, metric_crs
from siting.network.arrays import WalkNetwork, great_circle_m, simplify
from siting.network.walk_rule import (
    _EXTRA_WAY_TAGS,
    why_not_walked,
)

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)


def walk_network_from_osm_file(path: str | Path, *, crs: str) -> WalkNetwork:
    """Read an OSM file (XML or PBF) into a projected :class:`~siting.network.arrays.WalkNetwork`.

    pyosmium streams the ways, then their nodes' locations; only ways the walking rule accepts
    become edges (module docstring), simplified to intersections and dead ends
    (:func:`siting.network.arrays.simplify`, osmnx's rules) and projected to ``crs`` in one
    vectorised step. No networkx graph is built.

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


def _pbf_to_xml(path: Path, folder: Path) -> Path:
    """Convert an ``.osm.pbf`` extract to OSM XML with pyosmium (for the osmnx loader only)."""
    import osmium

    xml = folder / "extract.osm"
    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(path)):
            writer.add(obj)
    log.info("converted %s to OSM XML for osmnx", path.name)
    return xml
