"""Every case of ``../shared/RELIABILITY.md`` has a fixture in ``tests/data/`` and a test.

:data:`CASES` maps each row of its tables (by a phrase of the row's first cell, in its own words)
to the fixture files holding the bad input (and its good twin) and to the tests holding the
required behaviour. The first tests below keep that table honest: a row added to
RELIABILITY.md without an entry fails here, as does an entry naming a fixture that is missing or
over 50 KB, or a test that does not exist. The rest are the tests of the cases the suite had no
fixture file for; their fixtures are in ``tests/data/reliability/``, written by
``tests/data/make_fixtures.py`` (the ``mini/`` district is the good twin of most of them).

A test marked ``xfail(strict=True)`` states a required behaviour the code does not have yet;
it turns into a failure the day the behaviour is there, so that the mark is removed.
"""

from __future__ import annotations

import ast
import json
import logging
import re
import shutil
import warnings
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from siting import (
    InputDataError,
    InputFileNotFoundError,
    ModelError,
    NetworkError,
    ScenarioError,
    SitingWarning,
    SolverError,
)
from siting.cli import main
from siting.inputs.join import join_population
from siting.inputs.layers import read_boundaries, read_points
from siting.io.tables import read_table
from siting.io.vector import read_vector

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
FIX = DATA / "reliability"
MINI = FIX / "mini"
RELIABILITY = ROOT.parent / "shared" / "RELIABILITY.md"
MAX_FIXTURE_BYTES = 50 * 1024
SHP = {"street_code": "street"}  # the Shapefile fixtures' field (names hold 10 bytes)


class Case(NamedTuple):
    fixtures: tuple[str, ...]  # paths under tests/data/: the bad input, and its good twin
    tests: tuple[str, ...]  # "tests/test_x.py::test_name"


