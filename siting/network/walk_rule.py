"""Which ways an elderly person walks: the highway classes that are streets for walking, those
open to feet only, those never walked (motorways, a way tagged foot=no), and the table that reads
a bureau's own road classes (城市主干道, 小区路, 高速 …) into them. Every network source — the OSM
file, the bureau's road layer, a download — applies this one rule."""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType

import pandas as pd
import yaml

from siting._errors import InputDataError

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
