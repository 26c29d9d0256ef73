"""Physically simulated KNN 4D-STEM data (abTEM multislice); needs ``ferromap[simulate]``."""

from ferromap.simulate.crystal import A_PSEUDOCUBIC, KNNCrystal
from ferromap.simulate.detector import apply_detector, descan_shifts
from ferromap.simulate.domains import compose, halves
from ferromap.simulate.fourdstem import (
    DEFAULT_MRAD_PER_PX,
    Microscope,
    ScanGrid,
    SimulatedScan,
    from_abtem_patterns,
    simulate_4dstem,
)

__all__ = [
    "A_PSEUDOCUBIC",
    "DEFAULT_MRAD_PER_PX",
    "KNNCrystal",
    "Microscope",
    "ScanGrid",
    "SimulatedScan",
    "apply_detector",
    "compose",
    "descan_shifts",
    "from_abtem_patterns",
    "halves",
    "simulate_4dstem",
]