R = "tests/test_reliability.py::"
CASES: dict[str, Case] = {
    # -- Coordinates
    "GCJ-02 (Amap/Gaode, Tencent, DataV boundaries) or BD-09 (Baidu)": Case(
        (
            "reliability/coords/facilities_gcj02.csv",
            "reliability/coords/facilities_bd09.csv",
            "reliability/mini/facilities.csv",
            "facilities/amap_gcj02_declared_wgs84.csv",
        ),
        (
            R + "test_gcj02_and_bd09_points_are_converted_exactly_to_their_wgs84_twin",
            R + "test_facilities_that_look_gcj02_are_caught_by_check_data",
            "tests/test_coords.py::test_gcj02_offset_in_henan_is_hundreds_of_metres_and_inverse_is_exact",
            "tests/test_coords.py::test_bd09_round_trip_is_exact",
            "tests/test_checks.py::test_gcj02_declared_wgs84_stops_the_run",
        ),
    ),
    "Missing CRS": Case(
        ("reliability/coords/communities_noprj.shp", "reliability/mini/scenario.yaml"),
        (
            R + "test_a_missing_crs_is_an_error_naming_the_file",
            "tests/test_io.py::test_boundaries_without_crs_duplicates_and_missing_columns",
            "tests/test_scenario.py::test_undeclared_coordinate_system_is_an_error",
            "tests/test_network.py::test_bureau_road_layer_in_gcj02_gives_the_osm_answer",
        ),
    ),
    "CRS mismatch between layers": Case(
        ("reliability/coords/communities_cgcs2000_gk.shp", "reliability/mini/communities.geojson"),
        (
            R + "test_layers_in_another_crs_are_reprojected_and_logged_or_refused_naming_both",
            "tests/test_demand.py::test_layers_in_another_crs_than_the_graph_are_refused",
        ),
    ),
    "Metre distances on lon/lat data": Case(
        ("reliability/mini/network.osm", "reliability/coords/roads_lonlat.geojson"),
        (
            R + "test_functions_measuring_metres_refuse_lonlat",
            R + "test_road_layer_refuses_a_lonlat_crs_for_metres",
            "tests/test_costs.py::test_unknown_node_and_lonlat_graph_are_refused",
        ),
    ),
    "lat/lon swapped": Case(
        (
            "reliability/coords/facilities_swapped.csv",
            "reliability/coords/facilities_gk_metres.csv",
            "reliability/coords/streets_zone_prefix.shp",
            "reliability/coords/streets_metres_as_degrees.geojson",
            "reliability/coords/communities_cgcs2000_gk.shp",
        ),
        (
            R + "test_swapped_metres_and_zone_prefix_are_caught_with_the_hint",
            "tests/test_coords.py::test_swapped_and_metre_coordinates_are_caught",
            "tests/test_coords.py::test_gauss_kruger_zone_prefix_and_degree_mixups_are_named",
        ),
    ),
    "Gaode tiles (GCJ-02) under WGS-84 overlays": Case(
        (
            "reliability/coords/scenario_tiles_gaode.yaml",
            "reliability/coords/scenario_tiles_baidu.yaml",
        ),
        (
            R + "test_gaode_tiles_shift_overlays_for_display_and_baidu_tiles_are_refused",
            "tests/test_outputs.py::test_tile_providers",
            "tests/test_outputs.py::test_baidu_tiles_are_refused_with_the_reason",
        ),
    ),
    # -- Text and files
    "GBK shapefile without `.cpg`": Case(
        (
            "reliability/text/communities_gbk_ldid.shp",
            "reliability/text/communities_gbk_noldid.shp",
            "reliability/mini/communities.geojson",
        ),
        (
            R + "test_gbk_shapefiles_without_cpg_are_read_as_gbk",
            "tests/test_io.py::test_gbk_shapefile_without_cpg_is_detected",
        ),
    ),
    "GBK/GB18030 CSV or Excel export": Case(
        ("reliability/text/population_gb18030.csv", "reliability/mini/population.csv"),
        (
            R + "test_gb18030_csv_is_decoded_and_csv_is_written_with_a_bom",
            "tests/test_io.py::test_gbk_csv_is_decoded",
            "tests/test_io.py::test_atomic_writers_leave_no_temporary_files",
        ),
    ),
    "Chinese field names written to Shapefile": Case(
        ("reliability/text/chinese_field_names.geojson",),
        (
            R + "test_chinese_field_names_reach_a_shapefile_through_an_ascii_codebook",
            "tests/test_outputs.py::test_geopackage_and_shapefile_export",
        ),
    ),
    "Non-ASCII paths": Case(
        ("reliability/text/朝阳区/养老设施.geojson", "reliability/mini/scenario.yaml"),
        (
            R + "test_non_ascii_paths_work_from_reading_to_the_outputs",
            "tests/test_io.py::test_non_ascii_paths_and_missing_files",
        ),
    ),
    "Admin codes read as numbers": Case(
        (
            "reliability/text/population_codes_as_numbers.csv",
            "reliability/text/population_leading_zeros.csv",
            "reliability/text/communities_leading_zeros.geojson",
        ),
        (
            R + "test_codes_stay_text_and_codes_turned_into_numbers_are_named",
            "tests/test_io.py::test_codes_keep_leading_zeros_from_csv_and_join",
            "tests/test_io.py::test_codes_a_spreadsheet_turned_into_numbers_are_named_with_the_fix",
            "tests/test_io.py::test_excel_codes_stored_as_numbers",
            "tests/test_io.py::test_boundary_codes_read_as_numbers_are_named",
        ),
    ),
    # -- Geometry and values
    "Invalid polygons": Case(
        (
            "reliability/geometry/communities_self_intersecting.geojson",
            "reliability/geometry/communities_bowtie.geojson",
            "reliability/geometry/communities_null_geometry.geojson",
            "reliability/mini/communities.geojson",
        ),
        (
            R + "test_invalid_polygons_are_repaired_and_reported_or_refused",
            "tests/test_io.py::test_invalid_polygons_are_repaired_and_reported",
        ),
    ),
    "Duplicate or missing ids": Case(
        (
            "reliability/geometry/communities_duplicate_ids.geojson",
            "reliability/geometry/facilities_missing_and_duplicate_ids.csv",
            "reliability/geometry/population_duplicate_codes.csv",
        ),
        (
            R + "test_duplicate_and_missing_ids_are_listed",
            "tests/test_io.py::test_points_with_swapped_columns_or_missing_ids",
        ),
    ),
    "NaN, negative or non-numeric population": Case(
        (
            "reliability/values/population_bad_figures.csv",
            "reliability/values/population_missing_figure.csv",
            "reliability/mini/population.csv",
        ),
        (
            R + "test_population_figures_follow_the_policy_and_totals_are_logged",
            "tests/test_io.py::test_bad_population_values_are_listed_by_code",
            "tests/test_io.py::test_negative_figures_are_named_per_column_as_the_file_names_it",
            "tests/test_io.py::test_nan_policy_and_zones_without_polygons",
        ),
    ),
    "Population table and boundaries disagree": Case(
        (
            "reliability/values/population_zone_without_polygon.csv",
            "reliability/values/population_polygon_without_row.csv",
        ),
        (
            R + "test_population_and_boundaries_that_disagree_are_listed_never_dropped",
            "tests/test_io.py::test_join_lists_codes_missing_on_either_side",
            "tests/test_io.py::test_nan_policy_and_zones_without_polygons",
        ),
    ),
    "Points far from the network": Case(
        ("reliability/geometry/facilities_far_from_network.csv", "reliability/mini/facilities.csv"),
        (
            R + "test_points_far_from_the_network_are_kept_with_their_walk_and_reported",
            "tests/test_demand.py::test_sites_far_from_the_network_are_reported",
        ),
    ),
    "Facility `type` with stray spaces": Case(
        ("facilities/types_variants.csv", "facilities/types_unknown.csv"),
        (
            "tests/test_checks.py::test_type_variants_and_spaces_count_as_their_type",
            "tests/test_checks.py::test_unknown_type_stops_run_and_check_data_alike",
            "tests/test_checks.py::test_declared_extra_types_form_circles_or_count_for_land",
            "tests/test_checks.py::test_variant_in_the_scenario_means_its_canonical_type",
        ),
    ),
    "Non-street ways in an OSM file": Case(
        ("network/buildings.osm",),
        (
            "tests/test_network.py::test_buildings_landuse_railways_and_rivers_never_become_streets",
            "tests/test_network.py::test_a_facility_inside_buildings_joins_the_street_grid_with_unchanged_coverage",
            "tests/test_network.py::test_the_walking_rule",
            "tests/test_network.py::test_unknown_highway_values_are_left_out_and_reported",
            "tests/test_demand.py::test_sites_on_a_detached_piece_of_street_join_the_main_network",
        ),
    ),
    "Bureau road layer with Chinese classes": Case(
        ("network/roads_cn.geojson",),
        (
            "tests/test_network.py::test_chinese_road_classes_map_to_osm_values_and_motorways_are_not_walked",
            "tests/test_network.py::test_demand_lands_only_on_lanes_compound_roads_and_footpaths",
            "tests/test_network.py::test_an_unknown_road_class_stops_with_counts_and_the_yaml_to_add",
            "tests/test_network.py::test_a_layer_without_class_column_needs_highway_column_none",
            "tests/test_network.py::test_the_class_table_covers_the_bureaus_classes",
        ),
    ),
    "Points where polygons are expected": Case(
        ("reliability/geometry/communities_as_points.geojson",),
        (R + "test_community_points_are_not_taken_for_boundaries",),
    ),
    "Population by name, age bands, total rows": Case(
        (
            "reliability/values/population_title_rows.csv",
            "reliability/values/population_total_rows.csv",
            "reliability/values/population_age_bands.csv",
            "reliability/values/population_by_name.csv",
        ),
        (
            R + "test_title_rows_above_the_header_are_passed_over",
            R + "test_total_rows_are_skipped_and_reported",
            R + "test_age_bands_are_summed",
            R + "test_population_by_name_joins_within_the_street",
        ),
    ),
    "Disconnected network, islands, one-way streets": Case(
        ("reliability/network/island.osm", "reliability/network/island_ring.osm"),
        (
            R + "test_islands_are_counted_and_their_demand_is_marked_unreachable",
            R + "test_a_detached_ring_of_lanes_is_counted_as_an_island",
            "tests/test_costs.py::test_offsets_are_added_and_zero_distance_is_kept",
            "tests/test_network.py::test_one_way_streets_walk_both_ways_and_motorways_are_dropped",
        ),
    ),
    "LSCP infeasible": Case(
        ("reliability/models/cost_5x4.csv", "reliability/network/scenario_island_lscp.yaml"),
        (
            R + "test_lscp_names_the_uncoverable_demand_before_solving",
            "tests/test_models.py::test_lscp_names_the_demand_no_site_can_reach",
            "tests/test_pipeline.py::test_lscp_and_target_models_in_a_scenario",
        ),
    ),
    "`p` larger than the candidate count": Case(
        (
            "reliability/models/cost_5x4.csv",
            "reliability/models/scenario_p_too_large.yaml",
            "reliability/models/scenario_no_candidates.yaml",
        ),
        (
            R + "test_impossible_site_counts_fail_before_solving",
            "tests/test_models.py::test_bad_models_fail_before_solving",
        ),
    ),
    "Solver unavailable or time limit hit": Case(
        ("reliability/models/cost_5x4.csv",),
        (
            R + "test_a_solver_stopped_by_its_clock_gives_its_gap_or_a_clear_error",
            "tests/test_local_search.py::test_a_search_cut_short_by_the_clock_says_so",
        ),
    ),
    "Huge inputs": Case(
        ("reliability/mini/network.osm", "reliability/mini/scenario.yaml"),
        (
            R + "test_distances_are_sparse_and_kept_within_reach",
            R + "test_memory_is_estimated_before_the_cost_matrix",
            "tests/test_costs.py::test_many_pairs_grow_the_output_and_match_scipy",
        ),
    ),
    # -- Scenarios and outputs
    "YAML with unknown keys": Case(
        (
            "reliability/scenarios/unknown_key.yaml",
            "reliability/scenarios/wrong_type_negative_radius.yaml",
            "reliability/scenarios/missing_path.yaml",
            "reliability/scenarios/python_tag.yaml",
        ),
        (
            R + "test_bad_scenarios_name_the_key_and_the_file",
            "tests/test_scenario.py::test_unknown_key_is_named_with_the_file",
            "tests/test_scenario.py::test_negative_radius_and_wrong_type_are_reported_together",
            "tests/test_scenario.py::test_missing_input_file_is_named",
            "tests/test_scenario.py::test_yaml_code_is_never_run",
        ),
    ),
    "Output path outside the project's output folder": Case(
        (
            "reliability/outputs/foreign_folder/会议记录.txt",
            "reliability/outputs/not_a_folder",
        ),
        (
            R + "test_a_folder_siting_did_not_write_or_a_file_is_refused",
            "tests/test_cli.py::test_refuses_a_folder_it_did_not_write",
        ),
    ),
    "A run interrupted half-way": Case(
        ("reliability/mini/scenario.yaml",),
        (
            R + "test_interrupted_runs_leave_no_half_written_set",
            "tests/test_checks.py::test_interrupted_run_leaves_the_previous_complete_set",
        ),
    ),
    "Names from data shown in map popups": Case(
        ("hostile/__init__.py",),
        (
            "tests/test_text.py::test_hostile_names_stay_data_in_the_map",
            "tests/test_text.py::test_script_json_is_inert_in_a_script_and_round_trips",
            "tests/test_text.py::test_no_template_literal_tooltips_or_popups_in_the_sources",
            "tests/test_text.py::test_compare_of_hostile_runs_is_inert",
            "tests/test_browser.py::test_hostile_names_stay_text_in_chromium",
        ),
    ),
    "Names beginning with `=`, `+`, `-`, `@`": Case(
        ("hostile/__init__.py",),
        (
            "tests/test_text.py::test_hostile_names_are_text_in_tables_and_workbook",
            "tests/test_text.py::test_csv_cells_are_neutralised_and_read_back",
            "tests/test_text.py::test_text_cells_make_formulas_text",
            "tests/test_browser.py::test_hostile_names_stay_text_in_chromium",
        ),
    ),
    "`siting run` vs `siting check-data`": Case(
        (
            "facilities/types_unknown.csv",
            "facilities/far_outside.csv",
            "facilities/amap_gcj02_declared_wgs84.csv",
        ),
        (
            "tests/test_checks.py::test_unknown_type_stops_run_and_check_data_alike",
            "tests/test_checks.py::test_far_facility_is_reported_by_both_commands",
            "tests/test_checks.py::test_gcj02_declared_wgs84_stops_the_run",
        ),
    ),
    "Warnings of a run": Case(
        (
            "facilities/far_outside.csv",
            "facilities/types_variants.csv",
            "reliability/geometry/facilities_far_from_network.csv",
        ),
        (
            "tests/test_checks.py::test_far_facility_is_reported_by_both_commands",
            "tests/test_checks.py::test_type_variants_and_spaces_count_as_their_type",
            R + "test_points_far_from_the_network_are_kept_with_their_walk_and_reported",
            R + "test_warnings_are_in_the_report_workbook",
        ),
    ),
    "An interrupted run writing into an earlier run's folder": Case(
        ("reliability/mini/scenario.yaml",),
        (
            R + "test_interrupted_runs_leave_no_half_written_set",
            "tests/test_checks.py::test_interrupted_run_leaves_the_previous_complete_set",
            "tests/test_checks.py::test_a_new_run_replaces_the_whole_set_and_keeps_foreign_files",
        ),
    ),
    "Same inputs twice": Case(
        ("reliability/mini/scenario.yaml",),
        (
            R + "test_same_inputs_give_the_same_bytes",
            "tests/test_outputs.py::test_same_inputs_same_bytes",
            "tests/test_demo.py::test_same_seed_same_bytes",
        ),
    ),
    "Online download (osmnx) fails": Case(
        ("overpass_walk_grid.json", "reliability/download/overpass_rate_limited.html"),
        (
            R + "test_an_error_page_is_retried_then_reported_and_never_cached",
            "tests/test_download.py::test_recorded_answer_builds_the_graph_and_is_cached",
            "tests/test_download.py::test_error_pages_and_timeouts_are_retried_then_reported",
            "tests/test_download.py::test_a_damaged_cache_file_is_replaced",
        ),
    ),
}


