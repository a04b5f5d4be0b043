"""The scenario beyond its files: circles and walking speed, the model, equity, candidate
generation, rules, projection, outputs, a saved plan and the district; :class:`Scenario` and
:func:`load`, which reads a YAML file (with ``base:`` inheritance) and validates it.

Unknown keys, wrong types, radii <= 0 and paths that do not exist are errors naming the key and
the file; YAML is read with the safe loader (no code runs). Relative paths are relative to the
scenario file. See the README's "Scenario files" section for every key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from siting._errors import InputFileNotFoundError, ScenarioError
from siting.rules.book import load_rules
from siting.scenario.input_files import Inputs, Positive, _Strict

WALK_SPEED_PRESETS: dict[str, tuple[float, str]] = {
    "frail": (0.64, "frail older adults: 0.64 m/s (research literature, STANDARDS.md)"),
    "elderly": (
        0.76,
        "people >= 65 at risk of mobility disability, mean: 0.76 m/s "
        "(research literature, STANDARDS.md)",
    ),
    "standard": (
        1.0,
        "standard walking speed 1.0 m/s (r5py default; 15 min = 900 m, within "
        "GB 50180-2018's 800-1,000 m 15-minute circle)",
    ),
}
"""Walking-speed presets: name -> (metres per second, source)."""

WALK_SPEED_SOURCES_ZH = {
    "frail": "体弱老年人步速 0.64 米/秒（研究文献，见 STANDARDS.md）",
    "elderly": "65 岁及以上有行动障碍风险老年人的平均步速 0.76 米/秒（研究文献，见 STANDARDS.md）",
    "standard": (
        "标准步速 1.0 米/秒（15 分钟 = 900 米，在《城市居住区规划设计标准》GB 50180—2018 "
        "十五分钟生活圈 800～1000 米的范围内）"
    ),
}
"""The presets' sources as the documents (report.xlsx) say them."""


def speed_source_zh(preset: str | None, mps: float) -> str:
    """Where a run's walking speed comes from, in Chinese: its preset's source, or the
    scenario's own figure."""
    if preset in WALK_SPEED_SOURCES_ZH:
        return WALK_SPEED_SOURCES_ZH[preset]
    return f"情景文件设定：{mps:g} 米/秒"


class Coverage(_Strict):
    """The service circles. 社区 use ``urban_minutes x speed``; 村 ``rural_radius_m``.

    The speed is a preset (``walk_speed: elderly``) or a number (``walk_speed_mps: 0.8``).
    """

    walk_speed: Literal["frail", "elderly", "standard"] | None = None
    walk_speed_mps: Positive = 1.0
    urban_minutes: Positive = 15.0
    rural_radius_m: Positive = 1000.0
    # None: every type the rule set gives a circle role (street centre, community, rural home)
    facility_types: tuple[str, ...] | None = None
    # types the rule set does not know: `circle` forms service circles, `land` counts for land
    extra_facility_types: dict[str, Literal["circle", "land"]] = Field(default_factory=dict)
    snap_warn_m: Positive = 200.0

    @property
    def circle_types(self) -> tuple[str, ...]:
        """The types that form circles: ``facility_types`` and the extras declared circle."""
        extra = [t for t, role in self.extra_facility_types.items() if role == "circle"]
        return tuple(dict.fromkeys([*(self.facility_types or ()), *extra]))

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("walk_speed") is not None:
            if "walk_speed_mps" in data:
                raise ValueError("give `walk_speed` (a preset) or `walk_speed_mps`, not both")
            preset = WALK_SPEED_PRESETS.get(str(data["walk_speed"]))
            if preset is not None:
                data = {**data, "walk_speed_mps": preset[0]}
        return data

    @property
    def urban_radius_m(self) -> float:
        return self.urban_minutes * 60.0 * self.walk_speed_mps

    @property
    def speed_source(self) -> str:
        if self.walk_speed is not None:
            return WALK_SPEED_PRESETS[self.walk_speed][1]
        return f"{self.walk_speed_mps:g} m/s set in the scenario"


