"""Atomic writers: every output appears whole or not at all.

Each writer writes to a temporary file in the destination folder and renames it over the
target with :func:`os.replace`, which is atomic on POSIX and Windows. An interrupted run leaves
the previous file (or nothing), never a half-written one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from siting._text import csv_frame


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    The temporary file keeps the target's suffix so format-sniffing writers (GDAL, openpyxl)
    see the right extension.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give outputs the usual mode
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; newlines are written as ``\\n`` on every OS."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding=encoding, newline="\n") as fh:
        fh.write(text)
    return Path(path)


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented UTF-8 JSON (Chinese text kept readable) atomically."""
    return write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def write_csv(path: str | os.PathLike[str], table: pd.DataFrame) -> Path:
    """Write a table as CSV in UTF-8 with BOM (``utf-8-sig``) so Excel shows Chinese text.

    A text cell (or column name) beginning with ``= + - @``, tab or CR is written with a
    leading ``'`` so a spreadsheet shows it as text instead of running it as a formula
    (:func:`siting._text.csv_cell`; read such a file back with
    :func:`siting._text.read_csv_frame`). Numbers are written as they are. Lines end in CRLF
    (RFC 4180), so the writer quotes a cell holding a lone CR or LF: with LF endings a name
    with a carriage return in it was written bare and split its row in two.
    """
    with atomic_path(path) as tmp:
        csv_frame(table).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return Path(path)


def write_with(path: str | os.PathLike[str], writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


# -- the same bytes on every run -----------------------------------------------------------------
# Documents carry no clock time: a file's created/modified stamps and its zip entries' times are
# this fixed moment (the zip format's earliest), so the same inputs give the same files. When a
# run happened is a fact of the run, not of its figures: the file system keeps it.
DOCUMENT_TIME = "1980-01-01T00:00:00Z"
_CORE_DATE = re.compile(r"(<dcterms:(?:created|modified)\b[^>]*>)[^<]*(</dcterms:)")


def write_workbook(
    path: str | os.PathLike[str],
    writer: Callable[[Path], object],
    *,
    moment: tuple[int, int, int] = (1980, 1, 1),
) -> Path:
    """Call ``writer(tmp_path)`` to write an ``.xlsx`` (openpyxl, ``pd.ExcelWriter``), then set
    its document times and zip entry times (openpyxl stamps both with the clock) to midnight
    UTC of ``moment`` (year, month, day) and move it onto ``path`` atomically: the same workbook
    gives the same bytes."""
    with atomic_path(path) as tmp:
        writer(tmp)
        _fixed_times(tmp, moment)
    return Path(path)


def _fixed_times(path: Path, moment: tuple[int, int, int]) -> None:
    year, month, day = moment
    stamp = f"{year:04d}-{month:02d}-{day:02d}T00:00:00Z"
    with zipfile.ZipFile(path) as source:
        entries = [(e.filename, source.read(e.filename)) for e in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = _CORE_DATE.sub(rf"\g<1>{stamp}\g<2>", data.decode()).encode()
            info = zipfile.ZipInfo(name, date_time=(year, month, day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o600 << 16
            out.writestr(info, data)


_ELEMENT_ID = re.compile(r"[0-9a-f]{32}")


def write_page(path: str | os.PathLike[str], element: Any) -> Path:
    """Save a folium/branca element's page (``element.get_root()``) atomically, with the random
    element ids (``map_3f2a…``: 32 hex digits from :func:`os.urandom`) replaced by their order in
    the element tree, so the same map gives the same bytes."""
    root = element.get_root()
    html = root.render()
    order: dict[str, str] = {}
    stack = [root]
    while stack:  # depth first, children in insertion order: the order the page was built in
        node = stack.pop()
        ident = getattr(node, "_id", None)
        if isinstance(ident, str) and ident not in order:
            order[ident] = f"{len(order):06d}"
        stack.extend(reversed(list(getattr(node, "_children", {}).values())))
    html = _ELEMENT_ID.sub(lambda m: order.get(m.group(0), m.group(0)), html)
    return write_text(path, html)


class InterruptedAfterSwap(KeyboardInterrupt):
    """Ctrl-C came while the new set was being swapped in: the swap was finished first, so the
    folder holds the complete new set."""


@contextlib.contextmanager
def output_folder(target: str | os.PathLike[str], *, outputs: Collection[str]) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target``; when the block succeeds, swap it in.

    The folder is one run's complete set: either the previous set or the new one is there,
    never a mix. On success the old folder is renamed aside, the new one renamed into place,
    the files in the old one whose names are not in ``outputs`` (the names a run writes:
    someone else's) moved into the new one, never deleted, and the old one removed. Ctrl-C
    during that swap is held until the swap is done (:class:`InterruptedAfterSwap`). On any
    exception in the block, Ctrl-C included, the temporary folder is removed and ``target``
    is untouched. A ``target`` that is a symbolic link is followed: the folder it points to
    is the one replaced, and the link keeps pointing to it.
    """
    target = Path(target)
    if target.is_symlink():
        target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".new", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the folder the usual mode
    with _held_interrupts() as held:
        _swap(tmp, target, outputs)
    if held:
        raise InterruptedAfterSwap


def _swap(tmp: Path, target: Path, outputs: Collection[str]) -> None:
    if not target.exists():
        os.replace(tmp, target)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.rmdir(aside)  # only the unique name is needed: rename needs it free
    os.replace(target, aside)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(aside, target)  # put the previous set back
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for entry in aside.iterdir():  # files of the user's own, kept beside the new set
        if entry.name not in outputs and not (target / entry.name).exists():
            os.replace(entry, target / entry.name)
    shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def _held_interrupts() -> Iterator[list[int]]:
    """Hold Ctrl-C (SIGINT) until the block ends; the list says whether one came. Outside the
    main thread, where no signal handler can be set, the block runs as it is."""
    import signal
    import threading

    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = signal.signal(signal.SIGINT, lambda number, frame: held.append(number))
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, previous)