# -- the table is complete and names real files and tests ------------------------------------------


def _cells(line: str) -> list[str]:
    """The cells of a markdown table row (a ``|`` inside backticks is text)."""
    cells, cell, code = [], [], False
    for ch in line.strip().strip("|"):
        if ch == "`":
            code = not code
        if ch == "|" and not code:
            cells.append("".join(cell).strip())
            cell = []
        else:
            cell.append(ch)
    cells.append("".join(cell).strip())
    return cells


def reliability_rows(path: Path = RELIABILITY) -> list[tuple[str, str]]:
    """(section, first cell) of every row of every table of RELIABILITY.md."""
    rows, section, header_seen = [], "", False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        if not line.lstrip().startswith("|"):
            header_seen = False
            continue
        cells = _cells(line)
        if not header_seen:  # the header row of a table
            header_seen = True
            continue
        if all(c and set(c) <= set("-: ") for c in cells):  # the |---|---| line
            continue
        rows.append((section, cells[0]))
    return rows


@pytest.fixture(scope="module")
def rows() -> list[tuple[str, str]]:
    if not RELIABILITY.is_file():
        pytest.skip(f"{RELIABILITY} is not available (../shared is absent)")
    found = reliability_rows()
    assert len(found) > 30, f"{RELIABILITY}: its tables were not found ({len(found)} rows)"
    return found


def test_every_row_of_reliability_md_has_a_case(rows: list[tuple[str, str]]) -> None:
    problems = []
    for section, case in rows:
        keys = [k for k in CASES if k in case]
        if len(keys) != 1:
            problems.append(f"{section} / {case!r}: {len(keys)} entries {keys}")
    assert problems == [], (
        "every row of ../shared/RELIABILITY.md needs exactly one entry in CASES (a phrase of "
        "its first cell -> its fixtures and tests):\n" + "\n".join(problems)
    )


def test_every_case_is_a_row_of_reliability_md(rows: list[tuple[str, str]]) -> None:
    stale = [k for k in CASES if sum(k in case for _, case in rows) != 1]
    assert stale == [], f"entries of CASES matching no row (or several) of RELIABILITY.md: {stale}"


def test_every_case_names_a_fixture_and_a_test() -> None:
    assert [k for k, c in CASES.items() if not c.fixtures or not c.tests] == []


def test_named_fixtures_exist_and_are_small() -> None:
    problems = []
    for key, case in CASES.items():
        for name in case.fixtures:
            path = DATA / name
            if not path.is_file():
                problems.append(f"{key}: tests/data/{name} does not exist")
            elif path.stat().st_size > MAX_FIXTURE_BYTES:
                problems.append(f"{key}: tests/data/{name} is {path.stat().st_size:,} bytes")
    assert problems == []


def _test_names(path: Path) -> set[str]:
    """``test_x`` and ``TestY::test_x`` defined in a test file (read, not imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {
                f"{node.name}::{f.name}"
                for f in node.body
                if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
            }
    return {n for n in names if n.rsplit("::", 1)[-1].startswith("test")}


def test_named_tests_exist() -> None:
    problems, defined = [], {}
    for key, case in CASES.items():
        for name in case.tests:
            file, _, function = name.partition("::")
            path = ROOT / file
            if not path.is_file():
                problems.append(f"{key}: {file} does not exist")
                continue
            if path not in defined:
                defined[path] = _test_names(path)
            if function not in defined[path]:
                problems.append(f"{key}: {file} has no test {function!r}")
    assert problems == []


def test_reliability_fixtures_are_small_and_rebuilt_by_make_fixtures(tmp_path: Path) -> None:
    from tests.data import make_fixtures

    big = [p for p in FIX.rglob("*") if p.is_file() and p.stat().st_size > MAX_FIXTURE_BYTES]
    assert big == []
    make_fixtures.build(tmp_path / "reliability")
    fresh = {p.relative_to(tmp_path / "reliability") for p in tmp_path.rglob("*") if p.is_file()}
    committed = {p.relative_to(FIX) for p in FIX.rglob("*") if p.is_file()}
    assert fresh == committed
    for name in ("mini/scenario.yaml", "mini/population.csv", "mini/network.osm"):
        assert (tmp_path / "reliability" / name).read_bytes() == (FIX / name).read_bytes()


# -- helpers ---------------------------------------------------------------------------------------

_GEOD = Geod(ellps="WGS84")


def mini_copy(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """A writable copy of the mini district, ``files`` (its file name -> fixture) replaced;
    returns the scenario."""
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    for name, fixture in (files or {}).items():
        shutil.copy(FIX / fixture, folder / name)
    return folder / "scenario.yaml"


def variant(scenario: Path, body: str, name: str = "variant.yaml") -> Path:
    """A scenario beside ``scenario``: it, with the YAML ``body`` on top."""
    path = scenario.parent / name
    path.write_text(f"base: {scenario.name}\n{body}", encoding="utf-8")
    return path


def mini_units() -> gpd.GeoDataFrame:
    return read_boundaries(MINI / "communities.geojson", level="communities")


def cost_fixture() -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """The 5 x 4 matrix of walking metres (NaN: out of reach) and the elderly per row."""
    table = pd.read_csv(FIX / "models/cost_5x4.csv", index_col="demand")
    weights = table.pop("elderly").to_numpy(float)
    return table.to_numpy(float), weights, list(table.index), list(table.columns)


def _metres(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(_GEOD.inv(a.geometry.x, a.geometry.y, b.geometry.x, b.geometry.y)[2])


def _listing(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def mini_graph():
    from siting.network.osm_file import walk_graph_from_osm_file

    return walk_graph_from_osm_file(MINI / "network.osm", crs="EPSG:4547")


@pytest.fixture(scope="module")
def mini_result():
    from siting.pipeline.stages import run
    from siting.scenario import load

    return run(load(MINI / "scenario.yaml"))


@pytest.fixture(scope="module")
def far_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``siting run`` on the mini district whose 社区日间照料中心 stands mid-block, ~245 m
    from the nearest street node; returns the output folder."""
    tmp = tmp_path_factory.mktemp("far")
    scenario = mini_copy(tmp, {"facilities.csv": "geometry/facilities_far_from_network.csv"})
    assert main(["run", str(scenario), "--out", str(tmp / "out")]) == 0
    return tmp / "out"