class Model(_Strict):
    """The location model.

    ``mclp``: at most ``p`` new sites and/or total ``budget`` (costs from ``cost_column`` of the
    candidates); ``lscp``: fewest sites covering every coverable elderly person
    (``exclude_uncoverable`` to leave out those no site can reach); ``target``: fewest sites
    reaching ``target_share``; ``cmclp``: capacitated MCLP; ``pmedian``: ``p`` sites making the
    elderly's mean walk shortest; ``pcenter``: ``p`` sites making the longest walk shortest (both
    on walks up to ``max_walk_m``, default twice the largest circle radius, which p-center
    doubles until ``p`` sites can reach everyone). For all:
    ``excluded`` candidate ids never open, candidates with less than ``min_land_area_m2`` are
    left out, ``method`` auto, exact or fast.
    """

    name: Literal["mclp", "lscp", "target", "cmclp", "pmedian", "pcenter"] = "mclp"
    max_walk_m: Positive | None = None  # pmedian/pcenter: longest walk considered
    capacity_column: str | None = None  # cmclp: places (托位/beds) per site, e.g. beds
    elderly_per_place: Annotated[float, Field(gt=0)] = 1.0  # cmclp: elderly one place serves
    candidate_capacity: Annotated[float, Field(ge=0)] | None = None  # cmclp: planned places
    target_share: Annotated[float, Field(gt=0, le=1)] | None = None
    exclude_uncoverable: bool = False
    min_land_area_m2: Annotated[float, Field(ge=0)] | None = None
    p: Annotated[int, Field(ge=0)] | None = None
    budget: Annotated[float, Field(ge=0)] | None = None
    cost_column: str | None = None
    excluded: tuple[str, ...] = ()
    method: Literal["auto", "exact", "fast"] = "auto"
    time_limit_s: Positive = 60.0
    # mclp: no 街道/乡镇 below this covered share after the plan (HiGHS; see siting.analysis.access)
    equity_floor: Annotated[float, Field(gt=0, le=1)] | None = None

    @model_validator(mode="after")
    def _p_or_budget(self) -> Model:
        if self.equity_floor is not None and self.name != "mclp":
            raise ValueError("`equity_floor` is an option of the mclp model")
        if self.name == "mclp" and self.p is None and self.budget is None:
            raise ValueError("give `p` (most new sites), `budget`, or both")
        if self.name == "cmclp" and (self.p is None or self.capacity_column is None):
            raise ValueError("the capacitated model (cmclp) needs `p` and `capacity_column`")
        if self.name in ("pmedian", "pcenter") and self.p is None:
            raise ValueError(f"the {self.name} model needs `p` (new sites to open)")
        if self.name == "target" and self.target_share is None:
            raise ValueError("the target model needs `target_share` (e.g. 0.9)")
        if self.budget is not None and self.cost_column is None:
            raise ValueError("`budget` needs `cost_column`: the candidates' cost column")
        return self


