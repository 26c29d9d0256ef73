from __future__ import annotations

import numpy as np
import pytest

from ferromap.core.background import estimate_background
from ferromap.core.com import center_of_mass


def test_pedestal_is_found_and_removing_it_recentres_the_com(disk):
    frames = np.stack([disk((64, 64), (20.0, 41.0), 7.0, value=50.0)] * 4)
    dark = frames + 0.8
    level = estimate_background(dark.mean(0), (20.0, 41.0), 7.0)
    assert level == pytest.approx(0.8, abs=1e-6)
    pulled = center_of_mass(dark[None])[0, 0]
    assert np.hypot(*(pulled - (20, 41))) > 2  # a pedestal drags the CoM to the frame centre
    fixed = center_of_mass(dark[None], background=level)[0, 0]
    np.testing.assert_allclose(fixed, (20.0, 41.0), atol=0.01)


def test_no_estimate_when_the_disk_fills_the_frame(disk):
    p = disk((16, 16), (7.5, 7.5), 7.0) + 1.0
    assert estimate_background(p, (7.5, 7.5), 7.0) == 0.0
    with pytest.raises(ValueError, match="2-D"):
        estimate_background(np.zeros((2, 2, 2)), (0, 0), 1)
