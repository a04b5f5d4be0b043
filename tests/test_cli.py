"""End to end: `siting run` on the demo writes consistent outputs and a safe offline map."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from siting.cli import main


def test_summary_has_the_promised_fields(demo_summary: dict) -> None:
    s = demo_summary
    assert s["scenario"] == "demo"
    assert (s["walk_speed_mps"], s["urban_radius_m"], s["rural_radius_m"]) == (1.0, 900, 1000)
    assert s["elderly_total"] == pytest.approx(96_615)
    for key in ("covered_before", "covered_after"):
        assert set(s[key]) == {"elderly", "share"}
        assert s[key]["share"] == pytest.approx(s[key]["elderly"] / s["elderly_total"], abs=1e-4)
    assert s["model"]["name"] == "mclp"
    assert s["model"]["p"] == 10
    assert s["model"]["status"].startswith("Optimal")
    assert s["model"]["gap"] == pytest.approx(0, abs=1e-9)
    assert len(s["new_sites"]) == 10
    assert {"id", "lon", "lat", "newly_covered"} <= set(s["new_sites"][0])
    assert {"unit", "required_m2", "provided_m2", "shortfall_m2"} <= set(s["land_check"][0])
    # the demo has real gaps before and after
    assert 0.3 < s["covered_before"]["share"] < s["covered_after"]["share"] < 1.0
    assert s["communities_uncovered_before"] > 0


def test_outputs_agree_with_each_other(demo_out: Path, demo_summary: dict) -> None:
    s = demo_summary
    comm = pd.read_csv(
        demo_out / "coverage_by_community.csv", encoding="utf-8-sig", dtype={"code": str}
    )
    sites = pd.read_csv(demo_out / "proposed_sites.csv", encoding="utf-8-sig")
    land = pd.read_csv(demo_out / "land_check.csv", encoding="utf-8-sig", dtype={"unit": str})
    units = pd.read_csv(demo_out / "coverage_by_unit.csv", encoding="utf-8-sig")
    assert comm["elderly"].sum() == pytest.approx(s["elderly_total"])
    # the summary sums exactly and rounds once; each CSV row is rounded to 0.1 on its own
    rows = 0.05 * len(comm)
    assert comm["covered_before"].sum() == pytest.approx(s["covered_before"]["elderly"], abs=rows)
    assert comm["covered_after"].sum() == pytest.approx(s["covered_after"]["elderly"], abs=rows)
    gain = s["covered_after"]["elderly"] - s["covered_before"]["elderly"]
    assert sum(x["newly_covered"] for x in s["new_sites"]) == pytest.approx(gain, abs=1.0)
    assert sites["newly_covered"].tolist() == [x["newly_covered"] for x in s["new_sites"]]
    assert sites["id"].tolist() == [x["id"] for x in s["new_sites"]]
    assert sites["build_order"].tolist() == list(range(1, 11))
    assert sites["newly_covered"].is_monotonic_decreasing
    assert units["covered_after"].sum() == pytest.approx(comm["covered_after"].sum(), abs=0.5)
    assert land["shortfall_m2"].tolist() == [x["shortfall_m2"] for x in s["land_check"]]
    total = land.iloc[-1]
    assert total["required_m2"] == pytest.approx(land.iloc[:-1]["required_m2"].sum(), abs=1)
    assert total["required_m2"] == pytest.approx(0.2 * land.iloc[:-1]["residents"].sum(), abs=1)
    assert not land.iloc[:-1]["pass"].all()
    assert land.iloc[:-1]["pass"].any()
    assert sites["communities_newly_covered"].notna().all()


def test_map_is_offline_and_complete(demo_out: Path) -> None:
    page = (demo_out / "map.html").read_text(encoding="utf-8")
    external = re.findall(r"<(?:script|link)[^>]+(?:src|href)=\"(https?:[^\"]+)\"", page)
    assert external == []
    for layer in (
        "社区/村覆盖率（规划后）",
        "建议新建站点（按建设顺序编号）",
        "现有设施服务圈·一刻钟",
        "服务圈外的老人（规划后）",
        "街道/乡镇边界",
    ):
        assert json.dumps(layer) in page  # layer names are JSON strings in the page's script
    assert "L.control.layers" in page
    assert "一刻钟" in page


def test_names_from_data_are_escaped_in_the_map(demo_copy: Path, tmp_path: Path) -> None:
    comm = demo_copy.parent.parent / "data/boundaries/demo_communities.geojson"
    doc = json.loads(comm.read_text(encoding="utf-8"))
    doc["features"][0]["properties"]["name"] = "<script>alert('x')</script>社区"
    comm.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(demo_copy), "--out", str(out)]) == 0
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "<script>alert('x')" not in page
    # the tooltip carries the name HTML-escaped (inside a JSON string): shown, never run
    assert r"\u0026lt;script\u0026gt;alert(\u0026#x27;x\u0026#x27;)" in page


def test_refuses_a_folder_it_did_not_write(
    demo_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    (out / "mine.docx").write_text("a bureau's own file", encoding="utf-8")
    assert main(["run", str(demo_copy), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["mine.docx"]


def test_the_command_exits_quickly_with_mains_status_and_all_its_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`siting` (cli.console) skips the interpreter's teardown: its status and every line
    printed must still be main's, through a pipe too."""
    import subprocess
    import sys

    assert main(["rules", "list"]) == 0
    expected = capsys.readouterr().out
    done = subprocess.run(
        [sys.executable, "-m", "siting.cli", "rules", "list"], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, expected)
    missing = tmp_path / "no such.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "siting.cli", "run", str(missing)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ")
    assert "no such.yaml" in done.stderr


def test_closed_streams_and_a_reader_that_leaves_do_not_change_the_status(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "siting.cli"]
    closed = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    for stream in ("stdout", "stderr"):
        # a stream closed by the shell (`>&-`, `2>&-`): the child starts with it closed
        code = f"import os, sys; os.close({1 if stream == 'stdout' else 2}); " + (
            "from siting.cli import console; sys.argv = ['siting'] + sys.argv[1:]; console()"
        )
        done = subprocess.run([sys.executable, "-c", code, "rules", "list"], **closed)
        assert done.returncode == 0, stream
        missing = [sys.executable, "-c", code, "run", str(tmp_path / "none.yaml")]
        assert subprocess.run(missing, **closed).returncode == 2, stream
    # the reader of stdout goes away after the first line: the command still ends with 0
    proc = subprocess.Popen([*cmd, "rules", "list", "henan"], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0


def test_sigterm_is_handled_as_ctrl_c(demo_copy: Path, tmp_path: Path) -> None:
    """SIGTERM while the outputs are written: the folder keeps its previous complete set, no
    temporary folder is left, and the picture process does not write on after the command."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    assert main(["run", str(demo_copy), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.name != "timings.json"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "siting.cli", "run", str(demo_copy), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.*.new")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    if proc.poll() is not None:
        pytest.skip("the run finished before its outputs could be interrupted")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    time.sleep(1.0)  # a picture process left running would write on into the folder
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.name != "timings.json"}
    assert after == before
