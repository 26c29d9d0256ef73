"""Shared fixtures: synthetic patterns with known centres, and the real detector files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


def disk(shape, center, radius, *, supersample=8, value=100.0):
    """Anti-aliased uniform disk (exact sub-pixel centroid up to ~1e-3 px)."""
    s = supersample
    rr, cc = np.mgrid[0 : shape[0] * s, 0 : shape[1] * s]
    rr = (rr + 0.5) / s - 0.5
    cc = (cc + 0.5) / s - 0.5
    inside = np.hypot(rr - center[0], cc - center[1]) <= radius
    return value * inside.reshape(shape[0], s, shape[1], s).mean(axis=(1, 3))


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
