"""The calibration guard: estimate an unknown mrad/px from the disk, refuse what cannot fit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ferromap.core.geometry import plan_detector
from ferromap.errors import FerromapError, user_message
from ferromap.io.dataset import Calibration, Dataset4D
from ferromap.pipelines.calibration import model_window, resolve_calibration


@pytest.fixture
def blind(disk):
    frames = np.stack([disk((96, 96), (47.0, 49.0), 12.0)] * 4)
    return Dataset4D(frames.reshape(2, 2, 96, 96), Calibration(), "blind"), frames


def test_estimate_uses_the_semiangle_from_user_file_or_default(blind):
    ds, frames = blind
    plan = plan_detector(frames)
    est_ds, est = resolve_calibration(ds, plan)
    assert est.semiangle_source == "default" and est.semiangle_mrad == 24.0
    assert est.mrad_per_px == pytest.approx(24 / 12, rel=0.03)
    assert est_ds.calibration.mrad_per_px_source == "estimated"
    assert "24 mrad" in est.message() and "default" in est.message()
    from_file = replace(ds, calibration=Calibration(semiangle_mrad=30.0))
    assert resolve_calibration(from_file, plan)[1].semiangle_source == "file"
    assert resolve_calibration(ds, plan, 18.0)[1].mrad_per_px == pytest.approx(1.5, rel=0.03)
    known = ds.with_calibration(mrad_per_px=2.0)
    assert resolve_calibration(known, plan)[1] is None


def test_a_window_the_detector_cannot_hold_is_refused(blind):
    ds, _ = blind
    assert model_window(ds.with_calibration(mrad_per_px=3.17), 64, 3.17) == pytest.approx(64)
    with pytest.raises(FerromapError) as err:
        model_window(ds.with_calibration(mrad_per_px=1.0), 64, 3.17, "conv-proto")
    msg = user_message(err.value, "gui")
    assert "±101 mrad" in msg and "±48 mrad" in msg and "check the mrad / px" in msg
    with pytest.raises(FerromapError, match="only 16.0 detector pixels"):
        model_window(ds.with_calibration(mrad_per_px=12.68), 64, 3.17)
