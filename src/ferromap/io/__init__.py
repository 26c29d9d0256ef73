"""Lazy readers and atomic writers for 4D-STEM data and maps."""

from ferromap.io.dataset import Calibration, Dataset4D, electron_wavelength_angstrom
from ferromap.io.open import SUPPORTED, can_open, open_4dstem

__all__ = [
    "Calibration",
    "Dataset4D",
    "SUPPORTED",
    "can_open",
    "electron_wavelength_angstrom",
    "open_4dstem",
]