class Equity(_Strict):
    """Accessibility and equity figures (:mod:`siting.analysis.access`): 2SFCA with ``decay`` (step
    or gaussian) on the facilities' ``capacity_column`` (default floor_area_m2, else beds, as the
    data carries them), and the coverage curve at ``curve_minutes`` of walking."""

    decay: Literal["step", "gaussian"] = "step"
    capacity_column: str | None = None
    curve_minutes: Annotated[tuple[Positive, ...], Field(min_length=1)] = (
        5.0,
        10.0,
        15.0,
        20.0,
        25.0,
        30.0,
    )

    @field_validator("curve_minutes")
    @classmethod
    def _ascending(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        """The curve's minutes in order, each once (a repeated or unsorted list is tidied)."""
        return tuple(sorted(set(value)))


class CandidateGeneration(_Strict):
    """Candidates when the bureau has none: ``kmeans`` clusters the elderly the existing
    facilities leave uncovered (``k`` sites); ``nodes`` takes every ``every``-th residential
    street node. Candidates inside ``excluded_areas`` (a polygon layer) are dropped."""

    method: Literal["kmeans", "nodes"] = "kmeans"
    k: Annotated[int, Field(ge=1)] = 30
    every: Annotated[int, Field(ge=1)] = 10
    excluded_areas: Path | None = None


class Rules(_Strict):
    """The rule set in force (``national``, ``henan``, ``henan/puyang``...) and overrides."""

    set: str = "henan"
    overrides: dict[str, float] = Field(default_factory=dict)


class Projection(_Strict):
    """Elderly grown to ``year``: by ``annual_rate`` from ``base_year``, and/or by ``factors``
    per 街道/乡镇 or 社区/村 code (a 社区 factor wins over its 街道's)."""

    year: Annotated[int, Field(ge=2000, le=2100)]
    base_year: Annotated[int, Field(ge=2000, le=2100)] = 2020
    annual_rate: Annotated[float, Field(gt=-0.5, lt=0.5)] | None = None
    factors: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _something(self) -> Projection:
        if self.annual_rate is None and not self.factors:
            raise ValueError("give `annual_rate` and/or `factors`")
        if self.year < self.base_year:
            raise ValueError("`year` must not be before `base_year`")
        return self


class Output(_Strict):
    """Which outputs to write besides summary.json and the CSV tables."""

    map: bool = True
    report_xlsx: bool = True
    map_png: bool = True
    gpkg: bool = True  # results.gpkg: the run's layers with their attributes
    shapefile: bool = False  # shapefile/: the same layers, ASCII field names, codebook.csv
    tiles: Literal["osm", "tianditu", "gaode", "baidu"] = "osm"

    @field_validator("tiles")
    @classmethod
    def _known_provider(cls, v: str) -> str:
        from siting._tiles import provider

        if v == "baidu":
            provider(v)  # raises with the reason
        return v


class Plan(_Strict):
    """A plan decided elsewhere, as the live map saves it (:mod:`siting.pipeline.plan`): no model is
    solved; ``open`` candidates open besides the existing circle facilities less ``closed``.
    ``covered_elderly``: the figure the map showed, checked against the rerun."""

    open: tuple[str, ...] = ()
    closed: tuple[str, ...] = ()
    covered_elderly: Annotated[float, Field(ge=0)] | None = None
    # each site's name when the plan was saved: a rerun stops when an id now names another site
    # (ids numbered from the row order shift when a row of the file is removed)
    names: dict[str, str] = Field(default_factory=dict)


class District(_Strict):
    """The 区县 the run covers; the code defaults to the first 6 digits of the 街道 codes."""

    code: str | None = None
    name: str | None = None


class Scenario(_Strict):
    """One run: inputs, circles, model, land rule. Load with :func:`load`."""

    name: str
    description: str = ""
    inputs: Inputs
    coverage: Coverage = Coverage()
    model: Model
    rules: Rules = Rules()
    district: District = District()
    projection: Projection | None = None
    candidate_generation: CandidateGeneration | None = None
    output: Output = Output()
    plan: Plan | None = None  # the live map's saved plan: sites given, no model solved
    equity: Equity = Equity()

    @field_validator("name")
    @classmethod
    def _name_is_a_folder_name(cls, v: str) -> str:
        if not v or any(ch in v for ch in '/\\:*?"<>|') or v in {".", ".."}:
            raise ValueError("must be a plain name usable as a folder name")
        return v

    def replace(self, changes: dict[str, Any]) -> Scenario:
        """A copy with dotted keys changed, validated like a file: ``{"model.p": 12,
        "coverage.walk_speed_mps": 0.76}``. Bad values and unknown keys raise
        :class:`ScenarioError` naming the key; a changed input path must exist (a relative one
        is relative to the current folder).

        A mapping value merges into the section key by key, as a ``base:`` chain does
        (``{"rules": {"overrides": {...}}}`` keeps the rule set). A speed given one way
        (``walk_speed`` preset or ``walk_speed_mps``) replaces the other; both in one call is
        an error, as in a file.
        """
        if {"coverage.walk_speed", "coverage.walk_speed_mps"} <= set(changes):
            raise ScenarioError(
                "give `coverage.walk_speed` (a preset) or `coverage.walk_speed_mps`, not both"
            )
        data = self.model_dump(mode="python", exclude_unset=False)
        if data["coverage"].get("walk_speed") is not None:  # the preset stands for the number
            data["coverage"].pop("walk_speed_mps")
        for dotted, value in changes.items():
            *parents, last = dotted.split(".")
            node: Any = data
            for i, key in enumerate(parents):
                if not isinstance(node, dict) or key not in node:
                    raise ScenarioError(f"`{dotted}`: no key {'.'.join(parents[: i + 1])!r}")
                if node[key] is None:
                    node[key] = {}
                node = node[key]
            if not isinstance(node, dict):
                raise ScenarioError(f"`{dotted}`: {'.'.join(parents)!r} is not a mapping")
            if dotted == "coverage.walk_speed_mps":
                node.pop("walk_speed", None)
            elif dotted == "coverage.walk_speed":
                node.pop("walk_speed_mps", None)
            if isinstance(value, dict) and isinstance(node.get(last), dict):
                value = _merge(node[last], value)
            if last in _PATH_KEYS and isinstance(value, str | Path):
                value = Path(value).resolve()  # relative to the current folder
            node[last] = value
        return _validated(
            data,
            f"scenario {self.name!r} with changes {sorted(changes)}",
            relative_to="the current folder",
        )

    def input_paths(self) -> dict[str, Path]:
        """Every input path by its key in the file (``inputs.streets.path``...)."""
        i = self.inputs
        paths = {
            "inputs.streets.path": i.streets.path,
            "inputs.communities.path": i.communities.path,
            "inputs.population.path": i.population.path,
            "inputs.facilities.path": i.facilities.path,
        }
        if i.candidates is not None:
            paths["inputs.candidates.path"] = i.candidates.path
        if self.candidate_generation and self.candidate_generation.excluded_areas:
            paths["candidate_generation.excluded_areas"] = self.candidate_generation.excluded_areas
        if i.network.path is not None:
            key = "inputs.network.osm_file" if i.network.osm_file else "inputs.network.road_layer"
            paths[key] = i.network.path
        for key in ("compounds", "district_stats"):
            layer = getattr(i, key)
            if layer is not None:
                paths[f"inputs.{key}.path"] = layer.path
        return paths


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _resolve(data: dict[str, object], base: Path) -> None:
    """Make the input paths absolute, relative to the scenario file's folder."""
    inputs = data.get("inputs")
    if not isinstance(inputs, dict):
        return
    for entry in inputs.values():
        if isinstance(entry, dict):
            for key in ("path", "osm_file", "road_layer", "cache_dir"):
                if isinstance(entry.get(key), str):
                    entry[key] = str((base / entry[key]).resolve())


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A scenario file's keys with its ``base:`` chain merged in, paths made absolute."""
    if not path.is_file():
        where = f" (the `base` of {seen[-1]})" if seen else ""
        raise InputFileNotFoundError(f"scenario file {str(path)!r} does not exist{where}")
    if path.resolve() in seen:
        chain = " -> ".join(str(p) for p in (*seen, path.resolve()))
        raise ScenarioError(f"{path}: `base` goes round in a circle: {chain}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of keys at the top level")
    _resolve(data, path.parent)
    gen = data.get("candidate_generation")
    if isinstance(gen, dict) and isinstance(gen.get("excluded_areas"), str):
        gen["excluded_areas"] = str((path.parent / gen["excluded_areas"]).resolve())
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ScenarioError(f"{path}: `base` must be the path of another scenario file")
    inherited = _read(path.parent / base, (*seen, path.resolve()))
    speed = data.get("coverage", {}) if isinstance(data.get("coverage"), dict) else {}
    if isinstance(inherited.get("coverage"), dict) and {"walk_speed", "walk_speed_mps"} & set(
        speed
    ):
        # the child's speed, preset or number, replaces the base's in either form
        inherited["coverage"] = {
            k: v
            for k, v in inherited["coverage"].items()
            if k not in ("walk_speed", "walk_speed_mps")
        }
    return _merge(inherited, data)


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file (``base:`` chains merged); every problem is reported
    in one error naming the file and the key."""
    path = Path(path)
    return _validated(_read(path), str(path))


_PATH_KEYS = frozenset({"path", "osm_file", "road_layer", "cache_dir", "excluded_areas"})


def _validated(
    data: dict[str, Any], path: str, *, relative_to: str = "the scenario file"
) -> Scenario:
    """Validate scenario data; ``path`` names where it came from in every message."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            shown = "" if err["type"] == "missing" else f" (got {err['input']!r})"
            if err["type"] == "extra_forbidden":
                shown = ""
            lines.append(f"  - {_where(err['loc'])}: {what}{shown}")
        raise ScenarioError(f"{path}: {len(lines)} problem(s):\n" + "\n".join(lines)) from None
    try:
        load_rules(scenario.rules.set, scenario.rules.overrides)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: rules: {exc}") from None
    missing = [
        f"  - {key}: {p} does not exist"
        for key, p in scenario.input_paths().items()
        if not p.exists()
    ]
    if missing:
        raise InputFileNotFoundError(
            f"{path}: {len(missing)} input file(s) not found "
            f"(relative paths are relative to {relative_to}):\n" + "\n".join(missing)
        )
    return scenario
