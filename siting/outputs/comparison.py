"""Side-by-side comparison of finished runs: a table (CSV, Excel, HTML) and a difference map.

Reads each run's ``summary.json``, ``coverage_by_community.csv`` and ``land_check.csv`` (so it
compares exactly what was reported), and the 社区/村 boundaries the first run read.

Text from the runs (scenario and 社区/村 names) is made inert with :mod:`siting._text`: the
CSVs are read back as written (a neutralised ``'=...`` name is the name again), HTML text is
escaped, the map's tooltips travel as escaped GeoJSON properties, and spreadsheet cells beginning
with ``= + - @`` are text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from siting._errors import InputDataError
from siting._text import html_text, read_csv_frame, text_cells
from siting.inputs.layers import read_boundaries
from siting.io.write import output_folder, write_csv, write_page, write_text, write_workbook
from siting.outputs.style import share_text
from siting.outputs.webmap.layers import filled_layer
from siting.outputs.webmap.offline import PageHtml, make_offline
from siting.outputs.webmap.page import MapControls


def _load_run(folder: Path) -> dict[str, Any]:
    summary = folder / "summary.json"
    if not summary.is_file():
        raise InputDataError(
            f"{folder}: no summary.json; give folders written by `siting run` "
            "(or scenario files, which are run first)"
        )
    data = json.loads(summary.read_text(encoding="utf-8"))
    # siting's CSVs put a ' before text beginning with = + - @: read the names back as written
    comm = read_csv_frame(
        pd.read_csv(
            folder / "coverage_by_community.csv",
            encoding="utf-8-sig",
            dtype={"code": str, "street_code": str},
        )
    )
    land = read_csv_frame(
        pd.read_csv(folder / "land_check.csv", encoding="utf-8-sig", dtype={"unit": str})
    )
    return {"summary": data, "communities": comm, "land": land, "folder": folder}


MEASURES: dict[str, tuple[str, str]] = {
    "walk_speed_mps": ("步行速度（米/秒）", "0.00"),
    "urban_radius_m": ("社区服务圈半径（米）", "#,##0"),
    "rural_radius_m": ("村服务圈半径（米）", "#,##0"),
    "age_group": ("年龄口径", "@"),
    "elderly": ("老年人口（人）", "#,##0"),
    "covered_before": ("规划前覆盖（人）", "#,##0"),
    "covered_before_share": ("规划前覆盖率", "0.0%"),
    "covered_after": ("规划后覆盖（人）", "#,##0"),
    "covered_after_share": ("规划后覆盖率", "0.0%"),
    "new_sites": ("新建站点（处）", "#,##0"),
    "new_site_ids": ("新建站点编号（按建设顺序）", "@"),
    "in_reach_after": ("服务圈内（人）", "#,##0"),
    "served_within_capacity": ("容量内服务（人）", "#,##0"),
    "over_capacity": ("服务圈内但超出容量（人）", "#,##0"),
    "uncoverable": ("任何候选点均无法覆盖（人）", "#,##0"),
    "model_status": ("模型状态", "@"),
    "gap": ("最优性差距", "0.00%"),
    "rule_failures": ("规则未达标（项）", "#,##0"),
    "land_shortfall_before_m2": ("规划前用地缺口（m²）", "#,##0.0"),
    "land_shortfall_after_m2": ("规划后用地缺口（m²）", "#,##0.0"),
}
"""Each row of the comparison: its key (``compare.csv`` and the DataFrame, for scripts), its
Chinese label and Excel number format (``compare.xlsx``, ``compare.html``, for readers)."""

NOT_MODELLED = "not modelled"
"""A capacity figure of a run whose model had no capacity (``未建模`` in the documents)."""


def table(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per measure (:data:`MEASURES`, English keys), one column per scenario; shares and
    the gap as fractions, people rounded to the person, land to 0.1 m²."""
    sums = [r["summary"] for r in runs]
    lands = [r["land"].iloc[-1] for r in runs]
    rows: dict[str, list[object]] = {
        "walk_speed_mps": [s["walk_speed_mps"] for s in sums],
        "urban_radius_m": [round(s["urban_radius_m"]) for s in sums],
        "rural_radius_m": [round(s["rural_radius_m"]) for s in sums],
        "age_group": [s.get("age_group", "60+") for s in sums],
        "elderly": [round(s["elderly_total"]) for s in sums],
    }
    for key in ("covered_before", "covered_after"):
        rows[key] = [round(s[key]["elderly"]) for s in sums]
        rows[f"{key}_share"] = [round(s[key]["share"], 4) for s in sums]
    rows["new_sites"] = [len(s["new_sites"]) for s in sums]
    rows["new_site_ids"] = [" ".join(x["id"] for x in s["new_sites"]) for s in sums]
    rows["in_reach_after"] = [round(s["covered_after"]["elderly"]) for s in sums]
    rows["served_within_capacity"] = [
        round(s["served"]["elderly"]) if "served" in s else NOT_MODELLED for s in sums
    ]
    rows["over_capacity"] = [
        round(s["over_capacity"]["elderly"]) if "over_capacity" in s else NOT_MODELLED for s in sums
    ]
    rows["uncoverable"] = [round(s["uncoverable"]["elderly"]) for s in sums]
    rows["model_status"] = [s["model"]["status"] for s in sums]
    rows["gap"] = [round(s["model"]["gap"], 6) for s in sums]
    rows["rule_failures"] = [s["compliance_failures"] for s in sums]
    rows["land_shortfall_before_m2"] = [round(float(x["shortfall_m2"]), 1) for x in lands]
    rows["land_shortfall_after_m2"] = [round(float(x["shortfall_after_m2"]), 1) for x in lands]
    frame = pd.DataFrame(rows, index=_distinct([s["scenario"] for s in sums])).T
    frame.index.name = "measure"
    return frame


