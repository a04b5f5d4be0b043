"""The 合计/小计 rows of a population table: found by their name (合计, 小计, 全区 …) or by having
figures and no name, checked against the rows they sum (a 街道's 小计 against its 社区, the 合计
against all), and left out of the 社区/村 with a warning that says whether each sum held."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from siting._messages import Problems, preview
from siting._record import warn
from siting.inputs.age_bands import TableSpec, figure_columns
from siting.inputs.names import (
    REPORT_COLUMNS,
    as_written,
    street_key,
)
from siting.io.tables import clean_text


def _blank(values: pd.Series) -> pd.Series:
    return values.map(lambda v: clean_text(v) == "")


def row_kinds(frame: pd.DataFrame, spec: TableSpec) -> pd.Series:
    """``data``, ``grand`` (合计…), ``sub`` (小计, or a 街道's row with figures and no name) or
    ``skip`` (no name, code or figure: headings and notes)."""
    kinds = pd.Series("data", index=frame.index, dtype=object)
    if frame.empty:
        return kinds
    serial = [c for c in frame.columns if clean_text(c) in _SERIAL_HEADERS]
    ids = [c for c in (spec.code, spec.name) if c]
    ident = list(dict.fromkeys([*ids, *([spec.street] if spec.street else []), *serial]))
    ident += [frame.columns[0]] if frame.columns[0] not in ident else []
    texts = frame[ident].map(clean_text)
    grand = texts.apply(
        lambda r: (
            any(m in t for t in r for m in _GRAND_MARKERS) or any(t in _WHOLE_AREAS for t in r)
        ),
        axis=1,
    )
    sub = texts.apply(lambda r: any(m in t for t in r for m in _SUB_MARKERS), axis=1)
    figures = figure_columns(frame, spec)
    has_figures = (
        ~frame[figures].apply(_blank).all(axis=1) if figures else pd.Series(False, frame.index)
    )
    no_id = (texts[ids] == "").all(axis=1) if ids else pd.Series(False, index=frame.index)
    in_street = texts[spec.street].ne("") if spec.street else pd.Series(False, index=frame.index)
    kinds[no_id & has_figures & in_street] = "sub"
    kinds[no_id & has_figures & ~in_street] = "grand"
    kinds[no_id & ~has_figures] = "skip"
    kinds[sub] = "sub"
    kinds[grand & ~sub] = "grand"
    return kinds


def fill_streets(frame: pd.DataFrame, spec: TableSpec, kinds: pd.Series) -> int:
    """A 街道 written once per block (merged cells) filled down into the data rows below it."""
    assert spec.street is not None
    col = frame[spec.street]
    written = ~_blank(col)
    carried = col.where(written & (kinds != "grand")).ffill()
    fill = ~written & (kinds == "data") & carried.notna()
    frame.loc[fill, spec.street] = carried[fill]
    return int(fill.sum())


def _numbers(values: pd.Series) -> pd.Series:
    from siting.io.tables import as_numbers

    return as_numbers(values)


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def check_totals(
    frame: pd.DataFrame,
    spec: TableSpec,
    kinds: pd.Series,
    lines: pd.Series,
    source: str,
    scalar: Mapping[str, str],
) -> tuple[str, ...]:
    """Each total row against the rows it sums (to 0.5 per figure), in one recorded warning."""
    totals = kinds.index[kinds.isin(["grand", "sub"])]
    if not len(totals):
        return ()
    figures = figure_columns(frame, spec)
    named = {c: scalar.get(c, c) for c in figures}
    values = frame[figures].apply(_numbers) if figures else pd.DataFrame(index=frame.index)
    data = kinds == "data"
    keys = _street_keys(frame, spec, totals) if spec.street else None
    order = list(kinds.index)
    out = []
    zh = []  # the same lines in Chinese, for the documents people read
    for label in totals:
        candidates = _sum_candidates(label, kinds, data, keys, order, lines)
        given = values.loc[label].dropna()
        shown = ", ".join(f"{named[c]} {_fmt(v)}" for c, v in given.items())
        text = _row_text(frame, label, spec)
        verdict = "no figures to check"
        verdict_zh = "无数值可核对"
        if len(given) and candidates:
            verdict = ""
            for what, rows in candidates:
                diff = given - values.loc[rows, list(given.index)].sum()
                if (diff.abs() <= 0.5).all():
                    verdict = f"equals the sum of {what}: verified"
                    verdict_zh = f"等于{_what_zh(what)}之和：已核实"
                    break
            if not verdict:
                what, rows = candidates[0]
                diff = given - values.loc[rows, list(given.index)].sum()
                off = ", ".join(
                    f"{named[c]} {'+' if d > 0 else ''}{_fmt(d)}"
                    for c, d in diff.items()
                    if abs(d) > 0.5
                )
                verdict = f"does NOT equal the sum of {what}: off by {off}"
                verdict_zh = f"不等于{_what_zh(what)}之和：相差 {off}"
        out.append(f"row {int(lines[label])} {text!r} ({shown}) {verdict}")
        zh.append(f"第 {int(lines[label])} 行 {text!r}（{shown}）{verdict_zh}")
    warn(
        "population_total_rows",
        f"{source}: {len(out)} total/subtotal row(s) skipped (they are not 社区/村): "
        + "; ".join(out)
        + (
            "; a total that does not add up means rows are missing, repeated or mistyped: "
            "check the table"
            if any("NOT" in o for o in out)
            else ""
        ),
        [f"row {int(lines[t])}" for t in totals],
        zh=f"{source}：跳过 {len(out)} 个合计/小计行（它们不是社区/村）："
        + "；".join(zh)
        + (
            "；合计与各行之和不符，说明有行缺失、重复或填错：请核对该表"
            if any("NOT" in o for o in out)
            else ""
        ),
    )
    return tuple(out)


def _street_keys(frame: pd.DataFrame, spec: TableSpec, totals: pd.Index) -> pd.Series:
    """Each row's 街道 for comparison; a total row with an empty 街道 cell takes the 街道 its
    label names (``李庄镇小计`` -> 李庄镇)."""
    assert spec.street is not None
    keys = frame[spec.street].map(street_key)
    for label in totals:
        if not keys[label]:
            text = clean_text(_row_text(frame, label, spec))
            for marker in (*_SUB_MARKERS, *_GRAND_MARKERS):
                text = text.replace(marker, "")
            keys[label] = street_key(text)
    return keys


def _what_zh(what: str) -> str:
    """A set of rows as :func:`_sum_candidates` names it, in Chinese."""
    if what == "all the other rows":
        return "其余所有行"
    if m := re.fullmatch(r"the rows of its 街道 \((\d+)\)", what):
        return f"所属街道的 {m[1]} 行"
    if m := re.fullmatch(r"its 街道's rows (\d+)-(\d+) above it", what):
        return f"其上方所属街道的第 {m[1]}-{m[2]} 行"
    if m := re.fullmatch(r"rows (\d+)-(\d+)", what):
        return f"第 {m[1]}-{m[2]} 行"
    return what


def _sum_candidates(
    label: Any,
    kinds: pd.Series,
    data: pd.Series,
    keys: pd.Series | None,
    order: list[Any],
    lines: pd.Series,
) -> list[tuple[str, list[Any]]]:
    """The sets of data rows a total row may sum, most likely first: all rows (合计), the rows
    of its 街道, the block of rows above it, the block below it."""
    at = order.index(label)
    boundaries = [i for i, k in enumerate(kinds) if k in ("grand", "sub")]
    above = [i for i in boundaries if i < at]
    below = [i for i in boundaries if i > at]
    start, end = (above[-1] + 1 if above else 0), (below[0] if below else len(order))
    block_above = [order[i] for i in range(start, at) if data.iloc[i]]
    block_below = [order[i] for i in range(at + 1, end) if data.iloc[i]]
    everything = [x for x, d in zip(order, data, strict=True) if d]
    same_street: list[Any] = []
    street_above: list[Any] = []  # its 街道's rows above it since the previous total
    if keys is not None:
        street = keys[label]
        if not street and kinds[label] == "sub":  # 小计 in a merged block: the 街道 above it
            street = next(
                (keys[order[i]] for i in range(at - 1, start - 1, -1) if data.iloc[i]), ""
            )
        if street and keys[label]:
            same_street = [x for x in everything if keys[x] == street]
        if street:
            street_above = [x for x in block_above if keys[x] == street]
    out: list[tuple[str, list[Any]]] = []
    if kinds[label] == "grand":
        out.append(("all the other rows", everything))
    if same_street:
        out.append((f"the rows of its 街道 ({len(same_street)})", same_street))
    if street_above and street_above != block_above and street_above != same_street:
        first, last = int(lines[street_above[0]]), int(lines[street_above[-1]])
        out.append((f"its 街道's rows {first}-{last} above it", street_above))
    for block in (block_above, block_below):
        if block:
            first, last = int(lines[block[0]]), int(lines[block[-1]])
            out.append((f"rows {first}-{last}", block))
    if kinds[label] != "grand":
        out.append(("all the other rows", everything))
    return [(w, r) for w, r in out if r]


def _row_text(frame: pd.DataFrame, label: Any, spec: TableSpec) -> str:
    cells = [frame.at[label, c] for c in frame.columns[:4] if c not in figure_columns(frame, spec)]
    texts = [str(c).strip() for c in cells if clean_text(c)]
    return " ".join(texts) or "(no name)"


def row_names(frame: pd.DataFrame, spec: TableSpec, lines: pd.Series) -> pd.Series:
    """Each row as messages name it: its code, or its name as written."""
    col = spec.code if spec.join == "code" and spec.code else spec.name
    if col is None:
        return lines.map(lambda n: f"row {n}")
    return frame[col].map(lambda v: "" if clean_text(v) == "" else str(v).strip())


def summed(
    frame: pd.DataFrame,
    cols: list[str],
    written: list[str],
    lines: pd.Series,
    problems: Problems,
    names: pd.Series,
    *,
    check_one: bool = False,
    refused: set[Any],
) -> pd.Series:
    """One column as written (checked later like any figure, unless ``check_one``), or several
    added up: each a number >= 0 (text is refused; an empty cell leaves the sum empty, for
    ``nan_policy``)."""
    if len(cols) == 1 and not check_one:
        return frame[cols[0]]
    total = pd.Series(0.0, index=frame.index)
    for col, label in zip(cols, written, strict=True):
        raw = frame[col]
        values = _numbers(raw)
        text = values.isna() & ~_blank(raw)
        negative = values < 0
        for bad, what, fix in (
            (text, "text that is not a number", "write the number of people (0 for none)"),
            (negative, "negative figures", "population counts cannot be negative"),
        ):
            if bad.any():
                refused.update(bad.index[bad])
                problems.add(
                    f"{'age-band ' if len(cols) > 1 else ''}column {label!r} holds {what} on rows "
                    f"{preview(lines[bad].astype(int).tolist())} ({_pairs(names[bad], raw[bad])})"
                    f"; {fix}"
                )
        total = total + values
    return total


def _pairs(names: pd.Series, values: pd.Series) -> str:
    items = [f"{n}: {v!r}" for n, v in zip(names, values, strict=True)]
    return ", ".join(items[:10]) + (f", ... ({len(items)} in all)" if len(items) > 10 else "")


def by_code(
    frame: pd.DataFrame, units: pd.DataFrame, spec: TableSpec, lines: pd.Series
) -> pd.DataFrame:
    """The join report of a join by code (every row, ``how`` = code)."""
    if spec.code is None:
        return pd.DataFrame(columns=REPORT_COLUMNS)
    from siting.io.tables import string_ids

    codes = string_ids(frame[spec.code])
    known = codes.isin(units.index)
    names = units["name"].reindex(codes[known]).to_numpy()
    return pd.DataFrame(
        {
            "row": lines[known].astype(int).to_numpy(),
            "name_as_written": as_written(frame, spec.name)[known].to_numpy(),
            "street_as_written": as_written(frame, spec.street)[known].to_numpy(),
            "code": codes[known].to_numpy(),
            "matched_name": names,
            "how": "code",
        },
        columns=REPORT_COLUMNS,
    )


# committee suffixes of a 社区/村 name, longest first: the unit keeps its 社区 / 村
_GRAND_MARKERS = ("合计", "总计", "共计")


_SUB_MARKERS = ("小计",)


_WHOLE_AREAS = ("全区", "全县", "全市", "全镇", "全乡", "全街道", "全旗")


_SERIAL_HEADERS = {"序号", "序", "编号", "行号"}
