"""One output job run beside the calling thread: in a forked process where that is safe, else
in a thread.

Drawing ``map.png`` and ``coverage_curve.png`` is mostly Python (matplotlib's artists,
geopandas' plotting), so a thread drawing them holds the GIL against the thread writing the
page and the workbook: on the demo the two together took about as long as one after the
other. A forked child draws on the other core with nothing shared; it inherits the run's
results (copy-on-write, nothing pickled) and sends back only the paths it wrote.

A fork is used only where it is safe: on Linux (macOS forks are unsafe with its system
frameworks; Windows has none), from a process whose only thread is the calling one (a fork
copies no other thread, so a lock one of them held would stay held in the child: Jupyter,
Dask workers and any caller's own pools fall back to a thread), and not from a daemonic
process (which may have no children). Both ways give the same files.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from siting._errors import OutputError

T = TypeVar("T")


def can_fork() -> bool:
    """Whether :func:`start` runs its job in a forked process here."""
    return (
        sys.platform == "linux"
        and threading.active_count() == 1
        and threading.current_thread() is threading.main_thread()
        and not multiprocessing.current_process().daemon
    )


class Background(Generic[T]):
    """A job started by :func:`start`; :meth:`result` waits for it and returns its value or
    raises its exception. Use it as a context manager: leaving the block early (an error in
    the caller's own work, Ctrl-C) stops the job instead of leaving it running."""

    def __init__(self, job: Callable[[], T], *, fork: bool) -> None:
        self.forked = fork
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[T] | None = None
        if not fork:
            self._pool = ThreadPoolExecutor(max_workers=1)
            self._future = self._pool.submit(job)
            return
        ctx = multiprocessing.get_context("fork")
        self._receive, send = ctx.Pipe(duplex=False)
        # the child's garbage collector then leaves the inherited objects alone, so their
        # pages stay shared with this process instead of being copied on the first collection
        # (not when the caller froze objects itself: unfreezing would undo that too)
        ours = gc.get_freeze_count() == 0
        if ours:
            gc.freeze()
        try:
            self._process = ctx.Process(target=_child, args=(job, send), daemon=True)
            with warnings.catch_warnings():
                # Python >= 3.12 warns when the process has other OS threads at a fork. Here
                # they are library pools only (no Python thread runs: can_fork), such as
                # OpenBLAS's, which shuts its pool down around a fork (pthread_atfork) and
                # starts it again when needed; nothing of theirs is held in the child. Under
                # "error" filters the warning would be raised after the child was made.
                warnings.filterwarnings(
                    "ignore", r"This process .* is multi-threaded", DeprecationWarning
                )
                self._process.start()
        finally:
            if ours:
                gc.unfreeze()
        send.close()

    def result(self) -> T:
        if self._future is not None:
            return self._future.result()
        try:
            status, value = self._receive.recv()
        except EOFError:
            self._process.join()
            raise OutputError(
                "the process drawing the pictures (map.png) stopped before it finished "
                f"(exit code {self._process.exitcode}); nothing was written to the output "
                "folder. Run again; if it recurs, set output.map_png: false and report it"
            ) from None
        finally:
            self._receive.close()
            self._process.join()
        if status == "error":
            exc, text = value
            raise exc from ChildTracebackError(text)
        return value

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            return
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        if not self._receive.closed:
            self._receive.close()


def start(job: Callable[[], T]) -> Background[T]:
    """Start ``job()`` beside this thread: forked where :func:`can_fork`, else a thread."""
    return Background(job, fork=can_fork())


class ChildTracebackError(Exception):
    """The traceback of an exception raised in the forked child, shown as its cause."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return "\n" + self.text


def _child(job: Callable[[], Any], send: Any) -> None:
    try:
        value = job()
    except BaseException as exc:
        text = "".join(traceback.format_exception(exc))
        try:
            pickle.loads(pickle.dumps(exc))  # an exception the parent can rebuild
            sendable: BaseException = exc
        except Exception:
            sendable = OutputError(f"drawing the pictures failed: {type(exc).__name__}: {exc}")
        send.send(("error", (sendable, text)))
    else:
        send.send(("ok", value))
    finally:
        send.close()
