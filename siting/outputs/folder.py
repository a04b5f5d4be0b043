"""One run's output folder, written whole: :func:`write_all` writes every file into a staging
folder and swaps it in, so a folder holds one run's complete set or its previous one, never a
mix; :func:`check_out_dir` refuses a folder holding files siting did not write."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from siting._errors import OutputError
from siting.io.spatial import write_gpkg, write_shapefiles
from siting.io.write import output_folder
from siting.outputs import _background as background
from siting.outputs import mapimage, workbook
from siting.outputs.figures import write_curve_png
from siting.outputs.gis_layers import spatial_layers
from siting.outputs.tables import GENERATOR, TABLES, tables, write
from siting.results import RunData

OUTPUTS = (
    *(f"{stem}.csv" for stem in TABLES),
    "summary.json",
    "timings.json",
    "map.html",
    "report.xlsx",
    "map.png",
    "coverage_curve.png",
    "results.gpkg",
    "shapefile",
)
"""Every name a run writes in its output folder (a previous run's are replaced, never mixed)."""


def check_out_dir(out: Path, *, overwrite: bool = False) -> Path:
    """``out`` if a run may be written there: a new or empty folder, or one a previous
    ``siting run`` / ``siting compare`` wrote; a folder holding others' files only with
    ``overwrite`` (their files are then kept beside the new set, those named like an output
    replaced). Never a file, nor the current folder or one holding it."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {str(out)!r} is a file, not a folder; choose a folder")
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        raise OutputError(
            f"output folder {str(out)!r} is the current folder or holds it: a run replaces its "
            "folder as a whole; choose a folder of its own (e.g. maps/<name>)"
        )
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        summary = out / "summary.json"
        ours = (out / "compare.csv").is_file()  # a comparison siting wrote before
        if summary.is_file():
            try:
                ours = json.loads(summary.read_text(encoding="utf-8")).get("generator") == GENERATOR
            except (ValueError, OSError):
                ours = False
        if not ours:
            raise OutputError(
                f"output folder {str(out)!r} already holds files that siting did not write; "
                "choose another folder, or overwrite (--overwrite; in Python "
                "write(..., overwrite=True)): your files are kept, those named like an output "
                "are replaced"
            )
    return out


_SETS_WRITTEN = 0  # output sets this process has started: from the second, matplotlib stays


def write_all(res: RunData, out_dir: str | Path) -> dict[str, Path]:
    """Every output the scenario asks for: tables, summary, and (by ``output``) the map.

    The set is written into a temporary folder beside ``out_dir`` and swapped in at the end
    (:func:`siting.io.write.output_folder`): an interrupted run leaves the previous complete
    set, never a mix of two runs. A disk that is full or a folder that cannot be written is an
    :class:`~siting.OutputError` naming the folder and the fix (it was an "unexpected failure").
    """
    try:
        return _write_all(res, Path(out_dir))
    except OutputError:
        raise
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise OutputError(
            f"the outputs could not be written into {str(out_dir)!r}: "
            f"{exc.strerror or exc}{where}; the folder keeps its previous complete set. Free "
            "disk space, or choose a folder you can write (--out)"
        ) from exc


def _write_all(res: RunData, out_dir: Path) -> dict[str, Path]:
    from siting.outputs.webmap import page as maps

    global _SETS_WRITTEN
    if _SETS_WRITTEN and res.scenario.output.map_png:
        mapimage.prepare()  # a second set in this process: the forks inherit matplotlib
    _SETS_WRITTEN += 1
    with output_folder(out_dir, outputs=OUTPUTS) as tmp:
        paths = write(res, tmp)
        proposed = tables(res)["proposed_sites"]
        out = res.scenario.output

        projected = mapimage.layers(res) if out.map_png else None  # PROJ here, not in a fork

        def pictures() -> dict[str, Path]:
            done = {"png": mapimage.write_png(res, proposed, tmp / "map.png", projected)}
            if res.equity is not None:
                done["curve_png"] = write_curve_png(res, tmp / "coverage_curve.png")
            return done

        # the PNGs are drawn beside this thread (a forked process where that is safe, else a
        # thread: siting.outputs._background) while this one writes the page, the workbook and the
        # GeoPackage
        with contextlib.ExitStack() as stack:
            drawn = stack.enter_context(background.start(pictures)) if out.map_png else None
            if out.map:
                paths["map"] = maps.write_map(res, proposed, tmp / "map.html")
            if out.report_xlsx:
                paths["report"] = workbook.write_xlsx(res, tmp / "report.xlsx")
            layers = spatial_layers(res)
            if out.gpkg:
                paths["gpkg"] = write_gpkg(tmp / "results.gpkg", layers)
            if out.shapefile:
                paths["shapefile"] = write_shapefiles(tmp / "shapefile", layers)
            if drawn is not None:
                paths |= drawn.result()
    return {key: out_dir / path.relative_to(tmp) for key, path in paths.items()}
