"""Joining the population table to the 社区/村 layer: by admin code where both have one (a code
Excel turned into 4.1e+11 or 410102001.0 is named, not matched), else by name within the 街道
(:mod:`siting.inputs.names`), with a row-by-row join report and the check that every 社区/村
lies in the 街道/乡镇 it names."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import pandas as pd

from siting._errors import InputDataError
from siting._messages import Problems, preview, require_columns
from siting._record import preview_zh, warn
from siting.io.tables import (
    SCIENTIFIC_ID,
    as_numbers,
    check_ids,
    check_numbers,
    column_label,
    string_ids,
)

if TYPE_CHECKING:
    from siting.inputs.population import JoinReport

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Joined:
    """社区/村 with their population, every population row left out with the reason, and how
    the table was read and joined. Unpacks as ``units, excluded = join_population(...)``."""

    units: gpd.GeoDataFrame
    excluded: pd.DataFrame  # code, elderly_60plus, reason
    report: JoinReport | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.units, self.excluded))


def join_population(
    units: gpd.GeoDataFrame,
    table: pd.DataFrame,
    *,
    source: str,
    columns: Mapping[str, str | Sequence[str]] | None = None,
    nan_policy: Literal["raise", "drop", "zero"] = "raise",
    unmatched: Literal["error", "exclude"] = "error",
    join: Literal["code", "name"] | None = None,
    streets: pd.DataFrame | None = None,
    age_group: str = "60+",
) -> Joined:
    """Attach ``elderly_60plus``, ``residents`` and ``households`` to 社区/村 by ``code``, or by
    ``name`` within their 街道.

    Every polygon must have a row. A row without a polygon (a development zone with
    statistics but no boundary) stops the run with the codes listed, unless ``unmatched`` is
    ``exclude``: it is then left out and returned in ``excluded``. Missing or non-numeric
    figures stop the run (``nan_policy="raise"``), or set the 社区/村 to 0 (``zero``), or leave
    it out (``drop``, listed in ``excluded``); negative figures always stop it. Totals are
    logged before and after, so nothing leaves silently.

    A bureau's table (:mod:`siting.inputs.population`) is made tidy first: total rows (合计, 小计…)
    skipped, checked against the rows they sum and recorded; ``columns`` may map ``elderly``
    (or ``elderly_60plus``) to a list of age-band columns, added up, and age bands are found by
    their headers when nothing is mapped; ``join="name"`` (default: by code when the table has
    a ``code`` column, else by name) matches ``name`` to the 社区/村 names within the 街道 of
    ``street`` (a 街道 name, matched to ``streets``, or its 9-digit code). ``age_group``
    (60+, 65+, 80+) is the group ``elderly_60plus`` counts in the result; under another group
    than 60+ the result also has ``age_group`` and ``pop_60plus`` (the 60+ figure for the rules
    per 60+ population, empty when the table gives none).
    """
    from siting.inputs.population import shape

    code_column = str((columns or {}).get("code", "code"))
    stored_as_numbers = set(table.attrs.get("numeric_ids", {}).get(code_column, ()))
    problems = Problems(source)
    shaped = shape(
        units,
        table,
        problems=problems,
        source=source,
        columns=columns,
        join=join,
        streets=streets,
        age_group=age_group,
        unmatched=unmatched,
    )
    figure, labels = shaped.figure, shaped.labels
    needed = ["code", figure, "residents", "households"]
    found = len(problems.items)  # the table's own problems (names, bands): listed with the rest
    if shaped.report.by == "code":
        hint = "or set `join: name` to join by 社区/村 name" if "name" in shaped.present else ""
        require_columns(problems, shaped.present, ["code"], hint=hint)
    if not shaped.figure_failed:
        require_columns(problems, shaped.present, [figure])
    require_columns(problems, shaped.present, needed[2:])
    if shaped.figure_failed or len(problems.items) > found:
        problems.raise_if_any(InputDataError)
    table = shaped.table[~shaped.refused].copy()  # figures already reported as not numbers
    lines = shaped.lines[~shaped.refused]
    table["code"] = string_ids(table["code"])
    found = len(problems.items)
    check_ids(problems, table["code"], "code", lines)
    if len(problems.items) > found:
        problems.raise_if_any(InputDataError)
    rows = {c: int(n) for c, n in zip(table["code"], lines, strict=True)}  # lines in the file
    if shaped.refused.any():  # their 社区/村 are not "without a row": their rows are reported
        units = units.drop(
            index=string_ids(shaped.table["code"][shaped.refused]).dropna(), errors="ignore"
        )
    values = table[needed[1:]].apply(as_numbers)
    negative = (values < 0).any(axis=1)
    for col in needed[1:]:
        below = values[col] < 0
        if below.any():
            problems.add(
                f"column {column_label(col, labels)} has negative figures for codes "
                f"{preview(table.loc[below, 'code'].tolist())} (values "
                f"{preview(table.loc[below, col].tolist())}); population counts cannot be "
                "negative"
            )
    missing = values.isna().any(axis=1) & ~negative
    excluded = list(shaped.excluded)
    if missing.any() and nan_policy == "raise":
        check_numbers(problems, table.loc[missing].copy(), needed[1:], "code", renamed=labels)
        problems.items[-1] += (  # the fix of the problem above, not a problem of its own
            "; set `nan_policy: zero` (count them as 0) or `drop` (leave the 社区/村 "
            "out, listed) if that is what the figures mean"
        )
    elif missing.any():
        codes = table.loc[missing, "code"].tolist()
        warn(
            "population_missing_figures",
            f"{source}: {len(codes)} row(s) with missing figures, codes {preview(codes)}: "
            + ("set to 0 (nan_policy: zero)" if nan_policy == "zero" else "left out (drop)"),
            codes,
            zh=f"{source}：{len(codes)} 行缺少数值，代码 {preview_zh(codes)}："
            + ("按 0 计（nan_policy: zero）" if nan_policy == "zero" else "已剔除（drop）"),
        )
        if nan_policy == "zero":
            values = values.fillna(0.0)
        else:
            excluded += [
                {
                    "code": c,
                    "elderly_60plus": values.loc[i, figure],
                    "reason": "missing population figures (nan_policy: drop)",
                }
                for i, c in zip(table.index[missing], codes, strict=True)
            ]
            units = units.drop(index=[c for c in codes if c in units.index])
            values, table = values[~missing], table[~missing]
    table = table.assign(**{c: values[c] for c in needed[1:]})
    no_row = sorted(set(units.index) - set(table["code"]))
    no_polygon = sorted(set(table["code"].dropna()) - set(units.index))
    row_damage = _damaged_codes(no_polygon, set(units.index), rows, stored_as_numbers)
    polygon_damage = _damaged_codes(no_row, set(table["code"].dropna()), {}, set())
    if no_row:
        problems.add(
            f"{len(no_row)} 社区/村 in the boundaries have no population row: codes "
            f"{preview(no_row)}; add rows or check the "
            + ("codes (leading zeros?)" if shaped.report.by == "code" else "names")
        )
    if no_polygon and unmatched == "error":
        lost = table.loc[table["code"].isin(no_polygon), figure].sum()
        problems.add(
            f"{len(no_polygon)} population rows match no boundary polygon: codes "
            f"{preview(no_polygon)} ({lost:,.0f} elderly); add their polygons, remove the "
            "rows, or set `unmatched: exclude` to leave them out (listed in summary.json)"
        )
    # under `exclude`, a row whose code is certainly damaged is no zone without a polygon
    certain = {c: d for c, d in row_damage.items() if d[1]}
    if certain and unmatched == "exclude":
        problems.add(
            f"{len(certain)} population row(s) match no boundary polygon because their codes "
            "are damaged, not because they are zones without one (`unmatched: exclude` "
            "leaves out only those)"
        )
    if problems and row_damage:
        problems.add(
            f"in {source}, column {code_column!r}: a spreadsheet turned codes into numbers: "
            f"{_describe_damage(row_damage)}. They are not repaired here (lost digits cannot "
            "be recovered, and a guess would join the wrong 社区/村). Format the code column "
            "as text in Excel (select the column, Format Cells > Text, then enter or paste the "
            "codes again: a number keeps no leading zeros and at most 15 digits, and a narrow "
            "column saves it as 4.19901E+11), or re-export the table from its source with the "
            "codes as text; then run again"
        )
    if problems and polygon_damage:
        problems.add(
            "in the boundary layer, column 'code': codes look turned into numbers: "
            f"{_describe_damage(polygon_damage)}. Store the code field as text (a string "
            "field; QGIS: Refactor fields) or re-export the layer from its source, then run "
            "again"
        )
    problems.raise_if_any(InputDataError)
    for code in no_polygon:
        excluded.append(
            {
                "code": code,
                "elderly_60plus": float(table.loc[table["code"] == code, figure].iloc[0]),
                "reason": "statistics without a boundary polygon (unmatched: exclude)",
            }
        )
    kept = [figure, "residents", "households"]
    joined = units.join(
        table.set_index("code")[kept].rename(columns={figure: "elderly_60plus"}), how="left"
    )
    if age_group != "60+":
        ratio = pd.to_numeric(table.set_index("code")["pop_60plus"], errors="coerce")
        joined["age_group"] = age_group
        joined["pop_60plus"] = ratio.reindex(joined.index)
    out = pd.DataFrame(excluded, columns=["code", "elderly_60plus", "reason"])
    report = shaped.report
    if len(out):
        gone = set(out["code"])
        report = replace(report, matches=report.matches[~report.matches["code"].isin(gone)])
    log.info(
        "joined population: %d 社区/村, %s elderly (%s), %s residents; %d row(s) left out "
        "(%s elderly)",
        len(joined),
        f"{joined['elderly_60plus'].sum():,.0f}",
        age_group,
        f"{joined['residents'].sum():,.0f}",
        len(out),
        f"{out['elderly_60plus'].sum():,.0f}",
    )
    return Joined(joined, out, report)


_POINT_ZERO = re.compile(r"^(\d+)\.0*$")


def _damaged_codes(
    unmatched: Sequence[str],
    others: Collection[str],
    rows: Mapping[str, int],
    stored_as_numbers: Collection[int],
) -> dict[str, tuple[str, bool]]:
    """Unmatched codes that a spreadsheet seems to have turned into numbers: per code, what
    happened (with its row, header = row 1, when known) and whether that is certain (digits
    gone, or the code matches the other side once read back) rather than only likely.

    Nothing is repaired: the codes are only described, for the join's error."""
    padded: dict[str, list[str]] = {}
    for code in others:
        if code.startswith("0") and code.isdigit():
            padded.setdefault(code.lstrip("0"), []).append(code)
    rounded: dict[tuple[int, int], dict[str, list[str]]] = {}  # (length, digits kept) -> ...

    def rounded_from(digits: str) -> list[str]:
        """Codes of the same length rounding to ``digits`` at its significant digits (the 6
        of '4.19901E+11', read back as 419901000000); none unless it ends in zeros."""
        kept = len(digits.rstrip("0"))
        if kept == 0 or len(digits) - kept < 3:
            return []
        key = (len(digits), kept)
        if key not in rounded:
            scale = 10 ** (len(digits) - kept)
            table: dict[str, list[str]] = {}
            for o in others:
                if len(o) == len(digits) and o.isdigit():
                    near = str((int(o) + scale // 2) // scale * scale).zfill(len(o))
                    table.setdefault(near, []).append(o)
            rounded[key] = table
        return sorted(rounded[key].get(digits, []))

    out: dict[str, tuple[str, bool]] = {}
    for code in unmatched:
        row = rows.get(code)
        where = f"row {row}: " if row is not None else ""
        sci = SCIENTIFIC_ID.match(code)
        point_zero = _POINT_ZERO.match(code)
        digits = point_zero.group(1) if point_zero else code
        if sci:
            kept = len((sci.group(1) + (sci.group(2) or "")).strip("0")) or 1
            value = float(code)
            near = rounded_from(str(int(value))) if 0 < value < 1e18 else []
            fits = f"; {preview(near, 3)} on the other side all fit it" if len(near) > 1 else ""
            out[code] = (f"{where}scientific notation, only {kept} digit(s) left{fits}", True)
        elif digits in others:
            out[code] = (f"{where}{digits!r} written as a number with '.0'", True)
        elif digits.isdigit() and digits in padded:
            out[code] = (
                f"{where}lost its leading zero(s), as {preview(padded[digits], 3)} on the other "
                "side?",
                True,
            )
        elif digits.isdigit() and (near := rounded_from(digits)):
            out[code] = (
                f"{where}digits lost as a number? {preview(near, 3)} on the other side round to it",
                False,
            )
        elif point_zero:
            out[code] = (f"{where}written as a number with '.0'", False)
        elif row in stored_as_numbers:
            out[code] = (f"{where}stored as a number in the workbook", False)
    return out


def _describe_damage(damage: Mapping[str, tuple[str, bool]]) -> str:
    items = [f"{code!r} ({what})" for code, (what, _) in damage.items()]
    more = f", ... ({len(items)} in all)" if len(items) > 10 else ""
    return ", ".join(items[:10]) + more


def check_hierarchy(
    communities: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *, source: str
) -> None:
    """Every 社区/村 must name an existing 街道/乡镇 in ``street_code``."""
    orphans = communities.loc[~communities["street_code"].isin(streets.index), "code"]
    if len(orphans):
        raise InputDataError(
            f"{source}: {len(orphans)} 社区/村 name a street_code that is not in the 街道/乡镇 "
            f"layer: codes {preview(orphans.tolist())} with street_code "
            f"{preview(communities.loc[orphans.index, 'street_code'].unique().tolist())}"
        )
