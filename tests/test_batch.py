"""Province batches: the fictional province, the batch table and map, and a batch on a Dask
cluster of separately started processes that loses a worker mid-batch."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from siting import scenario
from siting.batch import run as batch
from siting.batch import summary as batchreport
from siting.demo.province import county_code, generate
from siting.io.write import write_text


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four tiny counties and a second scenario of the first county (elderly walking speed,
    the same network); no PNG (the slowest output, compared like any other file elsewhere)."""
    root = tmp_path_factory.mktemp("province")
    for path in generate(root, counties=4):
        write_text(path, path.read_text(encoding="utf-8") + "output: {map_png: false}\n")
    first = root / "scenarios" / "county001.yaml"
    text = first.read_text(encoding="utf-8")
    write_text(
        first.with_name("county001-slow.yaml"),
        text.replace("name: county001", "name: county001-slow").replace(
            "walk_speed_mps: 1.0", "walk_speed: elderly"
        ),
    )
    return root / "scenarios"


def _items(folder: Path, out: Path) -> list[tuple[scenario.Scenario, Path]]:
    loaded = [scenario.load(p) for p in sorted(folder.glob("*.yaml"))]
    return [(sc, out / sc.name) for sc in loaded]


def test_the_province_is_deterministic_and_each_county_its_own(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", counties=2)
    b = generate(tmp_path / "b", counties=2)
    one = generate(tmp_path / "one", counties=1)
    for root in ("a", "b", "one"):
        assert sorted(p.name for p in (tmp_path / root).iterdir()) == sorted(
            ["scenarios", "county001", *(["county002"] if root != "one" else [])]
        )
    for name in ("county001", "county002"):
        for file in (tmp_path / "a" / name).iterdir():
            assert file.read_bytes() == (tmp_path / "b" / name / file.name).read_bytes()
    # county 1 does not depend on how many counties there are
    for file in (tmp_path / "one" / "county001").iterdir():
        assert file.read_bytes() == (tmp_path / "a" / "county001" / file.name).read_bytes()
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert one[0].read_bytes() == a[0].read_bytes()
    sc = scenario.load(a[1])
    assert (sc.district.code, sc.district.name) == ("419802", "演示2县")
    streets = json.loads((tmp_path / "a" / "county002" / "streets.geojson").read_text("utf-8"))
    assert all(f["properties"]["code"].startswith("419802") for f in streets["features"])
    # neighbouring tiles, not the same place
    lons = [
        json.loads((tmp_path / "a" / n / "streets.geojson").read_text("utf-8"))["features"][0][
            "geometry"
        ]["coordinates"][0][0][0]
        for n in ("county001", "county002")
    ]
    assert lons[0] != lons[1]
    assert [county_code(k) for k in (0, 98, 99)] == ["419801", "419899", "419701"]


def test_plan_sends_the_scenarios_of_a_network_to_one_worker(province: Path) -> None:
    scenarios = [sc for sc, _ in _items(province, Path("out"))]
    chosen = batch.plan(scenarios, ["tcp://b:1", "tcp://a:1"])
    assert chosen == {"county001": "tcp://a:1", "county001-slow": "tcp://a:1"}
    assert batch.plan(scenarios, []) == {}


def test_a_worker_keeps_the_network_for_the_next_scenario(
    province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "_WORKER_CACHE", batch.RunCache())
    first, slow = (scenario.load(province / f"{n}.yaml") for n in ("county001", "county001-slow"))
    a = batch.run_scenario(first, tmp_path / "a", staging=tmp_path / "stage-a")
    b = batch.run_scenario(slow, tmp_path / "b", staging=tmp_path / "stage-b")
    assert (a.status, b.status) == ("ok", "ok")
    assert (a.reused, b.reused) == (0, 1)  # the network; the matrix differs (other radius)
    assert not (tmp_path / "b").exists()  # written to the staging folder, to be published
    assert (tmp_path / "stage-b" / "summary.json").is_file()
    batch.publish(tmp_path / "stage-b", tmp_path / "b")
    assert (tmp_path / "b" / "summary.json").is_file()
    assert not (tmp_path / "stage-b").exists()
    cache = batch._WORKER_CACHE
    for k in range(6):  # older networks leave, with their matrices
        cache.networks[("net", k)] = None  # type: ignore[assignment]
        cache.matrices[("net", k, "m")] = None  # type: ignore[assignment]
    batch._trim(cache, 2)
    assert list(cache.networks) == [("net", 4), ("net", 5)]
    assert all(m[:2] in cache.networks for m in cache.matrices)


def test_a_bad_scenario_is_reported_and_the_others_written(
    province: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from siting.cli import main

    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name in ("county002", "county003"):
        shutil.copytree(province.parent / name, tmp_path / name)
        shutil.copy(province / f"{name}.yaml", folder)
    hostile = "=1+1<img src=x onerror=alert(1)>{{7*7}}"  # a county name as bad as names get
    yaml = folder / "county002.yaml"
    yaml.write_text(
        yaml.read_text(encoding="utf-8").replace(
            "name: 演示2县}", f"name: {json.dumps(hostile)}}}"
        ),
        encoding="utf-8",
    )
    population = tmp_path / "county003" / "population.csv"
    table = pd.read_csv(population, encoding="utf-8-sig", dtype={"code": str})
    table.loc[0, "elderly_60plus"] = table.loc[0, "residents"] + 1  # a typo in one row
    table.to_csv(population, index=False, encoding="utf-8-sig")
    out = tmp_path / "out"
    assert main(["run", str(folder), "--out", str(out)]) == 2
    printed = capsys.readouterr()
    assert "2 scenarios; networks and cost matrices reused 0 time(s)" in printed.out
    assert "情景 county003：运行失败" in printed.out
    assert "1 of 2 scenario(s) failed" in printed.err
    assert "more elderly than residents" in printed.err
    assert (out / "county002" / "summary.json").is_file()
    assert not (out / "county003").exists()
    table = pd.read_csv(out / "batch_summary.csv", encoding="utf-8-sig", dtype={"county_code": str})
    assert table["scenario"].tolist() == ["county002", "county003"]
    assert table["status"].tolist() == ["ok", "error"]
    assert table.loc[0, "county_code"] == "419802"
    assert table.loc[0, "county"] == "'" + hostile  # CSV: shown as text by a spreadsheet
    assert table.loc[1, "county"] == "演示3县"  # from the scenario's district
    assert "more elderly than residents" in table.loc[1, "error"]
    summary = json.loads((out / "county002" / "summary.json").read_text(encoding="utf-8"))
    assert table.loc[0, "share_after"] == summary["covered_after"]["share"]
    assert table.loc[0, "new_sites"] == len(summary["new_sites"])
    sheet = pd.read_excel(out / "batch_summary.xlsx", sheet_name="批量汇总")
    assert list(sheet.columns[:3]) == ["区县代码", "区县", "情景"]
    assert sheet["状态"].tolist() == ["成功", "失败"]
    page = (out / "province_map.html").read_text(encoding="utf-8")
    tips = [json.loads(f'"{t}"') for t in re.findall(r'"tip": "((?:[^"\\]|\\.)*)"', page)]
    assert [t.split("<table")[0] for t in tips] == [  # county003 failed: no outline
        "<b>=1+1&lt;img src=x onerror=alert(1)&gt;&#123;&#123;7*7&#125;&#125;</b>（419802）"
    ]
    assert "<img src=x" not in page
    assert "{{7*7}}" not in page
    assert "'=1+1<img" in (out / "batch_summary.csv").read_text(encoding="utf-8-sig")
    from openpyxl import load_workbook

    cell = load_workbook(out / "batch_summary.xlsx")["批量汇总"]["B2"]
    assert (cell.value, cell.data_type) == (hostile, "s")  # text, not a formula
    assert "运行失败的情景" in page
    assert re.findall(r"<(?:script|link)[^>]+(?:src|href)=\"(https?:[^\"]+)\"", page) == []


# --------------------------------------------------------------------------- a real cluster


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole below
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, dict[str, subprocess.Popen[bytes]]]]:
    """A scheduler and two single-threaded workers (no nanny: a killed worker stays dead),
    each a process of its own on localhost with random ports; all stopped at the end."""
    from distributed import Client

    file = tmp_path / "scheduler.json"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            _start(
                [
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(file),
                    "--idle-timeout",
                    "300",  # gone by itself should this test process die
                ],
                tmp_path / "scheduler.log",
            )
        )
        workers = {}
        for name in ("w0", "w1"):
            workers[name] = _start(
                [
                    "worker",
                    "--scheduler-file",
                    str(file),
                    "--host",
                    "127.0.0.1",
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--name",
                    name,
                    "--death-timeout",
                    "60",
                ],
                tmp_path / f"{name}.log",
            )
            procs.append(workers[name])
        deadline = time.monotonic() + 60
        while not file.is_file() or not file.read_text():
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for proc in procs:
            _stop(proc)


