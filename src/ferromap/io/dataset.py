"""The lazy 4D-STEM dataset and its calibration."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np

from ferromap.core.stream import is_dask, scan_chunks

if TYPE_CHECKING:
    import dask.array as da

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
    semiangle_mrad : float or None
        Probe convergence semi-angle in mrad, when the file records it.
    mrad_per_px_source : {"file", "user", "estimated"} or None
        Where ``mrad_per_px`` came from: the file, the user, or an estimate from the
        bright-field disk (:mod:`ferromap.pipelines.calibration`).
    """

    mrad_per_px: float | None = None
    scan_step_nm: float | None = None
    energy_kev: float | None = None
    semiangle_mrad: float | None = None
    mrad_per_px_source: str | None = None

    def __post_init__(self) -> None:
        for name in ("mrad_per_px", "scan_step_nm", "energy_kev", "semiangle_mrad"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, Real)):
                raise TypeError(f"{name} must be a number or None, got {value!r}")
            if value is not None and not 0 < value < math.inf:
                raise ValueError(f"{name} must be positive and finite, or unknown (None), got "
                                 f"{value}")
        if self.mrad_per_px is not None and self.mrad_per_px_source is None:
            object.__setattr__(self, "mrad_per_px_source", "file")

    def to_dict(self) -> dict:
        """Plain-JSON form."""
        return {
            "mrad_per_px": self.mrad_per_px,
            "scan_step_nm": self.scan_step_nm,
            "energy_kev": self.energy_kev,
            "semiangle_mrad": self.semiangle_mrad,
            "mrad_per_px_source": self.mrad_per_px_source,
        }

    @classmethod
    def from_dict(cls, d: dict | None) -> Calibration:
        """Inverse of :meth:`to_dict`; unknown keys are ignored, missing ones unknown."""
        d = d or {}
        names = ("mrad_per_px", "scan_step_nm", "energy_kev", "semiangle_mrad",
                 "mrad_per_px_source")
        return cls(**{k: d.get(k) for k in names})


def check_dataset(dataset, name: str = "dataset") -> None:
    """Raise a TypeError that says what to pass when ``dataset`` is not a :class:`Dataset4D`
    (a numpy array or a path, say)."""
    if not isinstance(dataset, Dataset4D):
        raise TypeError(f"{name} must be a ferromap Dataset4D, got {type(dataset).__name__}: "
                        "open a file with ferromap.io.open_4dstem(path), or wrap a 4-D array "
                        "with ferromap.io.Dataset4D(array, Calibration(...))")


