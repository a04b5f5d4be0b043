"""Digests of a run's output folder, for "the same inputs give the same files".

``python -m tests.golden`` runs the recorded scenarios and rewrites ``tests/data/golden.json``
(do so only when a change is meant to change the outputs, and say why in the commit). Paths of
this checkout (and of the shared data) are written as ``<ROOT>`` / ``<DATA>`` / ``<OUT>`` before
hashing, so a clone in another folder gives the same digests; a workbook is a zip whose
members are compressed, so it is hashed member by member, each member's text made neutral the
same way (its messages name the input files). ``timings.json`` is left out: it is the one file
that says how long a run took.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "tests" / "data" / "golden.json"
SHARED = ROOT.parent / "shared" / "data"
TEXT = {".csv", ".json", ".html", ".yaml", ".txt"}
# files whose bytes come from a library's writer, not from our tables alone: compared only when
# the versions recorded with them are the installed ones
DOCUMENTS = {".html", ".png", ".xlsx", ".gpkg"}
SCENARIOS = {
    "demo": "scenarios/demo.yaml",
    "bureau": "scenarios/examples/bureau.yaml",
    "bureau_points": "scenarios/examples/bureau_points.yaml",
    "everyone": "scenarios/models/everyone.yaml",
    "mean_walk": "scenarios/models/mean_walk.yaml",
}


def versions() -> dict[str, str]:
    """The versions of the libraries that write the documents' bytes."""
    from importlib.metadata import version

    import pyogrio

    out = {p: version(p) for p in ("folium", "branca", "matplotlib", "openpyxl", "numpy")}
    out["gdal"] = pyogrio.__gdal_version_string__
    return out


def digests(folder: Path, *, out: Path | None = None) -> dict[str, str]:
    """sha256 of every file in ``folder`` but ``timings.json``, paths made neutral."""
    places = [
        (str(out or folder), "<OUT>"),
        (str(SHARED.resolve()), "<DATA>"),
        (str(SHARED), "<DATA>"),
        (str(ROOT), "<ROOT>"),
    ]

    def neutral(data: bytes) -> bytes:
        for place, mark in places:
            data = data.replace(place.encode(), mark.encode())
        return data

    found = {}
    for path in sorted(folder.iterdir()):
        if path.name == "timings.json" or not path.is_file():
            continue
        digest = hashlib.sha256()
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                for member in book.infolist():
                    digest.update(f"{member.filename}|{member.date_time}|".encode())
                    digest.update(neutral(book.read(member)))
        elif path.suffix in TEXT:
            digest.update(neutral(path.read_bytes()))
        else:
            digest.update(path.read_bytes())
        found[path.name] = digest.hexdigest()
    return found


def run_scenario(name: str, out: Path) -> Path:
    """Write scenario ``name``'s outputs into ``out`` (the Jinan example through its script)."""
    if name == "jinan":
        sys.path.insert(0, str(ROOT / "examples"))
        try:
            import jinan
        finally:
            sys.path.remove(str(ROOT / "examples"))
        assert jinan.main([str(SHARED / "jinan"), "--out", str(out), "--overwrite"]) == 0
        return out
    from siting.cli import main

    assert main(["run", str(ROOT / SCENARIOS[name]), "--out", str(out), "--overwrite"]) == 0
    return out


def record() -> None:
    import tempfile

    names = [*SCENARIOS, *(["jinan"] if (SHARED / "jinan").exists() else [])]
    with tempfile.TemporaryDirectory() as tmp:
        runs = {n: digests(run_scenario(n, Path(tmp) / n)) for n in names}
    RECORD.write_text(
        json.dumps({"versions": versions(), "runs": runs}, indent=2, sort_keys=True) + "\n"
    )
    print(f"recorded {len(runs)} runs in {RECORD}")


if __name__ == "__main__":
    record()
