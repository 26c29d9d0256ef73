"""Bundled sample data (simulated KNN, see scripts/make_sample_data.py)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np

from ferromap.errors import FerromapError
from ferromap.io.dataset import Dataset4D

SAMPLES = {
    "two-domain": ("knn_two_domain.zarr",
                   "KNN, 32×48 positions, MU | RM domains (90° wall), 20 nm, 1e5 e-/pattern"),
    "single-ru": ("knn_single_ru.zarr", "KNN, 16×16 positions, one RU domain, 20 nm, 1e5 e-/pattern"),
}


def sample_path(name: str) -> Path:
    """Path of a bundled sample (``"two-domain"`` or ``"single-ru"``)."""
    if name not in SAMPLES:
        raise FerromapError(f"unknown sample {name!r}; choose from {', '.join(SAMPLES)}")
    path = Path(str(files("ferromap") / "data" / "samples" / SAMPLES[name][0]))
    if not path.exists():
        raise FerromapError(f"sample data missing at {path}; run scripts/make_sample_data.py")
    return path


def load_sample(name: str) -> tuple[Dataset4D, np.ndarray]:
    """Open a bundled sample lazily, with its truth label map.

    Parameters
    ----------
    name : {"two-domain", "single-ru"}
        Which sample.

    Returns
    -------
    dataset : Dataset4D
    truth : numpy.ndarray
        ``(rows, cols)`` uint8 KNN class index per position.
    """
    from ferromap.io import open_4dstem
    from ferromap.io.sidecar import read_label_map

    path = sample_path(name)
    return open_4dstem(path), read_label_map(path)