def test_a_batch_on_dask_survives_a_lost_worker_with_the_serial_bytes(
    province: Path, tmp_path: Path, cluster: tuple[str, dict[str, subprocess.Popen[bytes]]]
) -> None:
    from distributed import Client

    address, workers = cluster
    serial = batch.run_batch(_items(province, tmp_path / "serial"), tmp_path / "serial")
    assert [o.status for o in serial.outcomes] == ["ok"] * 5
    assert serial.reused == 1  # county001-slow: county001's network

    out = tmp_path / "dask"
    items = _items(province, out)
    published: list[Path] = []
    killed: list[str] = []
    watcher = Client(address, timeout="30s")
    names = {a: w["name"] for a, w in watcher.scheduler_info()["workers"].items()}
    pair = batch.plan([sc for sc, _ in items], sorted(names))["county001"]

    def kill_a_busy_worker(folder: Path) -> None:
        """At the first published set: kill the worker not holding county001's network while
        it is running a scenario."""
        published.append(folder)
        if killed:
            return
        victim = next(a for a in names if a != pair)
        deadline = time.monotonic() + 60
        while not watcher.processing().get(victim):
            assert time.monotonic() < deadline, "the other worker never ran a scenario"
            time.sleep(0.05)
        killed.extend(watcher.processing()[victim])
        os.kill(workers[names[victim]].pid, signal.SIGKILL)

    try:
        result = batch.run_batch(items, out, scheduler=address, on_published=kill_a_busy_worker)
    finally:
        watcher.close()
    assert killed, "no worker was killed"
    assert workers[names[next(a for a in names if a != pair)]].poll() is not None
    assert [o.status for o in result.outcomes] == ["ok"] * 5, [o.error for o in result.outcomes]
    assert sorted(published) == sorted(o for _, o in items)  # each set swapped in once
    assert result.workers == 2
    for key in killed:  # what the lost worker was running ran again on the other one
        assert result.outcomes[int(str(key).rsplit("-", 1)[1])].worker == pair
    for sc, folder in items:
        assert (folder / "summary.json").is_file(), sc.name
        assert batchreport.differences(tmp_path / "serial" / sc.name, folder) == [], sc.name
    assert (out / "batch_summary.csv").read_bytes() == (
        tmp_path / "serial" / "batch_summary.csv"
    ).read_bytes()
    assert batchreport.differences(tmp_path / "serial", out) == []  # the xlsx and map too
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging left


