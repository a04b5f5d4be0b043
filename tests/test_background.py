"""The pictures drawn beside the main thread (siting.outputs._background): a forked child where
that is safe, a thread elsewhere; the same files either way, and a failure in the child is
the run's failure, never a silently missing or half-written output."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from siting._errors import OutputError
from siting.outputs import _background as background
from siting.outputs import folder

linux = pytest.mark.skipif(sys.platform != "linux", reason="the fork path is Linux's")


@linux
def test_forks_only_from_a_lone_main_thread() -> None:
    assert background.can_fork() is (threading.active_count() == 1)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not background.can_fork()  # another thread's locks would be copied held
        with background.start(lambda: os.getpid()) as job:
            assert not job.forked
            assert job.result() == os.getpid()  # ran here, in a thread
    finally:
        stop.set()
        other.join()


@linux
def test_the_child_returns_its_value_and_raises_its_error() -> None:
    if not background.can_fork():
        pytest.skip("another thread is running in this test process")
    with background.start(lambda: os.getpid()) as job:
        assert job.forked
        assert job.result() != os.getpid()

    def fails() -> None:
        raise ValueError("bad column 'x' in /data/a.gpkg")

    with background.start(fails) as job, pytest.raises(ValueError, match="bad column") as err:
        job.result()
    assert isinstance(err.value.__cause__, background.ChildTracebackError)
    assert "in fails" in str(err.value.__cause__)  # the child's own traceback is kept


@linux
def test_a_child_that_dies_is_an_error_naming_its_exit_code() -> None:
    if not background.can_fork():
        pytest.skip("another thread is running in this test process")

    def killed() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    with background.start(killed) as job, pytest.raises(OutputError, match="exit code -9"):
        job.result()


@linux
def test_leaving_early_stops_the_child() -> None:
    if not background.can_fork():
        pytest.skip("another thread is running in this test process")
    with pytest.raises(RuntimeError), background.start(lambda: time.sleep(60)) as job:
        raise RuntimeError("the main thread's own work failed")
    assert not job._process.is_alive()


def test_forked_and_threaded_pictures_are_the_same_bytes(
    demo_result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder.write_all(demo_result, tmp_path / "first")
    monkeypatch.setattr(background, "can_fork", lambda: False)
    folder.write_all(demo_result, tmp_path / "thread")
    for name in ("map.png", "coverage_curve.png"):
        assert (tmp_path / "first" / name).read_bytes() == (
            tmp_path / "thread" / name
        ).read_bytes(), name


def test_a_failed_picture_leaves_the_previous_set(
    demo_result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    folder.write_all(demo_result, out)
    before = sorted(p.name for p in out.iterdir())
    summary = (out / "summary.json").read_bytes()

    def broken(*args: object, **kwargs: object) -> Path:
        raise OutputError("map.png: the font could not be read")

    from siting.outputs import mapimage

    monkeypatch.setattr(mapimage, "write_png", broken)
    with pytest.raises(OutputError, match="font could not be read"):
        folder.write_all(demo_result, out)
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "summary.json").read_bytes() == summary
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no leftovers


def test_pictures_ignore_the_callers_matplotlib_settings_and_keep_them(
    demo_result, tmp_path: Path
) -> None:
    """A script's rcParams (font, sizes, dpi) changed neither picture, and writers in several
    threads at once (the settings are global) got the same bytes and left the settings as
    the script had them."""
    from concurrent.futures import ThreadPoolExecutor

    import matplotlib

    folder.write_all(demo_result, tmp_path / "plain")
    mine = {
        "font.family": "serif",
        "font.size": 17.0,
        "lines.linewidth": 4.0,
        "figure.dpi": 55.0,
        "savefig.dpi": 61.0,
        "axes.unicode_minus": True,
    }
    with matplotlib.rc_context(mine):
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda k: folder.write_all(demo_result, tmp_path / f"t{k}"), range(3)))
        assert {k: matplotlib.rcParams[k] for k in mine} == {
            k: (["serif"] if k == "font.family" else v) for k, v in mine.items()
        }
    for k in range(3):
        for name in ("map.png", "coverage_curve.png"):
            assert (tmp_path / f"t{k}" / name).read_bytes() == (
                tmp_path / "plain" / name
            ).read_bytes(), (k, name)


@linux
def test_the_callers_own_frozen_objects_stay_frozen() -> None:
    import gc

    if not background.can_fork():
        pytest.skip("another thread is running in this test process")
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with background.start(lambda: 1) as job:
            assert job.forked
            assert job.result() == 1
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


@linux
def test_a_fork_while_a_picture_is_drawn_gets_a_free_drawing_lock() -> None:
    """A script forking while one of its threads draws: the child's lock is free (it was
    inherited held, and the child's own write hung on it forever)."""
    import multiprocessing

    from siting.outputs import mapimage

    ctx = multiprocessing.get_context("fork")
    with mapimage._DRAWING:  # as a drawing thread holds it
        child = ctx.Process(target=_acquire_and_exit)
        child.start()
        child.join(timeout=60)
    assert child.exitcode == 0


def _acquire_and_exit() -> None:
    import os

    from siting.outputs import mapimage

    os._exit(0 if mapimage._DRAWING.acquire(timeout=5) else 1)


@linux
def test_pythons_fork_warning_about_library_threads_is_not_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python >= 3.12 warns at a fork when any OS thread besides this one exists (numpy's
    OpenBLAS pool always does); under this suite's "error" filter that warning would fail the
    run after the child was made. Simulated here on 3.11 by a fork that warns as 3.12's does."""
    if not background.can_fork():
        pytest.skip("another thread is running in this test process")
    real = os.fork

    def warning_fork() -> int:
        pid = real()
        if pid:
            import warnings

            warnings.warn(
                f"This process (pid={os.getpid()}) is multi-threaded, use of fork() may lead "
                "to deadlocks in the child.",
                DeprecationWarning,
                stacklevel=2,
            )
        return pid

    monkeypatch.setattr(os, "fork", warning_fork)
    with background.start(lambda: 42) as job:
        assert job.forked
        assert job.result() == 42
