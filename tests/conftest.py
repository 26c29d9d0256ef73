"""Shared fixtures: synthetic patterns with known centres, and the real detector files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synthetic import disk

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
