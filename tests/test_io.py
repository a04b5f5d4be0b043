"""Readers: ids as text, encodings, joins that list what does not match, clear errors."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from siting import InputDataError, InputFileNotFoundError, SitingWarning
from siting.inputs.join import join_population
from siting.inputs.layers import read_boundaries, read_points
from siting.io.tables import read_table
from siting.io.write import write_csv, write_text


def _communities(
    tmp_path: Path, codes: list[str], crs: str | None = "EPSG:4326", name: str = "c.geojson"
) -> Path:
    frame = gpd.GeoDataFrame(
        {
            "code": codes,
            "name": [f"社区{i}" for i in range(len(codes))],
            "street_code": ["011000001"] * len(codes),
            "kind": ["社区"] * len(codes),
        },
        geometry=[box(115 + i * 0.01, 35.7, 115.009 + i * 0.01, 35.709) for i in range(len(codes))],
        crs=crs,
    )
    path = tmp_path / name
    frame.to_file(path, driver="GeoJSON")
    return path


def test_codes_keep_leading_zeros_from_csv_and_join(tmp_path: Path) -> None:
    units = read_boundaries(
        _communities(tmp_path, ["011000001001", "011000001002"]), level="communities"
    )
    csv = tmp_path / "pop.csv"
    csv.write_text(
        "code,elderly_60plus,residents,households\n011000001001,10,50,20\n011000001002,5,30,12\n",
        encoding="utf-8",
    )
    joined, excluded = join_population(units, read_table(csv), source=str(csv))
    assert excluded.empty
    assert list(joined.index) == ["011000001001", "011000001002"]
    assert joined["elderly_60plus"].tolist() == [10, 5]


def test_gbk_csv_is_decoded(tmp_path: Path) -> None:
    csv = tmp_path / "人口.csv"
    csv.write_bytes("code,name\n001,幸福社区\n".encode("gbk"))
    table = read_table(csv)
    assert table.loc[0, "name"] == "幸福社区"
    assert table.loc[0, "code"] == "001"


def test_join_lists_codes_missing_on_either_side(tmp_path: Path) -> None:
    units = read_boundaries(_communities(tmp_path, ["A1", "A2", "A3"]), level="communities")
    table = pd.DataFrame(
        {
            "code": ["A1", "A2", "B9"],
            "elderly_60plus": [1, 2, 900],
            "residents": [5, 6, 7],
            "households": [1, 1, 1],
        }
    )
    with pytest.raises(InputDataError) as err:
        join_population(units, table, source="pop.csv")
    text = str(err.value)
    assert "pop.csv" in text
    assert "'A3'" in text
    assert "'B9'" in text
    assert "900 elderly" in text


def test_bad_population_values_are_listed_by_code(tmp_path: Path) -> None:
    units = read_boundaries(_communities(tmp_path, ["A1", "A2"]), level="communities")
    table = pd.DataFrame(
        {
            "code": ["A1", "A2"],
            "elderly_60plus": [-3, "n/a"],
            "residents": [5, 6],
            "households": [1, 1],
        }
    )
    with pytest.raises(InputDataError) as err:
        join_population(units, table, source="pop.csv")
    assert "column 'elderly_60plus' has negative figures for codes ['A1'] (values [-3])" in str(
        err.value
    )
    assert "'elderly_60plus' is empty, non-numeric or negative for ids ['A2']" in str(err.value)
    assert "nan_policy" in str(err.value)  # the fix is named


def test_negative_figures_are_named_per_column_as_the_file_names_it(tmp_path: Path) -> None:
    units = read_boundaries(_communities(tmp_path, ["A1", "A2", "A3"]), level="communities")
    table = pd.DataFrame(
        {
            "code": ["A1", "A2", "A3"],
            "60岁以上": [-3, 4, -7],
            "residents": [5, -60, 8],
            "households": [1, 1, 1],
        }
    )
    with pytest.raises(InputDataError) as err:
        join_population(units, table, source="pop.csv", columns={"elderly_60plus": "60岁以上"})
    problems = err.value.problems  # type: ignore[attr-defined]
    assert problems[:2] == [
        "column '60岁以上' (elderly_60plus) has negative figures for codes ['A1', 'A3'] "
        "(values [-3, -7]); population counts cannot be negative",
        "column 'residents' has negative figures for codes ['A2'] (values [-60]); "
        "population counts cannot be negative",
    ]
    assert len(problems) == 2  # households is fine: not named


def test_boundaries_without_crs_duplicates_and_missing_columns(tmp_path: Path) -> None:
    path = _communities(tmp_path, ["A1", "A1"])
    with pytest.raises(InputDataError, match=r"duplicate ids \['A1'"):
        read_boundaries(path, level="communities")
    frame = gpd.read_file(_communities(tmp_path, ["A1"], name="one.geojson"))
    shp = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):  # a .shp without .prj
        frame.rename(columns={"street_code": "parent"}).set_crs(None, allow_override=True).to_file(
            shp
        )
    shp.with_suffix(".prj").unlink(missing_ok=True)
    with pytest.raises(InputDataError, match=r"nocrs\.shp: the layer has no coordinate"):
        read_boundaries(shp, level="communities", columns={"street_code": "parent"})
    with pytest.raises(InputDataError, match=r"column 'street_code' is missing"):
        read_boundaries(shp, level="communities")


def test_non_ascii_paths_and_missing_files(tmp_path: Path) -> None:
    folder = tmp_path / "朝阳区"
    folder.mkdir()
    path = _communities(folder, ["A1"], name="养老设施边界.geojson")
    assert len(read_boundaries(path, level="communities")) == 1
    with pytest.raises(InputFileNotFoundError, match=r"不存在\.geojson"):
        read_boundaries(folder / "不存在.geojson", level="communities")


def test_points_from_gcj02_are_moved_to_wgs84(tmp_path: Path) -> None:
    csv = tmp_path / "facilities.csv"
    csv.write_text("id,lon,lat\nF1,115.006,35.751\n", encoding="utf-8")
    wgs = read_points(csv, role="facilities", coord_system="wgs84")
    gcj = read_points(csv, role="facilities", coord_system="gcj02")
    metric = pd.concat([wgs.to_crs(4547).geometry, gcj.to_crs(4547).geometry])
    assert 300 < metric.iloc[0].distance(metric.iloc[1]) < 700


def test_points_with_swapped_columns_or_missing_ids(tmp_path: Path) -> None:
    csv = tmp_path / "f.csv"
    csv.write_text("id,lon,lat\nF1,35.75,115.0\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="swapped"):
        read_points(csv, role="facilities", coord_system="wgs84")
    csv.write_text("id,lon,lat\n,115.0,35.75\nF2,115.0,35.75\nF2,115.0,35.75\n", encoding="utf-8")
    with pytest.raises(InputDataError) as err:
        read_points(csv, role="facilities", coord_system="wgs84")
    assert "empty on 1 row(s)" in str(err.value)
    assert "duplicate ids ['F2'" in str(err.value)


def test_atomic_writers_leave_no_temporary_files(tmp_path: Path) -> None:
    write_text(tmp_path / "a.txt", "一")
    write_csv(tmp_path / "b.csv", pd.DataFrame({"名称": ["幸福社区"]}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.csv"]
    assert (tmp_path / "b.csv").read_bytes().startswith("\ufeff".encode())  # BOM for Excel


def test_nan_policy_and_zones_without_polygons(tmp_path: Path) -> None:
    units = read_boundaries(_communities(tmp_path, ["A1", "A2"]), level="communities")
    table = pd.DataFrame(
        {
            "code": ["A1", "A2", "Z9"],
            "elderly_60plus": [10, None, 700],
            "residents": [50, 60, 3000],
            "households": [20, 25, 900],
        }
    )
    from siting._record import recording

    with recording() as rec:
        zero, out = join_population(units, table.iloc[:2], source="p.csv", nan_policy="zero")
    assert zero.loc["A2", "elderly_60plus"] == 0
    assert out.empty
    assert [(n.code, n.ids) for n in rec.notes] == [("population_missing_figures", ("A2",))]
    assert "set to 0" in rec.notes[0].message  # the policy applied is part of the record
    with pytest.warns(SitingWarning, match="left out"):
        dropped, out = join_population(
            units, table, source="p.csv", nan_policy="drop", unmatched="exclude"
        )
    assert list(dropped.index) == ["A1"]
    assert sorted(out["code"]) == ["A2", "Z9"]  # both listed, with the reason
    assert out.set_index("code").loc["Z9", "elderly_60plus"] == 700
    assert "without a boundary polygon" in out.set_index("code").loc["Z9", "reason"]
    with (
        pytest.raises(InputDataError, match="unmatched: exclude"),
        pytest.warns(SitingWarning, match="set to 0"),
    ):
        join_population(units, table, source="p.csv", nan_policy="zero")


def test_invalid_polygons_are_repaired_and_reported(tmp_path: Path) -> None:
    from shapely.geometry import Polygon

    from siting import SitingWarning

    def layer(name: str, ring: list[tuple[float, float]]) -> Path:
        geom = Polygon([(115.0 + x * 1e-3, 35.7 + y * 1e-3) for x, y in ring])
        frame = gpd.GeoDataFrame(
            {"code": ["B1"], "name": ["某社区"], "street_code": ["S"], "kind": ["社区"]},
            geometry=[geom],
            crs=4326,
        )
        frame.to_file(tmp_path / name, driver="GeoJSON")
        return tmp_path / name

    # a square whose ring crosses itself in a tiny loop at one corner: a small repair
    loop = layer("loop.geojson", [(0, 0), (10, 0), (10, 10), (0, 10), (0.1, -0.05), (0, 0)])
    with pytest.warns(SitingWarning, match=r"repaired 1 invalid polygon.*B1 \(0\.\d\d%\)"):
        fixed = read_boundaries(loop, level="communities")
    assert fixed.geometry.iloc[0].is_valid
    with pytest.raises(InputDataError, match="allow `repair`"):
        read_boundaries(loop, level="communities", repair=False)
    # a bow-tie has no meaningful area: its repair is refused, not guessed
    bowtie = layer("bowtie.geojson", [(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    with pytest.raises(InputDataError, match="more than 1%"):
        read_boundaries(bowtie, level="communities")


def test_gbk_shapefile_without_cpg_is_detected(tmp_path: Path) -> None:
    from siting import SitingWarning
    from siting.io.encoding import shapefile_encoding

    frame = gpd.GeoDataFrame(
        {
            "code": ["410902001001", "410902001002"],
            "name": ["胜利路社区", "建设路社区"],
            "street": ["S1", "S1"],
            "kind": ["社区", "社区"],
        },
        geometry=[box(115.0, 35.7, 115.01, 35.71), box(115.01, 35.7, 115.02, 35.71)],
        crs=4326,
    )
    path = tmp_path / "社区_gbk.shp"
    frame.to_file(path, encoding="gbk")
    path.with_suffix(".cpg").unlink()  # as many bureau files come: no .cpg ...
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    raw[29] = 0  # ... and no language driver byte
    dbf.write_bytes(bytes(raw))
    with pytest.warns(SitingWarning, match="GB18030"):
        units = read_boundaries(path, level="communities", columns={"street_code": "street"})
    assert units["name"].tolist() == ["胜利路社区", "建设路社区"]  # not mojibake
    assert shapefile_encoding(path, "gbk") == "gbk"  # an explicit encoding wins
    path.with_suffix(".cpg").write_text("936", encoding="ascii")
    assert shapefile_encoding(path) == "gbk"  # the .cpg code page


def test_codes_a_spreadsheet_turned_into_numbers_are_named_with_the_fix(tmp_path: Path) -> None:
    """A CSV saved from Excel with the codes as numbers: scientific notation, '.0', lost zeros.
    None is repaired into a code; the join error names file, column, rows and the fix."""
    units = read_boundaries(
        _communities(tmp_path, ["419901001001", "419901001002", "011000001001", "419901002003"]),
        level="communities",
    )
    csv = tmp_path / "人口.csv"
    csv.write_text(
        "区划代码,elderly_60plus,residents,households\n"
        "4.19901e+11,10,50,20\n"  # row 2: Excel's display of 419901001001, saved as text
        "419901001002.0,5,30,12\n"  # row 3: a float column written out
        "11000001001,3,9,3\n"  # row 4: the leading zero gone
        "419901002003,1,2,4\n",
        encoding="utf-8",
    )
    table = read_table(csv, id_cols=["区划代码"])
    assert table["区划代码"].tolist()[:2] == ["4.19901e+11", "419901001002.0"]  # as written
    for unmatched in ("error", "exclude"):  # `exclude` must not leave them out as zones
        with pytest.raises(InputDataError) as err:
            join_population(
                units, table, source=str(csv), columns={"code": "区划代码"}, unmatched=unmatched
            )
        text = str(err.value)
        assert f"in {csv}, column '区划代码': a spreadsheet turned codes into numbers" in text
        assert "'4.19901e+11' (row 2: scientific notation, only 6 digit(s) left" in text
        assert "'419901001002.0' (row 3: '419901001002' written as a number with '.0')" in text
        assert "'11000001001' (row 4: lost its leading zero(s), as ['011000001001']" in text
        assert "Format Cells > Text" in text
        assert "re-export" in text
        assert "'419901002003'" not in text.split("spreadsheet")[1]  # the good row is not named
    # Excel read back '4.19901E+11' as the number 419901000000: its digits are gone
    csv.write_text(
        "code,elderly_60plus,residents,households\n419901000000,10,50,20\n"
        "419901001002,5,30,12\n011000001001,3,9,3\n419901002003,1,2,4\n",
        encoding="utf-8",
    )
    with pytest.raises(InputDataError, match=r"row 2: digits lost as a number\? \['419901001001'"):
        join_population(units, read_table(csv), source=str(csv))


def test_excel_codes_stored_as_numbers(tmp_path: Path) -> None:
    from openpyxl import Workbook

    units = read_boundaries(
        _communities(tmp_path, ["011000001001", "011000001002"]), level="communities"
    )
    book = Workbook()
    sheet = book.active
    sheet.append(["code", "elderly_60plus", "residents", "households"])
    sheet.append([11000001001, 10, 50, 20])  # the column stored as numbers: zero lost
    sheet.append([4.19901e20, 5, 30, 12])  # beyond 15 digits: never '419900999999999967232'
    sheet.append(["011000001002", 1, 2, 3])
    path = tmp_path / "人口.xlsx"
    book.save(path)
    table = read_table(path)
    assert table["code"].tolist() == ["11000001001", "4.19901e+20", "011000001002"]
    assert table.attrs["numeric_ids"] == {"code": (2, 3)}
    with pytest.raises(InputDataError) as err:
        join_population(units, table, source=str(path))
    text = str(err.value)
    assert "'11000001001' (row 2: lost its leading zero(s)" in text
    assert "'4.19901e+20' (row 3: scientific notation" in text
    assert "Format Cells > Text" in text


def test_boundary_codes_read_as_numbers_are_named(tmp_path: Path) -> None:
    frame = gpd.read_file(_communities(tmp_path, ["011000001001", "011000001002"]))
    frame["code"] = frame["code"].astype(float)  # a Double field: 11000001001.0
    frame.to_file(tmp_path / "numeric.geojson", driver="GeoJSON")
    units = read_boundaries(tmp_path / "numeric.geojson", level="communities")
    assert list(units.index) == ["11000001001", "11000001002"]  # exact, '.0' gone, zero lost
    table = pd.DataFrame(
        {
            "code": ["011000001001", "011000001002"],
            "elderly_60plus": [1, 2],
            "residents": [5, 6],
            "households": [1, 1],
        }
    )
    with pytest.raises(InputDataError, match=r"in the boundary layer, column 'code'.*leading"):
        join_population(units, table, source="pop.csv")


def test_figures_as_people_write_them(tmp_path: Path) -> None:
    """A typographic minus is a minus (it once read as missing and, under nan_policy zero,
    became 0); thousands separators and full-width digits are numbers."""
    from siting.io.tables import as_numbers

    got = as_numbers(pd.Series(["−5", "1,234", "１２３", "12 345", "12a", None, 3.5]))
    assert got.iloc[:5].tolist()[:4] == [-5.0, 1234.0, 123.0, 12345.0]
    assert got.isna().tolist() == [False, False, False, False, True, True, False]
    units = read_boundaries(_communities(tmp_path, ["A1", "A2"]), level="communities")
    table = pd.DataFrame(
        {
            "code": ["A1", "A2"],
            "elderly_60plus": ["10", "−5"],
            "residents": [50, 60],
            "households": [20, 25],
        }
    )
    with pytest.raises(InputDataError, match="negative") as err:
        join_population(units, table, source="p.csv", nan_policy="zero")
    assert "1 problem" in str(err.value)


def test_a_whole_code_column_in_scientific_notation_gets_the_spreadsheet_hint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "人口.csv"
    path.write_text(
        "code,elderly_60plus,residents,households\n"
        "4.19901E+11,10,50,20\n4.19901E+11,12,60,25\n4.19901E+11,9,40,15\n",
        encoding="utf-8",
    )
    units = read_boundaries(_communities(tmp_path, ["A1", "A2"]), level="communities")
    with pytest.raises(InputDataError, match="scientific notation") as err:
        join_population(units, read_table(path), source=str(path))
    assert "Format the column as text" in str(err.value)
