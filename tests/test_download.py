"""The osmnx download path, offline: a recorded Overpass answer, error pages and timeouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from shapely.geometry import box

from siting import NetworkError
from siting.network.download import walk_graph_from_download

RECORDED = Path(__file__).parent / "data" / "overpass_walk_grid.json"
AREA = box(114.999, 35.749, 115.005, 35.754)  # around the recorded 4 x 4 grid


def _response(body: bytes, status: int = 200) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r.reason = "OK" if status == 200 else "Error"
    r._content = body
    r.url = "https://overpass.example/api/interpreter"
    return r


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Replace the network: each Overpass POST takes the next answer from the list."""
    answers: list[object] = []
    calls: list[int] = []

    def post(*args: object, **kwargs: object) -> requests.Response:
        calls.append(1)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    monkeypatch.setattr("osmnx._overpass.requests.post", post)
    monkeypatch.setattr("osmnx._http._config_dns", lambda url: None)
    answers.append(calls)  # the first item is the call log, for the tests
    return answers


def test_recorded_answer_builds_the_graph_and_is_cached(
    server: list[object], tmp_path: Path
) -> None:
    calls = server.pop(0)
    server.append(_response(RECORDED.read_bytes()))
    G = walk_graph_from_download(AREA, crs="EPSG:4547", cache_dir=tmp_path, backoff_s=0)
    assert G.number_of_nodes() == 12  # 16 grid nodes; the 4 corners are bends, simplified away
    assert G.graph["crs"] == "EPSG:4547"
    cached = list(tmp_path.glob("walk_*.graphml"))
    assert len(cached) == 1
    assert not list(tmp_path.glob(".*tmp*"))
    again = walk_graph_from_download(AREA, crs="EPSG:4547", cache_dir=tmp_path)
    assert again.number_of_nodes() == 12
    assert len(calls) == 1  # the second call came from the cache, not the network


def test_error_pages_and_timeouts_are_retried_then_reported(
    server: list[object], tmp_path: Path
) -> None:
    calls = server.pop(0)
    server += [
        _response(b"<html>rate limited</html>"),
        requests.exceptions.ConnectTimeout("no route to host"),
        _response(b"<html>502 Bad Gateway</html>", status=502),
    ]
    with pytest.raises(NetworkError) as err:
        walk_graph_from_download(AREA, crs="EPSG:4547", cache_dir=tmp_path, attempts=3, backoff_s=0)
    text = str(err.value)
    assert "attempt 1" in text and "attempt 3" in text  # noqa: PT018
    assert "inputs.network.osm_file" in text  # the offline way is named
    assert len(calls) == 3  # bounded
    assert not list(tmp_path.iterdir())  # nothing cached from failures


def test_a_damaged_cache_file_is_replaced(server: list[object], tmp_path: Path) -> None:
    calls = server.pop(0)
    server += [_response(RECORDED.read_bytes()), _response(RECORDED.read_bytes())]
    walk_graph_from_download(AREA, crs="EPSG:4547", cache_dir=tmp_path, backoff_s=0)
    cached = next(tmp_path.glob("walk_*.graphml"))
    cached.write_text(cached.read_text(encoding="utf-8")[:200], encoding="utf-8")  # cut short
    G = walk_graph_from_download(AREA, crs="EPSG:4547", cache_dir=tmp_path, backoff_s=0)
    assert G.number_of_nodes() == 12  # 16 grid nodes; the 4 corners are bends, simplified away
    assert len(calls) == 2
    json.loads(RECORDED.read_text(encoding="utf-8"))  # the fixture itself stays valid JSON
