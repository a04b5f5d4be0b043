"""Scripts written against the flat package keep working: every public name each module had
before the stage packages (recorded from commit 67b7cf6 in ``tests/data/api_before_the_move.json``)
is still found at its old path, and an old path that moved says where to, once, as a
DeprecationWarning."""

from __future__ import annotations

import importlib
import json
import sys
import warnings
from pathlib import Path

import pytest

from siting._moved import IN_PACKAGES, MOVED

ROOT = Path(__file__).resolve().parents[1]
BEFORE = json.loads((ROOT / "tests" / "data" / "api_before_the_move.json").read_text())


@pytest.mark.parametrize("old", sorted(BEFORE))
def test_every_old_name_is_found_at_its_old_path(old: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = importlib.import_module(old)
        missing = [name for name in BEFORE[old] if not hasattr(module, name)]
    assert not missing, f"{old} lost {missing}"


@pytest.mark.parametrize("old", sorted(MOVED))
def test_a_moved_module_says_where_it_went(old: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} has moved to {MOVED[old][0]}"):
        module = importlib.import_module(old)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        module.not_a_name  # noqa: B018


def test_a_package_hands_out_the_old_modules_names_with_a_warning() -> None:
    import siting.inputs

    with pytest.warns(DeprecationWarning, match="siting.inputs.load_inputs has moved"):
        from siting.inputs import load_inputs
    from siting.inputs.load import load_inputs as now

    assert load_inputs is now
    with pytest.raises(AttributeError):
        siting.inputs.not_a_name  # noqa: B018


def test_the_record_covers_every_moved_path() -> None:
    assert set(MOVED) <= set(BEFORE)
    assert set(IN_PACKAGES) <= set(BEFORE)


def test_the_readme_lists_every_moved_path() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [old for old in [*MOVED, *IN_PACKAGES] if f"`{old}`" not in readme]
    assert not missing, f"README's 'Moved modules' lacks {missing}"
