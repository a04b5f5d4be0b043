"""Facility types: read every spelling a bureau uses as one canonical type, or stop.

A facility whose ``type`` is not one the run knows would silently leave every service circle
(a trailing space did that: 3,829 elderly fewer covered, nothing said). So each ``type`` is
normalised (Unicode NFKC, every half- or full-width space removed), then

- a canonical type of the rule book (``facility_roles``) or one the scenario declares
  (``coverage.extra_facility_types``) is kept;
- a known variant (``facility_type_variants`` in the rule-set data: 社区日照中心 ->
  社区日间照料中心 ...) is read as its canonical type, and the run records which ids;
- anything else stops the run, naming the types, their facility ids and the accepted list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from siting._errors import InputDataError, ScenarioError
from siting._messages import preview
from siting._record import preview_zh, warn
from siting.rules.book import RuleBook

_SPACE = re.compile(r"\s+")  # str patterns match every Unicode space, U+3000 included


def clean(value: object) -> str:
    """``value`` as text in NFKC with every space removed (``' 社区日间照料中心\u3000'``)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", str(value)))


CIRCLE_ROLES = ("street_centre", "community", "rural_home")
"""The rule-set roles whose facilities serve a 一刻钟/一公里 circle by default."""


@dataclass(frozen=True)
class TypeTable:
    """The types a run accepts: canonical ones, the variants read as them, which form circles
    (``circle``) and which could by their role (``circle_capable``)."""

    accepted: tuple[str, ...]
    variants: Mapping[str, str]
    circle: tuple[str, ...]
    circle_capable: tuple[str, ...] = ()

    def canonical(self, value: object) -> str | None:
        """The canonical type of ``value``, or None when it is unknown."""
        text = clean(value)
        if text in self.accepted:
            return text
        return self.variants.get(text)


def type_table(
    book: RuleBook, circle_types: Iterable[str] | None, extra: Mapping[str, str] | None = None
) -> TypeTable:
    """The accepted types for a rule book and a scenario's circle types and declared extras.

    The scenario's circle types go through the same table (a variant there means its
    canonical type); one that is neither known nor declared is an error. ``None``: every type
    with a circle role in the rule set (:data:`CIRCLE_ROLES`), and the extras declared circle.
    """
    extra = {clean(t): role for t, role in (extra or {}).items()}
    capable = tuple(t for role in CIRCLE_ROLES for t in book.facility_roles.get(role, ()))
    if circle_types is None:
        circle_types = [*capable, *(t for t, role in extra.items() if role == "circle")]
    accepted = tuple(dict.fromkeys([*book.known_types(), *extra]))
    variants = {clean(v): t for v, t in book.type_variants.items() if clean(v) not in extra}
    circle, unknown = [], []
    for t in circle_types:
        text = clean(t)
        name = text if text in accepted else variants.get(text)
        if name is None:
            unknown.append(t)
        else:
            circle.append(name)
    if unknown:
        raise ScenarioError(
            f"`coverage.facility_types` names types the rule set {book.set_id!r} does not know: "
            f"{preview(unknown)}; known types: {preview(accepted, 30)}. Declare a new one under "
            "`coverage.extra_facility_types` (e.g. {新类型: circle})"
        )
    return TypeTable(accepted, variants, tuple(dict.fromkeys(circle)), capable)


def normalise_types(
    facilities: pd.DataFrame, table: TypeTable, *, source: str, column: str = "type"
) -> pd.DataFrame:
    """``facilities`` with ``column`` canonical; variants recorded, unknown types an error."""
    raw = facilities[column]
    canonical = raw.map(lambda v: None if pd.isna(v) else table.canonical(v))
    unknown = canonical.isna()
    if unknown.any():
        shown = raw[unknown].map(lambda v: "(empty)" if pd.isna(v) or not clean(v) else str(v))
        groups = facilities.index[unknown].to_series().groupby(shown.to_numpy())
        listed = "; ".join(f"{t!r}: ids {preview(list(ids))}" for t, ids in groups)
        raise InputDataError(
            f"{source}: column {column!r} has {groups.ngroups} facility type(s) siting does not "
            f"know, so these facilities would count in no service circle: {listed}. Accepted "
            f"types: {preview(table.accepted, 30)} (and the variants of the rule set's "
            "facility_type_variants). Correct the spelling, or declare the type in the "
            "scenario: `coverage.extra_facility_types: {类型: circle}` (forms service circles) "
            "or `{类型: land}` (counts for land only)"
        )
    spaced = raw.astype(str) != raw.map(clean)
    if spaced.any():
        warn(
            "facility_type_spaces",
            f"{source}: {int(spaced.sum())} facility type(s) had spaces or full-width "
            f"characters, removed: {preview(raw[spaced].astype(str).unique().tolist())}",
            facilities.index[spaced],
            zh=f"{source}：{int(spaced.sum())} 个设施类型含空格或全角字符，已去除："
            f"{preview_zh(raw[spaced].astype(str).unique().tolist())}",
        )
    varied = canonical != raw.map(clean)
    for (old, new), part in facilities[varied].groupby(
        [raw[varied].map(clean), canonical[varied]], sort=True
    ):
        warn(
            "facility_type_variant",
            f"{source}: facility type {old!r} read as {new!r} (rule set table "
            f"facility_type_variants) for {len(part)} facilities",
            part.index,
            zh=f"{source}：{len(part)} 个设施的类型 {old!r} 按 {new!r} 读取（规则集的 "
            "facility_type_variants 表）",
        )
    left_out = canonical.isin(table.circle_capable) & ~canonical.isin(table.circle)
    if left_out.any():
        kinds = sorted(canonical[left_out].unique())
        warn(
            "facility_types_not_in_circles",
            f"{source}: {int(left_out.sum())} facilities of types {kinds} (a community, street "
            "or village role in the rule set) form no service circle because "
            "`coverage.facility_types` does not list those types; they count for land only. "
            "List them there (or leave `facility_types` unset: every such type counts)",
            facilities.index[left_out],
            zh=f"{source}：{int(left_out.sum())} 个类型为 {kinds} 的设施（规则集中属社区、街道或"
            "村一级）不形成服务圈，因为 `coverage.facility_types` 未列出这些类型；它们只计入用地。"
            "请在该项中列出（或不设 `facility_types`：所有此类类型都计入）",
        )
    return facilities.assign(**{column: canonical.to_numpy()})
