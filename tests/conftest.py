"""Shared fixtures: synthetic patterns with known answers, and the real detector files.

Pattern makers are fixtures that return the function (``disk``, ``toy_crops``,
``lattice_scan``), so no test module imports another.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def disk(shape, center, radius, *, supersample=8, value=100.0):
    """Anti-aliased uniform disk (exact sub-pixel centroid up to ~1e-3 px)."""
    s = supersample
    rr, cc = np.mgrid[0 : shape[0] * s, 0 : shape[1] * s]
    rr = (rr + 0.5) / s - 0.5
    cc = (cc + 0.5) / s - 0.5
    inside = np.hypot(rr - center[0], cc - center[1]) <= radius
    return value * inside.reshape(shape[0], s, shape[1], s).mean(axis=(1, 3))


def toy_crops(n_per_class: int = 40, size: int = 16, seed: int = 0,
              centre: float | None = None):
    """Disks whose bright side points in the class direction (8 KNN classes), with noise;
    centred on ``centre`` (default: the array's middle ``(size - 1) / 2``)."""
    rng = np.random.default_rng(seed)
    rr, cc = np.mgrid[0:size, 0:size] - ((size - 1) / 2 if centre is None else centre)
    crops, labels = [], []
    for c in range(8):
        t = np.deg2rad(45 * c)
        u = np.array([-np.sin(t), np.cos(t)])  # (row, col) unit vector
        for _ in range(n_per_class):
            disk = (np.hypot(rr, cc) < size / 3).astype(float)
            img = disk * (1 + 0.5 * (rr * u[0] + cc * u[1]) / size) + rng.normal(0, 0.03, rr.shape)
            crops.append((img - img.min()) / (img.max() - img.min()))
            labels.append(c)
    return np.array(crops, np.float32), np.array(labels, np.int64)


def lattice_scan(rows=24, cols=30, period=(4, 6), seed=0):
    """Patterns that repeat with the lattice (a disk whose centre follows the cell phase),
    with Poisson noise at 2e5 counts, and one defect at (13, 17)."""
    rng = np.random.default_rng(seed)
    data = np.empty((rows, cols, 32, 32), np.float32)
    for r in range(rows):
        for c in range(cols):
            pr, pc = (r % period[0]) / period[0], (c % period[1]) / period[1]
            centre = (16 + 2 * np.sin(2 * np.pi * pr), 16 + 2 * np.cos(2 * np.pi * pc))
            clean = disk((32, 32), centre, 6.0, supersample=2)
            clean[13:17, 13:17] *= 1.2 if (r, c) == (13, 17) else 1.0  # the defect
            data[r, c] = rng.poisson(clean / clean.sum() * 2e5)
    return data


REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real detector files not found at {REALDATA} (shared/realdata is absent)")
    return REALDATA


@pytest.fixture
def shifted_disks():
    """A 5x6 scan of 32x32 patterns whose disk centre moves by known sub-pixel amounts."""
    rng = np.random.default_rng(0)
    centers = 16 + rng.uniform(-3, 3, size=(5, 6, 2))
    data = np.stack([np.stack([disk((32, 32), c, 6.0) for c in row]) for row in centers])
    return data.astype(np.float32), centers


@pytest.fixture(scope="session", name="disk")
def disk_fixture():
    """The anti-aliased disk maker: ``disk(shape, center, radius, value=100.0)``."""
    return disk


@pytest.fixture(scope="session", name="toy_crops")
def toy_crops_fixture():
    """Maker of 8-class toy crops: ``toy_crops(n_per_class, size, seed, centre)``."""
    return toy_crops


@pytest.fixture(scope="session", name="lattice_scan")
def lattice_scan_fixture():
    """Maker of a lattice-periodic scan with one defect at (13, 17)."""
    return lattice_scan