# -- Coordinates -----------------------------------------------------------------------------------


def test_gcj02_and_bd09_points_are_converted_exactly_to_their_wgs84_twin() -> None:
    wgs = read_points(MINI / "facilities.csv", role="facilities", coord_system="wgs84")
    for system in ("gcj02", "bd09"):
        path = FIX / f"coords/facilities_{system}.csv"
        as_given = read_points(path, role="facilities", coord_system="wgs84")
        assert (_metres(as_given, wgs) > 300).all()  # as large as a service circle's gaps
        moved = read_points(path, role="facilities", coord_system=system)
        assert _metres(moved, wgs).max() < 0.05  # the fixture holds 7 decimals: ~1 cm
        assert moved.crs.to_epsg() == 4326
    with pytest.raises(TypeError):  # no reader of lon/lat guesses the system
        read_points(MINI / "facilities.csv", role="facilities")  # type: ignore[call-arg]


def test_facilities_that_look_gcj02_are_caught_by_check_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = mini_copy(tmp_path, {"facilities.csv": "coords/facilities_gcj02.csv"})
    assert main(["check-data", str(scenario)]) == 1
    out = capsys.readouterr().out
    assert "2 facilities declared wgs84" in out
    assert "set `coord_system: gcj02`" in out
    assert str(scenario.parent / "facilities.csv") in out
    declared = variant(scenario, "inputs:\n  facilities: {coord_system: gcj02}\n")
    assert main(["check-data", str(declared)]) == 0
    assert "0 problem(s) to fix" in capsys.readouterr().out


def test_a_missing_crs_is_an_error_naming_the_file(tmp_path: Path) -> None:
    shp = FIX / "coords/communities_noprj.shp"
    with pytest.raises(
        InputDataError, match=r"communities_noprj\.shp: the layer has no coordinate"
    ):
        read_boundaries(shp, level="communities", columns=SHP)
    # a lon/lat table has no CRS of its own: the scenario must say which it is
    scenario = mini_copy(tmp_path)
    text = scenario.read_text(encoding="utf-8")
    text = text.replace("facilities.csv, coord_system: wgs84", "facilities.csv")
    scenario.write_text(text, encoding="utf-8")
    from siting.scenario import load

    with pytest.raises(ScenarioError) as err:
        load(scenario)
    assert "inputs.facilities.coord_system" in str(err.value)
    assert str(scenario) in str(err.value)


def test_layers_in_another_crs_are_reprojected_and_logged_or_refused_naming_both(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mini_graph, mini_result
) -> None:
    from siting.pipeline.stages import run
    from siting.problem.demand import demand_points
    from siting.scenario import load

    caplog.set_level(logging.INFO, logger="siting")
    gk = read_boundaries(
        FIX / "coords/communities_cgcs2000_gk.shp", level="communities", columns=SHP
    )
    assert re.search(
        r"communities_cgcs2000_gk\.shp: .*EPSG:4547.* reprojected to WGS-84", caplog.text
    )
    twin = mini_units()
    metric = gpd.GeoSeries(gk.geometry, crs=4326).to_crs(4547)
    moved = metric.symmetric_difference(twin.geometry.to_crs(4547), align=True).area
    assert moved.max() < 1.0  # m²: the same polygons, reprojected
    # a library caller handing layers in two CRS gets both names
    units = twin.join(pd.DataFrame({"elderly_60plus": [1.0] * 4}, index=twin.index))
    with pytest.raises(InputDataError, match=r"EPSG:4326.*EPSG:4547"):
        demand_points(units, mini_graph)
    # in the pipeline, the Gauss-Krüger layer is reprojected and gives the same figures
    scenario = mini_copy(tmp_path)
    for part in FIX.glob("coords/communities_cgcs2000_gk.*"):
        shutil.copy(part, scenario.parent / part.name)
    res = run(
        load(
            variant(
                scenario,
                "inputs:\n  communities:\n    path: communities_cgcs2000_gk.shp\n"
                "    columns: {street_code: street}\n",
            )
        )
    )
    w, w0 = res.demand["weight"], mini_result.demand["weight"]
    assert (w * res.demand["covered_after"]).sum() == pytest.approx(
        (w0 * mini_result.demand["covered_after"]).sum()
    )


def test_functions_measuring_metres_refuse_lonlat(mini_graph) -> None:
    import osmnx as ox

    from siting.analysis.coverage import dissolve_areas, service_areas
    from siting.network.distances import cost_matrix
    from siting.network.osm_file import walk_graph_from_osm_file
    from siting.network.road_layer import walk_graph_from_road_layer
    from siting.problem.sites import snap_sites

    with pytest.raises(NetworkError, match="not metres"):
        walk_graph_from_osm_file(MINI / "network.osm", crs="EPSG:4326")
    lonlat = ox.project_graph(mini_graph, to_crs="EPSG:4326")  # built by hand, to the stages
    node = next(iter(lonlat.nodes))
    with pytest.raises(NetworkError, match="lon/lat"):
        cost_matrix(lonlat, [node], [node], cutoff_m=900.0)
    with pytest.raises(NetworkError, match="lon/lat"):
        service_areas(lonlat, [node], [0.0], [900.0], site_ids=["F1"])
    sites = read_points(MINI / "facilities.csv", role="facilities", coord_system="wgs84")
    with pytest.raises(InputDataError, match="project the sites"):
        snap_sites(sites, mini_graph, role="facilities", warn_beyond_m=200.0)
    areas = gpd.GeoDataFrame({"site": ["F1"], "role": ["existing"]}, geometry=sites.geometry[:1])
    with pytest.raises(ValueError, match="metric CRS"):
        dissolve_areas(areas.set_crs(4326), ["role"], simplify_m=4.0)
    # the good twin: the same roads measured in the metric CRS
    # (its long lines cross at shared vertices: split there into blocks, which is recorded)
    with pytest.warns(SitingWarning, match="split there"):
        roads = walk_graph_from_road_layer(
            FIX / "coords/roads_lonlat.geojson", crs="EPSG:4547", highway_column="道路等级"
        )
    lengths = sorted({round(d) for _, _, d in roads.edges(data="length")})
    assert lengths == [333, 362]  # metres (blocks of the grid), not degrees (< 0.01)