def _distinct(names: list[str]) -> list[str]:
    """Column names for the runs: a scenario name used twice gets its position (``demo (2)``),
    so no two columns of the table look alike."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if names.count(name) == 1 else f"{name} ({seen[name]})")
    return out


def difference_map(runs: list[dict[str, Any]]) -> folium.Map:
    """社区/村 coloured by the change in share covered, last scenario against the first."""
    first, last = runs[0], runs[-1]
    path = Path(first["summary"]["inputs"]["inputs.communities.path"])
    polys = read_boundaries(path, level="communities")[["geometry"]]
    shares = pd.concat(
        {r["summary"]["scenario"]: r["communities"].set_index("code")["share_after"] for r in runs},
        axis=1,
    )
    geo = gpd.GeoDataFrame(polys.join(shares, how="inner"))
    a, b = first["summary"]["scenario"], last["summary"]["scenario"]
    geo["delta"] = geo[b] - geo[a]
    names = first["communities"].set_index("code")["name"]
    geo["tip"] = [
        f"<b>{html_text(names.get(code, code))}</b> {html_text(code)}<br>"
        + "<br>".join(f"{html_text(s)}: {share_text(row[s])}" for s in shares.columns)
        for code, row in geo.iterrows()
    ]
    geo["fill"] = [
        ("#1a9850" if d > 0.005 else "#d73027" if d < -0.005 else "#f7f7f7") for d in geo["delta"]
    ]
    bounds = geo.total_bounds
    fmap = folium.Map(
        location=((bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2),
        zoom_start=13,
        tiles="OpenStreetMap",
    )
    name = f"覆盖率变化 {b} − {a}"  # escaped by filled_layer
    filled_layer(geo, edge="#555555", weight=0.6, opacity=0.6, name=name).add_to(fmap)
    legend = (
        f"<div style='position:fixed;bottom:24px;left:12px;z-index:9999;background:#fff;"
        f"padding:8px;border:1px solid #999;font:12px sans-serif'><b>规划后覆盖率变化</b><br>"
        f"{html_text(b)} 对比 {html_text(a)}<br><span style='color:#1a9850'>■</span> 提高"
        f" <span style='color:#d73027'>■</span> 降低 <span style='color:#999'>■</span> 不变"
        "</div>"
    )
    fmap.get_root().html.add_child(PageHtml(legend))  # type: ignore[attr-defined]
    fmap.fit_bounds([(bounds[1], bounds[0]), (bounds[3], bounds[2])])
    MapControls(fmap).add_to(fmap)  # the fullscreen button and the metric scale bar
    return make_offline(fmap)


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as ``compare.html`` shows it: Chinese labels, values formatted."""
    return pd.DataFrame(
        [[_shown(key, v) for v in row] for key, row in zip(frame.index, frame.values, strict=True)],
        index=[MEASURES[k][0] for k in frame.index],
        columns=frame.columns,
    )


