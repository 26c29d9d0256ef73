"""napari sample data: the bundled simulated KNN datasets."""

from __future__ import annotations


def _sample(name: str) -> list[tuple]:
    from ferromap._napari._reader import read_dataset_layers
    from ferromap.data import sample_path
    from ferromap.io import open_4dstem

    path = sample_path(name)
    return read_dataset_layers(open_4dstem(path), f"KNN {name}")


def two_domain() -> list[tuple]:
    """KNN, 32×48 positions, MU | RM domains, 20 nm, 1e5 e-/pattern."""
    return _sample("two-domain")


def single_ru() -> list[tuple]:
    """KNN, 16×16 positions, one RU domain, 20 nm, 1e5 e-/pattern."""
    return _sample("single-ru")