def test_road_layer_refuses_a_lonlat_crs_for_metres() -> None:
    from siting.network.road_layer import walk_graph_from_road_layer

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Geometry is in a geographic CRS")
        try:
            G = walk_graph_from_road_layer(
                FIX / "coords/roads_lonlat.geojson", crs="EPSG:4326", highway_column="道路等级"
            )
        except (InputDataError, NetworkError) as err:
            assert "EPSG:4326" in str(err)  # noqa: PT017
            return
    lengths = sorted({d for _, _, d in G.edges(data="length")})
    raise AssertionError(f"a lon/lat CRS was accepted: edge lengths {lengths[:3]} (degrees)")


def test_swapped_metres_and_zone_prefix_are_caught_with_the_hint() -> None:
    c = FIX / "coords"
    with pytest.raises(
        InputDataError, match=r"facilities_swapped\.csv: 2 point.*ids \['F1', 'F2'\]"
    ):
        read_points(c / "facilities_swapped.csv", role="facilities", coord_system="wgs84")
    with pytest.raises(InputDataError, match=r"lon and lat look swapped.*swap the columns"):
        read_points(c / "facilities_swapped.csv", role="facilities", coord_system="wgs84")
    with pytest.raises(InputDataError, match="look like projected metres, not degrees"):
        read_points(c / "facilities_gk_metres.csv", role="facilities", coord_system="wgs84")
    with pytest.raises(InputDataError, match=r"streets_zone_prefix\.shp.*zone prefix.*4513-4533"):
        read_boundaries(c / "streets_zone_prefix.shp", level="streets")
    with pytest.raises(InputDataError, match="says degrees but holds values like metres"):
        read_boundaries(c / "streets_metres_as_degrees.geojson", level="streets")
    # the good twin: the same metres under their own CRS
    assert (
        len(read_boundaries(c / "communities_cgcs2000_gk.shp", level="communities", columns=SHP))
        == 4
    )


def test_gaode_tiles_shift_overlays_for_display_and_baidu_tiles_are_refused(mini_result) -> None:
    from dataclasses import replace

    from siting.coords import wgs84_to_gcj02
    from siting.outputs.tables import tables
    from siting.outputs.webmap import page as maps
    from siting.scenario import load

    with pytest.raises(ScenarioError, match="BD-09"):
        load(FIX / "coords/scenario_tiles_baidu.yaml")
    gaode = replace(mini_result, scenario=load(FIX / "coords/scenario_tiles_gaode.yaml"))
    proposed = tables(gaode)["proposed_sites"]
    page = maps.build_map(gaode, proposed).get_root().render()
    assert "autonavi.com" in page
    assert "GCJ-02" in page  # the map says the overlays were shifted for display
    site = proposed.iloc[0]
    _, lat = wgs84_to_gcj02(site["lon"], site["lat"])
    assert f"{float(lat):.6f}"[:8] in page  # drawn where Gaode's tiles have it
    assert gaode.problem.sites.equals(mini_result.problem.sites)  # the analysis is untouched


# -- Text and files ----------------------------------------------------------------------------


def test_gbk_shapefiles_without_cpg_are_read_as_gbk(caplog: pytest.LogCaptureFixture) -> None:
    from siting.io.encoding import shapefile_encoding

    caplog.set_level(logging.INFO, logger="siting")
    names = mini_units()["name"].tolist()
    t = FIX / "text"
    # the DBF code-page byte says GBK: read as GBK, no warning needed
    assert (
        read_boundaries(t / "communities_gbk_ldid.shp", level="communities", columns=SHP)[
            "name"
        ].tolist()
        == names
    )
    assert "language driver says gbk" in caplog.text
    # no evidence but the bytes: not UTF-8, valid GB18030 -> GB18030, with a warning
    with pytest.warns(SitingWarning, match="no .cpg file and the attributes are not UTF-8"):
        units = read_boundaries(t / "communities_gbk_noldid.shp", level="communities", columns=SHP)
    assert units["name"].tolist() == names
    # an explicit encoding wins, even a wrong one
    assert shapefile_encoding(t / "communities_gbk_noldid.shp", "latin-1") == "latin-1"
    wrong = read_vector(t / "communities_gbk_noldid.shp", encoding="cp1252")
    assert wrong["name"].tolist() != names  # mojibake, as asked


def test_gb18030_csv_is_decoded_and_csv_is_written_with_a_bom(tmp_path: Path) -> None:
    from siting.io.write import write_csv

    path = FIX / "text/population_gb18030.csv"
    table = read_table(path, id_cols=["区划代码"])
    assert list(table.columns) == ["区划代码", "社区名称", "60岁以上人口", "常住人口", "户数"]
    mini = read_table(MINI / "population.csv")
    assert table["社区名称"].tolist() == mini["name"].tolist()
    assert table["区划代码"].tolist() == mini["code"].tolist()
    joined, _ = join_population(
        mini_units(),
        table,
        source=str(path),
        columns={
            "code": "区划代码",
            "elderly_60plus": "60岁以上人口",
            "residents": "常住人口",
            "households": "户数",
        },
    )
    assert joined["elderly_60plus"].sum() == 1_400
    out = write_csv(tmp_path / "人口.csv", table)
    raw = out.read_bytes()
    assert raw.startswith("\ufeff".encode())  # Excel opens it as UTF-8
    assert "社区名称" in raw.decode("utf-8-sig")


def test_chinese_field_names_reach_a_shapefile_through_an_ascii_codebook(tmp_path: Path) -> None:
    from siting.io.spatial import write_gpkg, write_shapefiles
    from siting.scenario import Output

    layer = gpd.read_file(FIX / "text/chinese_field_names.geojson")
    columns = [c for c in layer.columns if c != "geometry"]
    assert max(len(c.encode()) for c in columns) > 10  # each would be cut by a Shapefile
    folder = write_shapefiles(tmp_path / "shp", {"communities": layer})
    book = pd.read_csv(folder / "codebook.csv", encoding="utf-8-sig")
    assert book["column"].tolist() == columns
    fields = book.set_index("column")["field"]
    assert fields.map(lambda f: f.isascii() and len(f) <= 10).all()
    assert fields.str.lower().is_unique
    shp = gpd.read_file(folder / "communities.shp")
    for col in columns:
        assert shp[fields[col]].tolist() == layer[col].tolist(), col
    # GeoPackage is the default output and keeps the names as they are
    assert Output().gpkg and not Output().shapefile  # noqa: PT018
    gpkg = gpd.read_file(write_gpkg(tmp_path / "r.gpkg", {"communities": layer}))
    assert [c for c in gpkg.columns if c != "geometry"] == columns


