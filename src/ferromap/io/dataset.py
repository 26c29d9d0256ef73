"""The lazy 4D-STEM dataset and its calibration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import dask.array as da
import numpy as np

# Relativistic electron wavelength: lambda = h / sqrt(2 m0 e V (1 + e V / (2 m0 c^2))).
_H, _M0, _E, _C = 6.62607015e-34, 9.1093837015e-31, 1.602176634e-19, 299792458.0


def electron_wavelength_angstrom(energy_kev: float) -> float:
    """Relativistic electron wavelength in ångström for a beam energy in keV.

    Parameters
    ----------
    energy_kev : float
        Beam energy in keV (e.g. 200).

    Returns
    -------
    float
        Wavelength in Å (0.02508 Å at 200 keV).
    """
    volts = energy_kev * 1e3
    p = np.sqrt(2 * _M0 * _E * volts * (1 + _E * volts / (2 * _M0 * _C**2)))
    return float(_H / p * 1e10)


@dataclass(frozen=True)
class Calibration:
    """Calibration that travels with a dataset; ``None`` means unknown.

    Attributes
    ----------
    mrad_per_px : float or None
        Angular sampling of the detector in mrad per pixel.
    scan_step_nm : float or None
        Probe step between scan positions in nm.
    energy_kev : float or None
        Beam energy in keV.
    """

    mrad_per_px: float | None = None
    scan_step_nm: float | None = None
    energy_kev: float | None = None

    def to_dict(self) -> dict:
        """Plain-JSON form."""
        return {
            "mrad_per_px": self.mrad_per_px,
            "scan_step_nm": self.scan_step_nm,
            "energy_kev": self.energy_kev,
        }


@dataclass
class Dataset4D:
    """A lazily loaded 4D-STEM dataset in ``(scan_row, scan_col, k_row, k_col)`` order.

    Attributes
    ----------
    data : dask.array.Array
        The 4-D array; nothing is read until it is computed.
    calibration : Calibration
        What the file says about sampling and energy.
    source : str
        Path the data came from.
    format : str
        Short name of the reader that opened it (``"npy"``, ``"mib"``, ...).
    metadata : dict
        Extra information from the file, JSON-serialisable.
    read_one : callable, optional
        ``read_one(row, col)`` that reads a single pattern straight from the file, bypassing
        dask's chunking; used by :meth:`pattern` when the reader provides one.
    """

    data: da.Array
    calibration: Calibration = field(default_factory=Calibration)
    source: str = ""
    format: str = ""
    metadata: dict = field(default_factory=dict)
    read_one: Callable[[int, int], np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.data.ndim != 4:
            raise ValueError(f"Dataset4D needs a 4-D array, got shape {self.data.shape}")

    @property
    def scan_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the scan."""
        return tuple(int(n) for n in self.data.shape[:2])

    @property
    def frame_shape(self) -> tuple[int, int]:
        """``(k_rows, k_cols)`` of one diffraction pattern."""
        return tuple(int(n) for n in self.data.shape[2:])

    @property
    def n_patterns(self) -> int:
        """Number of scan positions."""
        return self.scan_shape[0] * self.scan_shape[1]

    def pattern(self, row: int, col: int) -> np.ndarray:
        """Read one diffraction pattern (only its bytes are read from disk).

        Parameters
        ----------
        row, col : int
            Scan position.

        Returns
        -------
        numpy.ndarray
            The ``(k_row, k_col)`` pattern in the file's dtype.
        """
        rows, cols = self.scan_shape
        if not (0 <= row < rows and 0 <= col < cols):
            raise IndexError(f"scan position ({row}, {col}) is outside the {rows}x{cols} scan")
        if self.read_one is not None:
            return np.asarray(self.read_one(row, col)).astype(self.data.dtype, copy=False)
        one = self.data[row, col]
        return np.asarray(one.compute(scheduler="synchronous") if hasattr(one, "compute") else one)

    def with_calibration(self, **changes) -> Dataset4D:
        """Copy with some calibration fields replaced (e.g. ``mrad_per_px=1.2``)."""
        return replace(self, calibration=replace(self.calibration, **changes))

    def describe(self) -> dict:
        """A JSON-serialisable summary: shape, dtype, chunks, calibration."""
        return {
            "source": self.source,
            "format": self.format,
            "shape": list(self.data.shape),
            "dtype": str(self.data.dtype),
            "chunks": [int(c[0]) for c in self.data.chunks],
            "n_patterns": self.n_patterns,
            "calibration": self.calibration.to_dict(),
            **({"metadata": self.metadata} if self.metadata else {}),
        }
