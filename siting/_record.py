"""Warnings that are part of a run's record.

A warning a bureau must see (a repaired polygon, a facility type read as a variant, a site
snapped onto a detached piece of street) is raised with :func:`warn`: a Python warning of class
:class:`RecordedWarning` carrying a stable ``code`` and the ``ids`` it concerns. A library user
sees it as any warning; a run collects every one of them with :func:`recording` into
``summary.json`` (``warnings: [{code, message, message_zh, ids}]``), the report and the map's
notes, and the command line prints each once. Nothing is both logged and warned.

Every warning has two texts from the same figures, ids, file names and fix: ``message`` in
English (the Python warning's text; ``summary.json``'s ``message``, for scripts) and ``zh`` in
Chinese (``message_zh``), which the documents people read show (:attr:`Note.text`): the command
line's summary, report.xlsx's 注意事项 sheet and the map legend's notes.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from siting._errors import SitingWarning


@dataclass(frozen=True)
class Note:
    """One warning of a run: a stable ``code`` for scripts, the message (English), the ids
    concerned, and the same message in Chinese (``message_zh``, empty if none was given)."""

    code: str
    message: str
    ids: tuple[str, ...] = ()
    message_zh: str = ""

    @property
    def text(self) -> str:
        """What a document people read shows: the Chinese message, else the English one."""
        return self.message_zh or self.message

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "ids": list(self.ids),
        }


class RecordedWarning(SitingWarning):
    """A :class:`SitingWarning` with a ``code``, the ``ids`` it is about and the message in
    Chinese (``zh``); its text as a Python warning is the English ``message``."""

    def __init__(
        self, code: str, message: str, ids: Iterable[object] = (), *, zh: str = ""
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ids = tuple(str(i) for i in ids)
        self.zh = zh

    def note(self) -> Note:
        return Note(self.code, self.message, self.ids, self.zh)


def warn(
    code: str,
    message: str,
    ids: Iterable[object] = (),
    *,
    zh: str = "",
    stacklevel: int = 2,
) -> None:
    """Issue a warning that a run records (``code``: short, stable, snake_case).

    ``message`` is English (scripts, ``summary.json``'s ``message``); ``zh`` is the same
    message in Chinese, from the same figures, ids, file names and fix, for the documents
    people read. Every call in the package gives ``zh`` (tests/test_warnings_zh.py)."""
    warnings.warn(RecordedWarning(code, message, ids, zh=zh), stacklevel=stacklevel + 1)


ROLE_ZH = {
    "facilities": "现有设施",
    "candidates": "候选点",
    "sites": "站点",
    "proposed sites": "规划站点",
}
"""The English role words of messages (``facilities``, ``candidates``...) in Chinese."""


def role_zh(role: str) -> str:
    """``role`` in Chinese for a ``zh`` message (as given when it is not a known role)."""
    return ROLE_ZH.get(role, role)


def preview_zh(values: Iterable[object], limit: int = 10) -> str:
    """:func:`siting._messages.preview` for a ``zh`` message: ``['a', 'b', ……（共 30 个）]``."""
    items = list(values)
    shown = ", ".join(repr(v) for v in items[:limit])
    more = f", ……（共 {len(items)} 个）" if len(items) > limit else ""
    return f"[{shown}{more}]"


def note_of(w: warnings.WarningMessage) -> Note:
    """The :class:`Note` of any caught siting warning (an unrecorded one gets code ``other``)."""
    if isinstance(w.message, RecordedWarning):
        return w.message.note()
    return Note("other", str(w.message))


class Recorder:
    """The warnings collected inside :func:`recording`, in order, each once."""

    def __init__(self) -> None:
        self.notes: list[Note] = []

    def add(self, note: Note) -> None:
        if note not in self.notes:
            self.notes.append(note)


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """Collect every :class:`SitingWarning` raised inside the block (each once) instead of
    printing it; other warnings pass through as they would have."""
    rec = Recorder()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SitingWarning)
        try:
            yield rec
        finally:
            others = []
            for w in caught:
                if isinstance(w.message, SitingWarning):
                    rec.add(note_of(w))
                else:
                    others.append(w)
    for w in others:  # outside the block: shown, or raised, by the caller's filters
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
