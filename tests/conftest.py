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


def naive_features(data: np.ndarray, geometry, basis) -> np.ndarray:
    """``(rows, cols, K)`` features of an in-memory scan, one pattern at a time: the
    reference the streamed features are compared with."""
    from ferromap.core.crop import extract_crops
    from ferromap.core.features import pattern_features

    g = geometry
    return np.stack([[pattern_features(
        extract_crops(data[r, c][None], g.centres[r, c][None], g.span, g.size), basis,
        g.plan.background)[0] for c in range(data.shape[1])] for r in range(data.shape[0])])


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


def polar_cell_scan(angle_deg: float, d: float = 0.15, *, n: int = 32, frame: int = 68,
                    kick: float = 2.0, width: float = 0.12):
    """A toy periodic "bank entry": one period (2×2 cells) of a square lattice scanned on an
    ``n × n`` grid, with strong columns at the cell corners and a weaker column at the cell
    centre displaced by ``d`` cells towards ``angle_deg`` (CCW from +col, up = smaller row).

    Each pattern is a disk at the beam centre (pixel ``frame/2``) deflected towards the
    nearby columns (the CoM points at the columns) and brighter outside the disk near them
    (dark-field contrast). Rotating or mirroring the whole scan about the origin and each
    pattern about its centre gives the scan of the rotated or mirrored polarization exactly.
    """
    t = np.deg2rad(angle_deg)
    centre = 0.5 + d * np.array([-np.sin(t), np.cos(t)])  # (row, col) in cells
    cols = [(np.array([0.0, 0.0]), 1.0), (centre, 0.6)]
    rr, cc = np.mgrid[0:frame, 0:frame] - frame / 2
    ring = ((np.hypot(rr, cc) > 10) & (np.hypot(rr, cc) < 20)).astype(np.float32)
    data = np.empty((n, n, frame, frame), np.float32)
    for i in range(n):
        for j in range(n):
            pos = np.array([i, j]) * 2.0 / n  # cells
            pull, near = np.zeros(2), 0.0
            for site, weight in cols:
                for dr in (-1, 0, 1, 2):
                    for dc in (-1, 0, 1, 2):
                        v = site + (dr, dc) - pos
                        g = weight * np.exp(-(v @ v) / (2 * width**2))
                        pull, near = pull + g * v / width, near + g
            beam = disk((frame, frame), tuple(frame / 2 + kick * pull), 8.0, supersample=2,
                        value=1.0)
            data[i, j] = beam + 0.02 * near * ring
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


@pytest.fixture(scope="session", name="polar_cell_scan")
def polar_cell_scan_fixture():
    """Maker of a toy polarized periodic scan: ``polar_cell_scan(angle_deg, d, n=32)``."""
    return polar_cell_scan


@pytest.fixture(scope="session", name="lattice_scan")
def lattice_scan_fixture():
    """Maker of a lattice-periodic scan with one defect at (13, 17)."""
    return lattice_scan
