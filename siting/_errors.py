"""Exceptions and warnings raised by siting.

Every exception inherits both :class:`SitingError` and the builtin it stands for, so a caller
can catch ``SitingError`` for anything this package raises, or ``ValueError`` /
``FileNotFoundError`` / ``RuntimeError`` as they would for any library.
"""

from __future__ import annotations


class SitingError(Exception):
    """Base class of every error raised by siting."""


class ScenarioError(SitingError, ValueError):
    """A scenario file is malformed: unknown key, wrong type, bad value."""


class InputDataError(SitingError, ValueError):
    """An input layer or table is wrong: missing column, bad ids, failed join, bad values."""


class InputFileNotFoundError(SitingError, FileNotFoundError):
    """An input file named by a scenario or a caller does not exist."""


class NetworkError(SitingError, ValueError):
    """The walking network cannot be built or used (empty, unprojected, disconnected)."""


class ModelError(SitingError, ValueError):
    """A location model is ill-posed before solving (p too large, no candidates, ...)."""


class SolverError(SitingError, RuntimeError):
    """The solver failed or stopped without a usable answer."""


class TooLargeError(SitingError, MemoryError):
    """A computation would not fit in this machine's memory; said before it is attempted."""


class OutputError(SitingError, OSError):
    """An output cannot be written where it was asked to be."""


class SitingWarning(UserWarning):
    """Base class of every warning issued by siting."""
