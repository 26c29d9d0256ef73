"""Synthetic patterns with known answers, shared by the tests (imported as `synthetic`)."""

from __future__ import annotations

import numpy as np


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
