from __future__ import annotations

import numpy as np
import pytest

from ferromap.classes import ClassSet
from ferromap.io import Calibration, Dataset4D

THREE = ClassSet.parse("none, vertical, horizontal")


def three_domain_scan(disk, rows: int = 18, cols: int = 24, frame: int = 72, seed: int = 0):
    """Stripes of three classes: a plain disk, a disk brighter at the top, one brighter right.

    Poisson noise at ~2e4 counts per pattern, so one pattern is not trivially separable.
    """
    rng = np.random.default_rng(seed)
    rr, cc = np.mgrid[0:frame, 0:frame] - (frame - 1) / 2
    base = disk((frame, frame), ((frame - 1) / 2, (frame - 1) / 2), 10.0, value=1.0)
    ramps = [np.ones_like(base), 1 - 0.04 * rr, 1 + 0.04 * cc]
    truth = np.repeat(np.arange(3), -(-cols // 3))[:cols][None].repeat(rows, 0)
    data = np.empty((rows, cols, frame, frame), np.float32)
    for (r, c), k in np.ndenumerate(truth):
        clean = base * ramps[k]
        data[r, c] = rng.poisson(clean / clean.sum() * 2e4)
    return Dataset4D(data, Calibration(mrad_per_px=1.0, scan_step_nm=0.1), "stripes"), truth


@pytest.fixture(scope="module")
def stripes(disk):
    return three_domain_scan(disk)
