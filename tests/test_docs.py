"""The docs run: the tutorial (docs/tutorial.md) and the Examples of the public functions."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import ferromap

ROOT = Path(__file__).resolve().parents[1]
SKIP = ("ferromap._napari",)  # Qt: exercised by tests/_napari


def modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(ferromap.__path__, "ferromap."):
        if not info.name.startswith(SKIP):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", modules())
def test_examples_in_docstrings(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an optional extra (abtem) is missing
        pytest.skip(str(exc))
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} example(s) failed in {name}"


def test_every_main_public_function_has_an_example():
    from ferromap.core import center_of_mass, extract_crops, fit_descan, linear_statistics
    from ferromap.core.geometry import measure_geometry
    from ferromap.core.regions import region_patterns
    from ferromap.pipelines.domains import find_domains

    for fn in (center_of_mass, extract_crops, fit_descan, linear_statistics, measure_geometry,
               region_patterns, find_domains):
        assert ">>>" in (fn.__doc__ or ""), f"{fn.__name__} has no Examples section"


@pytest.mark.slow
def test_the_tutorial_runs():
    result = doctest.testfile(str(ROOT / "docs" / "tutorial.md"), module_relative=False,
                              optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