def test_differences_sees_a_changed_figure(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for root, value in ((a, "0.5"), (b, "0.6")):
        write_text(root / "x" / "summary.json", f'{{"share": {value}}}\n')
        write_text(root / "x" / "timings.json", f'{{"s": {value}}}\n')
        write_text(root / "m.html", f"<div id='map_{'ab' * 16}'></div>\n")
    assert batchreport.differences(a, b) == ["x/summary.json"]
    write_text(b / "x" / "summary.json", '{"share": 0.5}\n')
    assert batchreport.differences(a, b) == []
    write_text(b / "extra.csv", "a\n")
    assert batchreport.differences(a, b) == ["extra.csv"]


def test_workers_without_siting_or_with_another_version_stop_the_batch() -> None:
    from siting import __version__

    class Client:
        def __init__(self, answers: dict[str, object]) -> None:
            self.answers = answers

        def run(self, function: object, on_error: str) -> dict[str, object]:
            assert on_error == "return"
            return self.answers

    good = {"tcp://a:1": __version__}
    assert batch._check_workers(Client(good)) == ["tcp://a:1"]
    missing = good | {"tcp://b:1": ModuleNotFoundError("No module named 'siting'")}
    with pytest.raises(batch.BatchError, match=r"tcp://b:1.*No module named 'siting'"):
        batch._check_workers(Client(missing))
    with pytest.raises(batch.BatchError, match=r"another siting version.*tcp://b:1"):
        batch._check_workers(Client(good | {"tcp://b:1": "0.0.1"}))


def test_the_scheduler_option_takes_local_or_an_address(capsys: pytest.CaptureFixture[str]) -> None:
    from siting.cli import build_parser

    parse = build_parser().parse_args
    assert parse(["run", "x.yaml", "--scheduler", "local"]).scheduler == "local"
    assert parse(["run", "x.yaml", "--scheduler", "tcp://10.0.0.5:8786"]).scheduler == (
        "tcp://10.0.0.5:8786"
    )
    assert parse(["run", "x.yaml"]).scheduler is None
    with pytest.raises(SystemExit):
        parse(["run", "x.yaml", "--scheduler", "cluster"])
    assert "tcp://10.0.0.5:8786" in capsys.readouterr().err
