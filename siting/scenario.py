"""Scenario files: a strict YAML schema for one siting run.

Unknown keys, wrong types, radii <= 0 and paths that do not exist are errors naming the key and
the file; YAML is read with the safe loader (no code runs). Relative paths are relative to the
scenario file. See the README's "Scenario files" section for every key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from siting._errors import InputFileNotFoundError, ScenarioError
from siting.rules.book import load_rules

Positive = Annotated[float, Field(gt=0)]
CoordSystemName = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Layer(_Strict):
    """An input file and, optionally, a map from canonical column names to the file's."""

    path: Path
    columns: dict[str, str] = Field(default_factory=dict)
    layer: str | None = None


class PointLayer(Layer):
    """A facility or candidate layer; lon/lat tables must declare their coordinate system."""

    coord_system: CoordSystemName


class Network(_Strict):
    osm_file: Path


class Inputs(_Strict):
    streets: Layer
    communities: Layer
    population: Layer
    facilities: PointLayer
    candidates: PointLayer
    network: Network
    compounds: Layer | None = None  # 小区: id, name, community_code, households, status...
    district_stats: Layer | None = None  # code, family_care_beds, social_workers


class Coverage(_Strict):
    """The service circles. 社区 use ``urban_minutes x walk_speed_mps``; 村 ``rural_radius_m``."""

    walk_speed_mps: Positive = 1.0
    urban_minutes: Positive = 15.0
    rural_radius_m: Positive = 1000.0
    facility_types: tuple[str, ...] = ("社区日间照料中心", "街道综合养老服务中心", "农村幸福院")
    snap_warn_m: Positive = 200.0

    @property
    def urban_radius_m(self) -> float:
        return self.urban_minutes * 60.0 * self.walk_speed_mps


class Model(_Strict):
    """MCLP: at most ``p`` new sites and/or total ``budget`` (costs from ``cost_column`` of the
    candidates); ``excluded`` candidate ids never open; ``method`` auto, exact or fast."""

    name: Literal["mclp"] = "mclp"
    p: Annotated[int, Field(ge=0)] | None = None
    budget: Annotated[float, Field(ge=0)] | None = None
    cost_column: str | None = None
    excluded: tuple[str, ...] = ()
    method: Literal["auto", "exact", "fast"] = "auto"
    time_limit_s: Positive = 60.0

    @model_validator(mode="after")
    def _p_or_budget(self) -> Model:
        if self.p is None and self.budget is None:
            raise ValueError("give `p` (most new sites), `budget`, or both")
        if self.budget is not None and self.cost_column is None:
            raise ValueError("`budget` needs `cost_column`: the candidates' cost column")
        return self


class Rules(_Strict):
    """The rule set in force (``national``, ``henan``, ``henan/puyang``...) and overrides."""

    set: str = "henan"
    overrides: dict[str, float] = Field(default_factory=dict)


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

    @field_validator("name")
    @classmethod
    def _name_is_a_folder_name(cls, v: str) -> str:
        if not v or any(ch in v for ch in '/\\:*?"<>|') or v in {".", ".."}:
            raise ValueError("must be a plain name usable as a folder name")
        return v

    def input_paths(self) -> dict[str, Path]:
        """Every input path by its key in the file (``inputs.streets.path``...)."""
        i = self.inputs
        paths = {
            "inputs.streets.path": i.streets.path,
            "inputs.communities.path": i.communities.path,
            "inputs.population.path": i.population.path,
            "inputs.facilities.path": i.facilities.path,
            "inputs.candidates.path": i.candidates.path,
            "inputs.network.osm_file": i.network.osm_file,
        }
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
            for key in ("path", "osm_file"):
                if isinstance(entry.get(key), str):
                    entry[key] = str((base / entry[key]).resolve())


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file; every problem is reported in one error."""
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"scenario file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of keys at the top level")
    _resolve(data, path.parent)
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
            "(relative paths are relative to the scenario file):\n" + "\n".join(missing)
        )
    return scenario