def _html_table(frame: pd.DataFrame) -> str:
    """``frame`` as an HTML table, every label and value escaped."""

    def cell(value: object) -> str:
        return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)

    head = "".join(f"<th>{html_text(c)}</th>" for c in frame.columns)
    body = "".join(
        f"<tr><th>{html_text(label)}</th>"
        + "".join(f"<td>{html_text(cell(v))}</td>" for v in row)
        + "</tr>"
        for label, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    )
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"


def compare_table(runs: list[Any]) -> pd.DataFrame:
    """The comparison table (one row per measure, one column per scenario) of finished runs:
    run folders (``maps/NAME``) or :class:`~siting.pipeline.RunResult` objects."""
    from siting.outputs.tables import summary, tables
    from siting.results import RunData

    loaded = []
    for run in runs:
        if isinstance(run, RunData):
            tabs = tables(run)
            loaded.append({"summary": summary(run, tabs), "land": tabs["land_check"]})
        else:
            loaded.append(_load_run(Path(run)))
    if len(loaded) < 2:
        raise InputDataError("compare needs at least two runs")
    return table(loaded)


OUTPUTS = ("compare.csv", "compare.xlsx", "compare.html", "compare_map.html")
"""The names ``siting compare`` writes (a previous comparison's are replaced, never mixed)."""


def compare(folders: list[Path], out: Path) -> dict[str, Path]:
    """Write ``compare.csv``, ``compare.xlsx``, ``compare.html`` and ``compare_map.html`` into
    ``out``, swapped in as one set (:func:`siting.io.write.output_folder`)."""
    if len(folders) < 2:
        raise InputDataError("compare needs at least two runs")
    runs = [_load_run(f) for f in folders]
    frame = table(runs)
    out = Path(out)
    with output_folder(out, outputs=OUTPUTS) as tmp:
        paths = _write(runs, frame, tmp)
    return {key: out / path.relative_to(tmp) for key, path in paths.items()}


def _for_readers(frame: pd.DataFrame) -> pd.DataFrame:
    """The documents' copy: Chinese row labels, the model status in Chinese, 未建模 for capacity
    figures a model did not have (``compare.csv`` keeps the keys and the model's own words)."""
    from siting.outputs.labels_zh import status_zh

    out = frame.copy().astype(object)
    out.loc["model_status"] = [status_zh(str(v)) for v in out.loc["model_status"]]
    out = out.map(lambda v: "未建模" if v == NOT_MODELLED else v)
    out.index = [MEASURES[k][0] for k in out.index]
    out.index.name = "指标"
    return out


def _shown(key: str, value: object) -> str:
    """A value as ``compare.html`` shows it (the spreadsheet's formats in text)."""
    fmt = MEASURES[key][1]
    if value == NOT_MODELLED:
        return "未建模"
    if key == "model_status":
        from siting.outputs.labels_zh import status_zh

        return status_zh(str(value))
    if not isinstance(value, int | float) or fmt == "@":
        return str(value)
    if fmt.endswith("%"):
        digits = fmt.count("0") - 1
        return f"{100 * value:.{digits}f}%"
    if fmt == "0.00":
        return f"{value:.2f}"
    return f"{value:,.1f}" if fmt.endswith(".0") else f"{value:,.0f}"


def _write(runs: list[dict[str, Any]], frame: pd.DataFrame, out: Path) -> dict[str, Path]:
    paths = {"csv": write_csv(out / "compare.csv", frame.reset_index(names="measure"))}

    def excel(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            _for_readers(frame).to_excel(xl, sheet_name="情景对比")
            text_cells(xl.book)  # a scenario name beginning with = is text, not a formula
            sheet = xl.book["情景对比"]
            for row, key in zip(sheet.iter_rows(min_row=2), frame.index, strict=True):
                for cell in row[1:]:
                    if isinstance(cell.value, int | float):
                        cell.number_format = MEASURES[key][1]
            sheet.column_dimensions["A"].width = 28

    paths["xlsx"] = write_workbook(out / "compare.xlsx", excel)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>情景对比</title><style>"
        "body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid "
        "#999;padding:4px 8px;text-align:right}th{background:#eee}</style></head><body>"
        "<h1>情景对比</h1>"
        + _html_table(_readable(frame))
        + "<p><a href='compare_map.html'>覆盖率变化地图</a></p></body></html>"
    )
    paths["html"] = write_text(out / "compare.html", page)
    fmap = difference_map(runs)
    paths["map"] = write_page(out / "compare_map.html", fmap)
    return paths
