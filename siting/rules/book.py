"""The rule book: planning figures as data, each with its source and a confidence mark.

Rule sets are YAML files in ``siting/rules/sets/``: ``national``, ``henan`` and the cities
``henan/kaifeng``, ``henan/xinxiang``, ``henan/puyang``, ``henan/jiaozuo``. A set extends the
one above it in the path (a city extends ``henan``, which extends ``national``); a rule with the
same id replaces the inherited one. A scenario picks a set and may override single figures;
an override keeps the rule's text and says where the new figure came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from siting._errors import ScenarioError

Confidence = Literal["seed", "std", "2nd", "unverified", "scenario"]


class _RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str
    figure: float
    unit: str
    applies_to: tuple[str, ...]
    source: str
    confidence: Literal["seed", "std", "2nd", "unverified"]


class _SetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    facility_roles: dict[str, tuple[str, ...]] = {}
    facility_type_variants: dict[str, str] = {}
    rules: dict[str, _RuleSpec] = {}


@dataclass(frozen=True)
class Rule:
    """One planning figure and where it comes from."""

    id: str
    title: str
    figure: float
    unit: str
    applies_to: tuple[str, ...]
    source: str
    confidence: Confidence
    defined_in: str  # the rule set that set this figure


@dataclass(frozen=True)
class RuleBook:
    """The rules in force for one set, inheritance and overrides applied."""

    set_id: str
    titles: tuple[str, ...]  # the chain, from national down
    rules: Mapping[str, Rule]
    facility_roles: Mapping[str, tuple[str, ...]]
    type_variants: Mapping[str, str] = field(default_factory=dict)  # other spelling -> type

    def get(self, rule_id: str) -> Rule | None:
        return self.rules.get(rule_id)

    def role_of(self, facility_type: str) -> str | None:
        """The checks' role (``street_centre``, ``community``...) of a facility ``type``."""
        for role, types in self.facility_roles.items():
            if facility_type in types:
                return role
        return None

    def known_types(self) -> tuple[str, ...]:
        """Every canonical facility ``type`` of the set (those with a role)."""
        return tuple(dict.fromkeys(t for types in self.facility_roles.values() for t in types))


CITY_RULE_SETS = {
    "4102": "henan/kaifeng",
    "4107": "henan/xinxiang",
    "4108": "henan/jiaozuo",
    "4109": "henan/puyang",
}
"""The city rule set for an admin code's first four digits (the city)."""


def rule_set_for(code: str) -> str:
    """The most specific shipped rule set for an admin code (``"410902"`` -> ``henan/puyang``).

    A Henan code outside the four cities gets ``henan``; anything else ``national``.
    """
    code = str(code)
    if code[:4] in CITY_RULE_SETS:
        return CITY_RULE_SETS[code[:4]]
    return "henan" if code.startswith("41") else "national"


def _sets_dir() -> resources.abc.Traversable:
    return resources.files("siting.rules") / "sets"


def available_sets() -> list[str]:
    """Every rule set id shipped with the package."""
    root = _sets_dir()
    found = [p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml")]
    for sub in root.iterdir():
        if sub.is_dir():
            found += [
                f"{sub.name}/{p.name[:-5]}" for p in sub.iterdir() if p.name.endswith(".yaml")
            ]
    return sorted(found, key=lambda s: (s.count("/"), s != "national", s))


def _read_set(set_id: str) -> _SetSpec:
    path = _sets_dir().joinpath(*f"{set_id}.yaml".split("/"))
    if not path.is_file():
        raise ScenarioError(f"unknown rule set {set_id!r}; available: {available_sets()}")
    try:
        spec = _SetSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise ScenarioError(f"rule set {set_id!r} is malformed: {exc}") from None
    if spec.id != set_id:
        raise ScenarioError(f"rule set file {set_id!r} declares id {spec.id!r}")
    return spec


def _chain(set_id: str) -> list[str]:
    """``henan/puyang`` -> ``["national", "henan", "henan/puyang"]``."""
    parts = set_id.split("/")
    chain = ["national"] if set_id != "national" else []
    chain += ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return chain


def load_rules(
    set_id: str, overrides: Mapping[str, float] | None = None, *, override_source: str = "scenario"
) -> RuleBook:
    """The rule book for ``set_id`` with optional figure overrides by rule id.

    Examples
    --------
    >>> book = load_rules("henan/puyang")
    >>> book.get("land_per_capita").figure, book.get("street_centre_floor").figure
    (0.2, 1500.0)
    >>> load_rules("henan/xinxiang").get("land_per_capita").figure
    0.1
    """
    rules: dict[str, Rule] = {}
    roles: dict[str, tuple[str, ...]] = {}
    variants: dict[str, str] = {}
    titles = []
    for link in _chain(set_id):
        spec = _read_set(link)
        titles.append(spec.title)
        for role, types in spec.facility_roles.items():
            roles[role] = tuple(dict.fromkeys(roles.get(role, ()) + types))
        variants |= spec.facility_type_variants
        for rid, r in spec.rules.items():
            rules[rid] = Rule(
                id=rid,
                title=r.title,
                figure=r.figure,
                unit=r.unit,
                applies_to=r.applies_to,
                source=r.source,
                confidence=r.confidence,
                defined_in=link,
            )
    for rid, figure in (overrides or {}).items():
        if rid not in rules:
            raise ScenarioError(
                f"`rules.overrides` names unknown rule {rid!r}; rules in "
                f"{set_id!r}: {sorted(rules)}"
            )
        old = rules[rid]
        rules[rid] = replace(
            old,
            figure=float(figure),
            confidence="scenario",
            source=f"{override_source} override (was {old.figure:g} {old.unit}, {old.source})",
            defined_in=override_source,
        )
    known = {t for types in roles.values() for t in types}
    stray = {v: t for v, t in variants.items() if t not in known or v in known}
    if stray:
        raise ScenarioError(
            f"rule set {set_id!r}: facility_type_variants must map a variant that is not itself "
            f"a type to a type with a role; wrong: {stray}"
        )
    return RuleBook(
        set_id=set_id,
        titles=tuple(titles),
        rules=rules,
        facility_roles=roles,
        type_variants=variants,
    )


CONFIDENCE_ZH = {
    "seed": "政策原文",
    "std": "国家标准",
    "2nd": "二手资料",
    "unverified": "待核实",
    "scenario": "情景设定",
}
"""The confidence marks as printed for readers (data files and CSVs keep the codes)."""


def format_rules(book: RuleBook) -> str:
    """A plain-text table of the rules in force, for ``siting rules list``: each rule's figure
    and title, then its source by official title and number and how sure the figure is."""
    lines = [f"规则集 {book.set_id}：" + " > ".join(book.titles), ""]
    for r in sorted(book.rules.values(), key=lambda r: r.id):
        mark = CONFIDENCE_ZH.get(r.confidence, r.confidence)
        lines.append(f"{r.id:38s} {r.figure:>8g} {r.unit:14s} {r.title}")
        lines.append(f"{'':38s} 依据：{r.source}")
        lines.append(f"{'':38s} 可信度：{mark}（规则集 {r.defined_in}）")
    return "\n".join(lines)