def test_non_ascii_paths_work_from_reading_to_the_outputs(tmp_path: Path) -> None:
    points = read_points(
        FIX / "text/朝阳区/养老设施.geojson", role="facilities", coord_system="wgs84"
    )
    assert points["name"].tolist() == ["东风社区日间照料中心", "王助乡敬老院"]
    folder = tmp_path / "朝阳区" / "养老设施选址"
    shutil.copytree(MINI, folder)
    out = tmp_path / "朝阳区" / "成果 2024"
    assert main(["run", str(folder / "scenario.yaml"), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"]["inputs.communities.path"] == str(folder / "communities.geojson")
    assert (out / "report.xlsx").is_file()


def test_codes_stay_text_and_codes_turned_into_numbers_are_named() -> None:
    t = FIX / "text"
    units = read_boundaries(t / "communities_leading_zeros.geojson", level="communities")
    joined, left_out = join_population(
        units, read_table(t / "population_leading_zeros.csv"), source="leading_zeros.csv"
    )
    assert joined.index.tolist() == ["019901001001", "019901001002", "019901001003", "019901101201"]
    assert left_out.empty
    path = t / "population_codes_as_numbers.csv"
    table = read_table(path)
    assert table["code"].tolist()[:2] == ["4.19901e+11", "419901001002.0"]  # as written
    with pytest.raises(InputDataError) as err:
        join_population(mini_units(), table, source=str(path))
    text = str(err.value)
    assert "no population row: codes ['419901001001', '419901001002']" in text  # both ways
    assert f"in {path}, column 'code': a spreadsheet turned codes into numbers" in text
    assert "'4.19901e+11' (row 2: scientific notation, only 6 digit(s) left" in text
    assert "'419901001002.0' (row 3: '419901001002' written as a number with '.0')" in text
    assert "Format Cells > Text" in text


# -- Geometry and values ------------------------------------------------------------------------


def test_invalid_polygons_are_repaired_and_reported_or_refused() -> None:
    g = FIX / "geometry"
    path = g / "communities_self_intersecting.geojson"
    with pytest.warns(SitingWarning, match=r"repaired 1 invalid polygon.*419901001002 \(0\.\d+%\)"):
        fixed = read_boundaries(path, level="communities")
    assert fixed.geometry.is_valid.all()
    twin = mini_units().geometry.to_crs(4547).area
    change = (fixed.geometry.to_crs(4547).area - twin).abs() / twin
    assert change["419901001002"] < 0.01
    assert len(fixed) == 4  # nothing dropped
    with pytest.raises(
        InputDataError, match=r"1 invalid polygon\(s\).*codes \['419901001002'\].*allow `repair`"
    ):
        read_boundaries(path, level="communities", repair=False)
    with pytest.raises(InputDataError, match=r"codes \['419901001003'\] by more than 1%"):
        read_boundaries(g / "communities_bowtie.geojson", level="communities")
    with pytest.raises(InputDataError, match=r"codes \['419901101201'\] have no geometry"):
        read_boundaries(g / "communities_null_geometry.geojson", level="communities")


def test_duplicate_and_missing_ids_are_listed() -> None:
    g = FIX / "geometry"
    with pytest.raises(InputDataError, match=r"duplicate ids \['419901001002'\]"):
        read_boundaries(g / "communities_duplicate_ids.geojson", level="communities")
    with pytest.raises(InputDataError) as err:
        read_points(
            g / "facilities_missing_and_duplicate_ids.csv", role="facilities", coord_system="wgs84"
        )
    assert "column 'id' is empty on 1 row(s) (file lines [2])" in str(err.value)
    assert "duplicate ids ['F2']" in str(err.value)
    path = g / "population_duplicate_codes.csv"
    with pytest.raises(InputDataError, match=r"duplicate ids \['419901001002'\]"):
        join_population(mini_units(), read_table(path), source=str(path))


def test_population_figures_follow_the_policy_and_totals_are_logged(
    caplog: pytest.LogCaptureFixture, mini_graph
) -> None:
    from siting.problem.demand import demand_points

    units = mini_units()
    v = FIX / "values"
    bad = read_table(v / "population_bad_figures.csv")
    for policy in ("raise", "zero", "drop"):  # a negative figure stops every policy
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SitingWarning)  # zero/drop say what they did first
            with pytest.raises(InputDataError) as err:
                join_population(units, bad, source="bad.csv", nan_policy=policy)  # type: ignore[arg-type]
        assert "negative figures for codes ['419901001001'] (values [-30" in str(err.value)
    with pytest.raises(InputDataError) as err:
        join_population(units, bad[bad["code"] != "419901001001"], source="bad.csv")
    text = str(err.value)
    assert "non-numeric or negative for ids ['419901001002', '419901001003']" in text
    assert "nan_policy" in text  # and the fix
    missing = read_table(v / "population_missing_figure.csv")
    with pytest.warns(SitingWarning, match=r"codes \['419901001002'\]: set to 0"):
        zero, _ = join_population(units, missing, source="m.csv", nan_policy="zero")
    assert zero.loc["419901001002", "elderly_60plus"] == 0
    with pytest.warns(SitingWarning, match=r"left out \(drop\)"):
        dropped, left_out = join_population(units, missing, source="m.csv", nan_policy="drop")
    assert "419901001002" not in dropped.index
    assert left_out["code"].tolist() == ["419901001002"]
    assert "nan_policy: drop" in left_out["reason"].iloc[0]
    # the total is logged after the join and before and after spreading over the streets
    caplog.set_level(logging.INFO, logger="siting")
    joined, _ = join_population(units, read_table(MINI / "population.csv"), source="p.csv")
    assert "joined population: 4 社区/村, 1,400 elderly (60+)" in caplog.text
    demand_points(joined.to_crs(mini_graph.graph["crs"]), mini_graph)
    assert "1,400 elderly before and after spreading (1,400.0)" in caplog.text


def test_population_and_boundaries_that_disagree_are_listed_never_dropped(tmp_path: Path) -> None:
    v = FIX / "values"
    zone = read_table(v / "population_zone_without_polygon.csv")
    with pytest.raises(InputDataError) as err:
        join_population(mini_units(), zone, source="zone.csv")
    assert "1 population rows match no boundary polygon: codes ['419901001901'] (90 elderly)" in (
        str(err.value)
    )
    assert "`unmatched: exclude`" in str(err.value)  # the documented rule, named as the fix
    no_row = read_table(v / "population_polygon_without_row.csv")
    with pytest.raises(InputDataError, match=r"have no population row: codes \['419901101201'\]"):
        join_population(mini_units(), no_row, source="no_row.csv", unmatched="exclude")
    # the zone left out by the scenario's explicit rule: listed in summary.json with the reason
    scenario = mini_copy(tmp_path, {"population.csv": "values/population_zone_without_polygon.csv"})
    excluded = variant(scenario, "inputs:\n  population: {unmatched: exclude}\n")
    assert main(["run", str(excluded), "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out/summary.json").read_text(encoding="utf-8"))
    assert [(x["code"], x["elderly"]) for x in summary["excluded_population"]] == [
        ("419901001901", 90.0)
    ]
    assert "without a boundary polygon" in summary["excluded_population"][0]["reason"]
    notes = {w["code"]: w for w in summary["warnings"]}
    assert notes["population_left_out"]["ids"] == ["419901001901"]
    assert summary["elderly_total"] == 1_400  # the 社区/村 with polygons, all of them


def test_points_far_from_the_network_are_kept_with_their_walk_and_reported(
    mini_graph, far_run: Path
) -> None:
    from siting.problem.sites import snap_sites

    sites = read_points(
        FIX / "geometry/facilities_far_from_network.csv", role="facilities", coord_system="wgs84"
    ).to_crs(mini_graph.graph["crs"])
    with pytest.warns(SitingWarning, match=r"'F1'") as caught:
        snapped = snap_sites(sites, mini_graph, role="facilities", warn_beyond_m=200.0)
    assert "'F2'" not in " ".join(str(w.message) for w in caught)
    assert snapped["snap_m"].notna().all()  # a distance for every point
    assert 200 < snapped.loc["F1", "snap_m"] < 260
    assert snapped.loc["F2", "snap_m"] < 20
    # a run keeps it (its walk to the street added) and records it in summary.json
    summary = json.loads((far_run / "summary.json").read_text(encoding="utf-8"))
    far = [w for w in summary["warnings"] if w["code"] == "site_far_from_network"]
    assert far and far[0]["ids"] == ["F1"]  # noqa: PT018
    comm = pd.read_csv(far_run / "coverage_by_community.csv", encoding="utf-8-sig")
    assert comm["covered_before"].sum() > 0  # F1 still forms its circle


def test_warnings_are_in_the_report_workbook(far_run: Path) -> None:
    summary = json.loads((far_run / "summary.json").read_text(encoding="utf-8"))
    assert summary["warnings"]
    book = pd.read_excel(far_run / "report.xlsx", sheet_name=None, header=None)
    cells = {str(v) for sheet in book.values() for v in sheet.to_numpy().ravel()}
    for note in summary["warnings"]:  # in Chinese; the English stays in summary.json
        assert note["message_zh"], note["code"]
        assert any(note["message_zh"] in c for c in cells), note["code"]
        assert not any(note["message"] in c for c in cells), note["code"]


def test_community_points_are_not_taken_for_boundaries(tmp_path: Path) -> None:
    from siting.pipeline.stages import run
    from siting.scenario import load

    scenario = mini_copy(
        tmp_path, {"communities.geojson": "geometry/communities_as_points.geojson"}
    )
    try:
        res = run(load(scenario))
    except InputDataError as err:  # refused: the file named, and what it holds
        assert "communities.geojson" in str(err)  # noqa: PT017
        assert "point" in str(err).lower()  # noqa: PT017
        return
    # or handled as points by design: cells derived from them, and said so
    codes = {n.code for n in res.warnings}
    assert "demand_at_nearest_node" not in codes, "the points were taken for polygons"
    assert any("point" in n.message.lower() and "cell" in n.message.lower() for n in res.warnings)


def test_title_rows_above_the_header_are_passed_over() -> None:
    table = read_table(FIX / "values/population_title_rows.csv")
    assert list(table.columns) == ["code", "name", "elderly_60plus", "residents", "households"]
    assert table["code"].tolist() == read_table(MINI / "population.csv")["code"].tolist()


def test_total_rows_are_skipped_and_reported() -> None:
    path = FIX / "values/population_total_rows.csv"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        joined, _ = join_population(mini_units(), read_table(path), source=str(path))
    assert any("合计" in str(w.message) for w in caught)  # skipped, and said so
    assert joined["elderly_60plus"].sum() == 1_400  # and the 合计 row says the same


def test_age_bands_are_summed() -> None:
    path = FIX / "values/population_age_bands.csv"
    joined, _ = join_population(mini_units(), read_table(path), source=str(path))
    assert joined["elderly_60plus"].tolist() == [300, 500, 400, 200]


def test_population_by_name_joins_within_the_street() -> None:
    path = FIX / "values/population_by_name.csv"
    joined, left_out = join_population(
        mini_units(), read_table(path), source=str(path), columns={"name": "社区名称"}
    )
    assert joined["elderly_60plus"].tolist() == [300, 500, 400, 200]
    assert left_out.empty


def test_islands_are_counted_and_their_demand_is_marked_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from siting.network.distances import cost_matrix
    from siting.network.osm_file import walk_graph_from_osm_file
    from siting.pipeline.stages import run
    from siting.scenario import load

    caplog.set_level(logging.INFO, logger="siting")
    G = walk_graph_from_osm_file(FIX / "network/island.osm", crs="EPSG:4547")
    assert "2 connected piece(s)" in caplog.text
    assert "4 node(s) in smaller pieces" in caplog.text
    # row 3 is one-way for cars: walked both ways
    assert G.has_edge(28, 29)
    assert G.has_edge(29, 28)
    # a pair out of reach is no entry in the matrix, never a large number
    matrix = cost_matrix(G, [900, 901, 1], [1, 2], cutoff_m=1000.0)
    assert matrix[:2].nnz == 0  # the island's rows: nothing stored
    assert matrix[2].nnz == 2  # the grid node: both sites, the same node's at 0 m
    assert matrix.data.max() <= 1000
    # in a run, the island's elderly are reported as out of every candidate's reach
    scenario = mini_copy(tmp_path)
    shutil.copy(FIX / "network/island.osm", scenario.parent / "island.osm")
    res = run(load(variant(scenario, "inputs:\n  network: {osm_file: island.osm}\n")))
    island = res.demand["node"].isin([900, 901, 902, 903])
    assert island.sum() == 4
    assert res.coverage.elderly(res.coverage.uncoverable) == pytest.approx(
        res.demand.loc[island, "weight"].sum()
    )
    assert not res.demand.loc[island, "covered_after"].any()


def test_a_detached_ring_of_lanes_is_counted_as_an_island(caplog: pytest.LogCaptureFixture) -> None:
    from siting.network.osm_file import walk_graph_from_osm_file

    caplog.set_level(logging.INFO, logger="siting")
    G = walk_graph_from_osm_file(FIX / "network/island_ring.osm", crs="EPSG:4547")
    assert "2 connected piece(s)" in caplog.text
    assert any(n >= 900 for n in G.nodes)


def test_lscp_names_the_uncoverable_demand_before_solving(tmp_path: Path) -> None:
    from siting.models import LSCP
    from siting.pipeline.stages import run
    from siting.scenario import load

    dist, w, demand_ids, _ = cost_fixture()
    with pytest.raises(ModelError, match=r"1 demand point\(s\) \(40 elderly\).*'d5'"):
        LSCP.from_cost_matrix(dist, radius_m=900.0, weights=w, demand_ids=demand_ids)
    model = LSCP.from_cost_matrix(
        dist, radius_m=900.0, weights=w, demand_ids=demand_ids, exclude_uncoverable=True
    )
    assert model.uncoverable() == (["d5"], 40.0)
    result = model.solve(method="exact")
    assert result.objective == 3  # S1, S2, S3: d1, d3 and d4 have one site each
    assert result.uncoverable == 40.0
    # the same in a scenario: the island's demand points named, and the option to exclude them
    scenario = FIX / "network/scenario_island_lscp.yaml"
    with pytest.raises(ModelError) as err:
        run(load(scenario))
    assert "4 demand point(s)" in str(err.value)
    assert "'419901101201#900'" in str(err.value)
    assert "exclude_uncoverable: true" in str(err.value)
    copy = tmp_path / "network"
    shutil.copytree(FIX / "network", copy)
    shutil.copytree(MINI, tmp_path / "mini")
    res = run(load(variant(copy / scenario.name, "model: {exclude_uncoverable: true}\n")))
    island = res.demand["node"].isin([900, 901, 902, 903])
    assert res.coverage.elderly(res.coverage.uncoverable) == pytest.approx(
        res.demand.loc[island, "weight"].sum()
    )
    assert res.demand.loc[~island, "covered_after"].all()  # everyone else is covered


def test_impossible_site_counts_fail_before_solving() -> None:
    from siting.models import MCLP
    from siting.pipeline.stages import run
    from siting.scenario import load

    dist, w, _, sites = cost_fixture()
    with pytest.raises(ModelError, match=r"`p` = 5 is larger than the number of candidate sites"):
        MCLP.from_cost_matrix(dist, w, radius_m=900.0, p=5, site_ids=sites)
    with pytest.raises(ModelError, match=r"columns \[0\] are both fixed and candidates"):
        MCLP.from_cost_matrix(dist, w, radius_m=900.0, p=1, fixed=[0], candidates=[0, 1])
    with pytest.raises(ModelError, match=r"`fixed` has column indices outside 0\.\.3: \[7\]"):
        MCLP.from_cost_matrix(dist, w, radius_m=900.0, p=1, fixed=[7])
    with pytest.raises(ModelError, match=r"candidate sites \(0\)"):
        MCLP.from_cost_matrix(dist, w, radius_m=900.0, p=1, candidates=[])
    with pytest.raises(
        ModelError, match=r"`p` = 7 is larger than the number of candidate sites \(6\)"
    ):
        run(load(FIX / "models/scenario_p_too_large.yaml"))
    with pytest.raises(ModelError, match=r"candidate sites \(0\); lower p or add candidates"):
        run(load(FIX / "models/scenario_no_candidates.yaml"))


def test_a_solver_stopped_by_its_clock_gives_its_gap_or_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from siting.models import MCLP, _highs

    dist, w, _, sites = cost_fixture()
    solve = _highs.run

    def stopped_at_once(lp: object, **kwargs: object) -> object:
        return solve(lp, **{**kwargs, "time_limit_s": 0.0})  # type: ignore[arg-type]

    monkeypatch.setattr(_highs, "run", stopped_at_once)
    model = MCLP.from_cost_matrix(dist, w, radius_m=900.0, p=1, site_ids=sites)
    result = model.solve(method="exact")
    # the best solution found (the warm start), with the gap HiGHS proved when it stopped
    assert result.status == "Time limit reached"
    assert result.selected == ("S1",)
    assert result.objective == 200.0  # d1 + d2: the optimum, here
    assert result.bound >= result.objective
    assert result.gap == pytest.approx((result.bound - result.objective) / result.objective)

    def stopped_without_start(lp: object, **kwargs: object) -> object:
        return solve(lp, **{**kwargs, "time_limit_s": 0.0, "start": None})  # type: ignore[arg-type]

    monkeypatch.setattr(_highs, "run", stopped_without_start)
    with pytest.raises(SolverError, match=r"no feasible solution.*raise `time_limit_s`"):
        model.solve(method="exact")


def test_distances_are_sparse_and_kept_within_reach(mini_graph) -> None:
    from scipy import sparse
    from scipy.sparse.csgraph import dijkstra

    from siting.models import MCLP
    from siting.network.distances import cost_matrix, walk_arrays

    nodes = list(mini_graph.nodes)
    matrix = cost_matrix(mini_graph, nodes, nodes, cutoff_m=900.0)
    assert sparse.issparse(matrix)
    full = dijkstra(walk_arrays(mini_graph).adjacency)
    within = int((full <= 900.0).sum())
    assert matrix.nnz == within < len(nodes) ** 2  # only the pairs within reach are stored
    model = MCLP.from_cost_matrix(matrix, np.ones(len(nodes)), radius_m=900.0, p=2)
    assert sparse.issparse(model.cover)


def test_memory_is_estimated_before_the_cost_matrix(caplog: pytest.LogCaptureFixture) -> None:
    from siting.pipeline.stages import run
    from siting.scenario import load

    caplog.set_level(logging.INFO, logger="siting")
    run(load(MINI / "scenario.yaml"))
    messages = [r.getMessage() for r in caplog.records]
    matrix = next(i for i, m in enumerate(messages) if m.startswith("walking distances"))
    assert any("memory" in m.lower() for m in messages[:matrix])


# -- Scenarios and outputs -----------------------------------------------------------------


def test_bad_scenarios_name_the_key_and_the_file() -> None:
    from siting.scenario import load

    s = FIX / "scenarios"
    with pytest.raises(ScenarioError) as err:
        load(s / "unknown_key.yaml")
    assert "coverage.walk_sped_mps: unknown key" in str(err.value)
    assert str(s / "unknown_key.yaml") in str(err.value)
    with pytest.raises(ScenarioError) as err:
        load(s / "wrong_type_negative_radius.yaml")
    text = str(err.value)
    assert str(s / "wrong_type_negative_radius.yaml") in text
    assert "2 problem(s)" in text
    assert "coverage.rural_radius_m" in text and "-1000" in text  # noqa: PT018
    assert "model.p" in text and "'two'" in text  # noqa: PT018
    with pytest.raises(InputFileNotFoundError) as err:
        load(s / "missing_path.yaml")
    assert "inputs.network.osm_file" in str(err.value)
    assert str(s / "nowhere.osm") in str(err.value)
    with pytest.raises(ScenarioError, match=r"python_tag\.yaml: not valid YAML"):
        load(s / "python_tag.yaml")  # the safe loader: the tag is refused, nothing runs


def test_a_folder_siting_did_not_write_or_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = str(MINI / "scenario.yaml")
    folder = tmp_path / "reports"
    shutil.copytree(FIX / "outputs/foreign_folder", folder)
    before = _listing(folder)
    assert main(["run", scenario, "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "already holds files that siting did not write" in err and "--overwrite" in err  # noqa: PT018
    assert _listing(folder) == before
    file = tmp_path / "not_a_folder"
    shutil.copy(FIX / "outputs/not_a_folder", file)
    assert main(["run", scenario, "--out", str(file)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert file.read_bytes() == (FIX / "outputs/not_a_folder").read_bytes()
    # asked explicitly, the run writes its set and keeps the bureau's file
    assert main(["run", scenario, "--out", str(folder), "--overwrite"]) == 0
    assert (folder / "会议记录.txt").read_bytes() == before["会议记录.txt"]
    assert (folder / "summary.json").is_file()


def test_interrupted_runs_leave_no_half_written_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from siting.outputs import workbook

    scenario = str(MINI / "scenario.yaml")
    out = tmp_path / "out"
    real = workbook.write_xlsx

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the CSV tables, before the workbook

    monkeypatch.setattr(workbook, "write_xlsx", interrupted)
    assert main(["run", scenario, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err  # noqa: PT018
    assert list(tmp_path.iterdir()) == []  # no folder, no half-written tables, no temporary
    monkeypatch.setattr(workbook, "write_xlsx", real)
    assert main(["run", scenario, "--out", str(out)]) == 0
    before = _listing(out)
    monkeypatch.setattr(workbook, "write_xlsx", interrupted)
    assert main(["run", scenario, "--out", str(out)]) == 130
    assert _listing(out) == before  # the earlier run's complete set
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    before = _listing(MINI)
    for name in ("a", "b"):
        assert main(["run", str(MINI / "scenario.yaml"), "--out", str(tmp_path / name)]) == 0
    a, b = _listing(tmp_path / "a"), _listing(tmp_path / "b")
    assert sorted(a) == sorted(b)
    for name in a:
        if name.endswith((".csv", ".json")) and name != "timings.json":
            assert a[name] == b[name], name
    sheets = [pd.read_excel(tmp_path / n / "report.xlsx", sheet_name=None) for n in ("a", "b")]
    for sheet, frame in sheets[0].items():
        pd.testing.assert_frame_equal(frame, sheets[1][sheet])
    assert _listing(MINI) == before  # running a scenario writes nothing beside it


def test_an_error_page_is_retried_then_reported_and_never_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests
    from shapely.geometry import box

    from siting.network.download import walk_graph_from_download

    page = (FIX / "download/overpass_rate_limited.html").read_bytes()
    calls: list[int] = []

    def post(*args: object, **kwargs: object) -> requests.Response:
        calls.append(1)
        r = requests.Response()
        r.status_code, r.reason, r._content = 200, "OK", page
        r.url = "https://overpass.example/api/interpreter"
        return r

    monkeypatch.setattr("osmnx._overpass.requests.post", post)
    monkeypatch.setattr("osmnx._http._config_dns", lambda url: None)
    cache = tmp_path / "cache"
    area = box(115.0, 35.75, 115.01, 35.76)
    with pytest.raises(NetworkError) as err:
        walk_graph_from_download(area, crs="EPSG:4547", cache_dir=cache, attempts=2, backoff_s=0)
    text = str(err.value)
    assert "attempt 1" in text and "attempt 2" in text  # noqa: PT018
    assert "inputs.network.osm_file" in text  # the offline way
    assert len(calls) == 2  # bounded
    assert not cache.exists() or not any(cache.iterdir())  # nothing cached from a failure