class _DaskOnFirstUse:
    """A dataclass field holding a dask array, or a numpy-like source (a frame reader) that is
    wrapped in dask only when something asks for it: opening a file and streaming it through
    :meth:`Dataset4D.array` never imports dask."""

    def __set_name__(self, owner, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            raise AttributeError(self.slot)  # no default: the field is required
        value = obj.__dict__[self.slot]
        if not is_dask(value):
            value = obj.__dict__[self.slot] = _to_dask(value)
        return value

    def __set__(self, obj, value) -> None:
        obj.__dict__[self.slot] = value


def _to_dask(source):
    if hasattr(source, "to_dask"):
        return source.to_dask()
    from ferromap.core.stream import as_dask

    return as_dask(source)


@dataclass
class Dataset4D:
    """A lazily loaded 4D-STEM dataset in ``(scan_row, scan_col, k_row, k_col)`` order.

    Attributes
    ----------
    data : dask.array.Array
        The 4-D array; nothing is read until it is computed. A numpy-like source may be
        given instead; it is wrapped in dask on first access.
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
    stream : numpy-like, optional
        The same data as an array whose blocks read straight from the file (a memmap of a
        ``.npy``); the streaming kernels use it (:meth:`array`) instead of the dask graph.
    """

    data: da.Array = _DaskOnFirstUse()
    calibration: Calibration = field(default_factory=Calibration)
    source: str = ""
    format: str = ""
    metadata: dict = field(default_factory=dict)
    read_one: Callable[[int, int], np.ndarray] | None = field(default=None, repr=False)
    stream: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if len(self.shape) != 4:
            raise ValueError(f"Dataset4D needs a 4-D array, got shape {self.shape}")
        if self.stream is not None and tuple(self.stream.shape) != self.shape:
            raise ValueError(f"stream has shape {self.stream.shape}; data {self.shape}")

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(scan_row, scan_col, k_row, k_col)``."""
        return tuple(int(n) for n in self.__dict__["_data"].shape)

    @property
    def dtype(self) -> np.dtype:
        """Element type of the patterns."""
        return np.dtype(self.__dict__["_data"].dtype)

    def array(self, scheduler=None):
        """What streaming kernels read: :attr:`stream` when there is one and the work stays in
        this process; the dask array (whose sources pickle as paths) for a
        ``distributed.Client``."""
        local = scheduler is None or isinstance(scheduler, str)
        return self.stream if self.stream is not None and local else self.data

    @property
    def scan_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the scan."""
        return self.shape[:2]

    @property
    def frame_shape(self) -> tuple[int, int]:
        """``(k_rows, k_cols)`` of one diffraction pattern."""
        return self.shape[2:]

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
            return np.asarray(self.read_one(row, col)).astype(self.dtype, copy=False)
        one = self.data[row, col]
        return np.asarray(one.compute(scheduler="synchronous") if hasattr(one, "compute") else one)

    def subscan(self, rows: slice = slice(None), cols: slice = slice(None)) -> Dataset4D:
        """The dataset restricted to a rectangle of scan positions (lazy, no data read).

        Parameters
        ----------
        rows, cols : slice
            Contiguous scan ranges (step 1).

        Returns
        -------
        Dataset4D
        """
        r = range(*rows.indices(self.scan_shape[0]))
        c = range(*cols.indices(self.scan_shape[1]))
        if r.step != 1 or c.step != 1 or not len(r) or not len(c):
            raise ValueError("subscan takes non-empty contiguous row and column ranges")
        read = None
        if self.read_one is not None:
            parent = self.read_one

            def read(row, col):
                return parent(row + r.start, col + c.start)
        stream = None if self.stream is None else self.stream[r.start : r.stop, c.start : c.stop]
        return replace(self, data=self.data[r.start : r.stop, c.start : c.stop], read_one=read,
                       stream=stream)

    def scans(self) -> list[tuple[slice, slice]]:
        """Row ranges of the separate scans stacked in this dataset (simulated sets stack one
        scan per class along the rows; their metadata says how many rows each has)."""
        rows = self.metadata.get("scan_rows") or (self.metadata.get("scan") or {}).get("shape",
                                                                                      [None])[0]
        total = self.scan_shape[0]
        if not rows or total % int(rows):
            return [(slice(0, total), slice(0, self.scan_shape[1]))]
        return [(slice(s, s + int(rows)), slice(0, self.scan_shape[1]))
                for s in range(0, total, int(rows))]

    def _chunks(self) -> tuple[int, ...]:
        """The dask chunk shape, without making the dask array (same rule as its wrapper)."""
        data = self.__dict__["_data"]
        if is_dask(data):
            return tuple(int(c[0]) for c in data.chunks)
        return scan_chunks(self.shape, self.dtype.itemsize)

    def with_calibration(self, **changes) -> Dataset4D:
        """Copy with some calibration fields replaced (e.g. ``mrad_per_px=1.2``)."""
        return replace(self, data=self.__dict__["_data"],
                       calibration=replace(self.calibration, **changes))

    def describe(self) -> dict:
        """A JSON-serialisable summary: shape, dtype, chunks, calibration."""
        return {
            "source": self.source,
            "format": self.format,
            "shape": list(self.shape),
            "dtype": str(self.dtype),
            "chunks": list(self._chunks()),
            "n_patterns": self.n_patterns,
            "calibration": self.calibration.to_dict(),
            **({"metadata": self.metadata} if self.metadata else {}),
        }
