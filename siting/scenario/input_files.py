"""The ``inputs:`` section of a scenario: the files a run reads (boundaries, population, facilities,
candidates, the walking network), each with its coordinate system, its column mapping and, for a
population table, how to read it (age bands, totals, sheet, header row). Paths are checked to
exist when the scenario is read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

Positive = Annotated[float, Field(gt=0)]


CoordSystemName = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Layer(_Strict):
    """An input file and, optionally, a map from canonical column names to the file's."""

    path: Path
    columns: dict[str, str] = Field(default_factory=dict)
    layer: str | None = None
    encoding: str | None = None  # a Shapefile's text encoding, if its .cpg is missing or wrong


class BoundaryLayer(Layer):
    """Polygons: invalid ones are repaired (and reported) unless ``repair`` is false; a repair
    changing an area by more than ``max_area_change`` (a share) is refused."""

    repair: bool = True
    max_area_change: Annotated[float, Field(ge=0, le=1)] = 0.01


AgeGroup = Literal["60+", "65+", "80+"]


_FIGURE_KEYS = ("elderly", "elderly_60plus")


class PopulationLayer(_Strict):
    """The population table (CSV or Excel; ``layer``: the workbook's sheet, default the first).

    ``nan_policy`` for missing figures (raise, zero, drop); ``unmatched`` for rows without a
    polygon (error, or exclude and list them). ``join``: ``code`` (12-digit codes) or ``name``
    (社区/村 names matched within the 街道 of ``columns.street``, suffixes such as 居委会 and
    村委会 normalised). ``age_group`` (60+, 65+, 80+) is the group every output counts; its
    figure is ``columns.elderly`` (one column, or a list of age-band columns added up;
    ``elderly_60plus`` is accepted for 60+), and ``columns.elderly_60plus`` beside it, under
    65+ or 80+, gives the rules per 60+ population their figure. ``header_row`` (1-based)
    forces the header's row; by default it is the first row holding the mapped column names.
    """

    path: Path
    columns: dict[str, str | list[str]] = Field(default_factory=dict)
    layer: str | None = None  # the sheet of a workbook (default: the first)
    encoding: str | None = None
    nan_policy: Literal["raise", "drop", "zero"] = "raise"
    unmatched: Literal["error", "exclude"] = "error"
    join: Literal["code", "name"] = "code"
    age_group: AgeGroup = "60+"
    header_row: Annotated[int, Field(ge=1)] | None = None

    @field_validator("columns")
    @classmethod
    def _lists_for_figures(cls, v: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for key, value in v.items():
            if isinstance(value, list) and key not in _FIGURE_KEYS:
                raise ValueError(
                    f"`{key}` names one column; only {' and '.join(_FIGURE_KEYS)} take a list "
                    "(age bands added up)"
                )
            if isinstance(value, list) and not value:
                raise ValueError(f"`{key}`: the list of columns is empty")
        return v

    @model_validator(mode="after")
    def _figures(self) -> PopulationLayer:
        mapped = {k for k in _FIGURE_KEYS if k in self.columns}
        if self.age_group == "60+" and len(mapped) == 2:
            raise ValueError(
                "`columns` maps both `elderly` and `elderly_60plus` for the age group 60+: "
                "give one (they are the same figure)"
            )
        if self.age_group != "60+" and mapped == {"elderly_60plus"}:
            raise ValueError(
                f"`columns.elderly_60plus` is the 60+ figure, but `age_group` is "
                f"{self.age_group}: map the {self.age_group} column(s) as `columns: {{elderly: "
                "[...]}`; `elderly_60plus` beside it gives the rules per 60+ population "
                "(beds per 1,000 elderly...) their figure"
            )
        return self

    def header_names(self) -> list[str]:
        """The column names the scenario maps, as the file writes them (to find the header)."""
        names: list[str] = []
        for value in self.columns.values():
            names += value if isinstance(value, list) else [value]
        return names or [self.join]

    @property
    def age_label(self) -> str:
        """The age group as the outputs say it: ``65岁以上``."""
        return f"{self.age_group[:-1]}岁以上"


class PointLayer(Layer):
    """A facility or candidate layer; lon/lat tables must declare their coordinate system."""

    coord_system: CoordSystemName


class Network(_Strict):
    """The walking network: an OpenStreetMap XML file, the bureau's own road layer, or a download.

    A road layer without a CRS (a Shapefile without .prj) must declare ``coord_system``;
    GCJ-02 and BD-09 lines are converted to WGS-84 vertex by vertex. Its ``highway_column``
    holds each line's class: Chinese classes (主干路, 支路, 街巷, 人行道...; the built-in table
    ``siting/network_classes.yaml``) or OSM ``highway`` values; ``walkable`` adds classes the
    table lacks, or replaces its entries, as ``{class: OSM highway value}`` (e.g.
    ``{规划路: proposed, 快速路: trunk}``); an unknown class stops the run. A layer with no class
    column needs ``highway_column: none`` (every line walked; reported as a warning).
    ``highway_column`` and ``walkable`` are for a road layer only.
    """

    osm_file: Path | None = None
    road_layer: Path | None = None
    download: bool = False  # osmnx download for the district (+1 km), when online
    cache_dir: Path = Path(".siting-cache")
    coord_system: CoordSystemName | None = None
    highway_column: str = "highway"  # `none`: the layer has no class column
    walkable: dict[str, str] = Field(default_factory=dict)  # road class -> OSM highway value
    encoding: str | None = None

    @field_validator("walkable", mode="before")
    @classmethod
    def _class_keys_as_text(cls, v: object) -> object:
        # a class column of codes (1, 2, 3) gives YAML integer keys: they name classes too
        if isinstance(v, dict):
            return {str(key): value for key, value in v.items()}
        return v

    @field_validator("walkable")
    @classmethod
    def _osm_values(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            return v
        from siting.network.walk_rule import KNOWN_HIGHWAYS, WALKABLE_HIGHWAYS

        bad = {k: h for k, h in v.items() if h not in KNOWN_HIGHWAYS}
        if bad:
            raise ValueError(
                f"not OSM highway values: {bad}; use one of {sorted(WALKABLE_HIGHWAYS)} for "
                f"walked classes, or {sorted(KNOWN_HIGHWAYS - WALKABLE_HIGHWAYS)} for classes "
                "pedestrians do not use"
            )
        return v

    @model_validator(mode="after")
    def _one_source(self) -> Network:
        given = (self.osm_file is not None) + (self.road_layer is not None) + self.download
        if given != 1:
            raise ValueError("give exactly one of `osm_file`, `road_layer` and `download: true`")
        stray = ["highway_column"] if self.highway_column != "highway" else []
        stray += ["walkable"] if self.walkable else []
        if stray and self.road_layer is None:
            raise ValueError(
                f"{', '.join(f'`{k}`' for k in stray)} apply to a `road_layer` only (an OSM "
                "file or download has OSM highway tags)"
            )
        return self

    @property
    def path(self) -> Path | None:
        """The network file, or None for a download."""
        return self.osm_file if self.osm_file is not None else self.road_layer

    @property
    def class_column(self) -> str | None:
        """The road layer's class column, None for ``highway_column: none``."""
        return None if self.highway_column.strip().lower() == "none" else self.highway_column


class Inputs(_Strict):
    streets: BoundaryLayer
    communities: BoundaryLayer
    population: PopulationLayer
    facilities: PointLayer
    candidates: PointLayer | None = None  # none: `candidate_generation` makes them
    network: Network
    compounds: Layer | None = None  # 小区: id, name, community_code, households, status...
    district_stats: Layer | None = None  # code, family_care_beds, social_workers
