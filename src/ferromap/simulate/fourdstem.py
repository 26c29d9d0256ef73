"""4D-STEM multislice with abTEM, returned in ferromap's orientation.

This is the one place where abTEM's conventions are converted: abTEM patterns are
``[kx, ky]`` with ky UP and the zero frequency at index ``n // 2``. Ours are
``[k_row, k_col]`` with ``k_col = kx`` and ``k_row = -ky`` (an exact frequency negation, so
the zero frequency stays at ``n // 2``). Scan positions are listed in our row-major order
with ``x = x0 + col·step`` and ``y = y0 - row·step`` (row 0 at the top).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from ferromap.io.dataset import electron_wavelength_angstrom
from ferromap.simulate.crystal import A_PSEUDOCUBIC, KNNCrystal

# The native sampling of the seed paper's 2x2-cell box at 200 kV: λ / (2 a) = 3.17 mrad/px.
DEFAULT_MRAD_PER_PX = electron_wavelength_angstrom(200.0) / (2 * A_PSEUDOCUBIC) * 1e3


@dataclass(frozen=True)
class Microscope:
    """Beam and detector settings.

    Attributes
    ----------
    energy_kev : float
        Beam energy.
    semiangle_mrad : float
        Probe convergence semi-angle.
    detector_px : int
        Side of the square detector crop around the direct beam.
    mrad_per_px : float
        Angular sampling of the output; an integer multiple of the box's native sampling
        ``λ / extent`` (pixels are binned to reach it).
    """

    energy_kev: float = 200.0
    semiangle_mrad: float = 24.0
    detector_px: int = 64
    mrad_per_px: float = DEFAULT_MRAD_PER_PX


@dataclass(frozen=True)
class ScanGrid:
    """A rectangular grid of probe positions in our orientation.

    Attributes
    ----------
    shape : tuple of int
        ``(rows, cols)``.
    step_A : float
        Distance between neighbouring positions in Å.
    origin_A : tuple of float
        ``(x, y)`` in Å of position ``(row 0, col 0)``, the top-left one.
    jitter_A : float
        Each position moves by a seeded uniform random offset in ``[-jitter, jitter]`` along x
        and y, so a training scan covers the unit cell continuously instead of a fixed
        sub-lattice of it (0: an exact grid).
    seed : int
        Seeds the jitter.
    """

    shape: tuple[int, int]
    step_A: float
    origin_A: tuple[float, float] = (0.0, 0.0)
    jitter_A: float = 0.0
    seed: int = 0

    def positions(self) -> np.ndarray:
        """``(rows*cols, 2)`` abTEM ``(x, y)`` positions in row-major order of our grid."""
        rows, cols = np.mgrid[0 : self.shape[0], 0 : self.shape[1]]
        x = self.origin_A[0] + cols.ravel() * self.step_A
        y = self.origin_A[1] - rows.ravel() * self.step_A
        xy = np.stack([x, y], axis=-1)
        if self.jitter_A:
            rng = np.random.default_rng(self.seed)
            xy = xy + rng.uniform(-self.jitter_A, self.jitter_A, xy.shape)
        return xy


@dataclass
class SimulatedScan:
    """A simulated 4D-STEM scan: ``data`` is ``(rows, cols, k_row, k_col)`` float32
    intensities (fraction of the beam per pixel; apply a dose for counts)."""

    data: np.ndarray
    mrad_per_px: float
    scan_step_nm: float
    energy_kev: float
    metadata: dict

    def to_dataset(self):
        """Wrap as a :class:`~ferromap.io.Dataset4D`."""
        import dask.array as da

        from ferromap.io.dataset import Calibration, Dataset4D

        cal = Calibration(self.mrad_per_px, self.scan_step_nm, self.energy_kev)
        return Dataset4D(da.from_array(self.data, chunks=(8, -1, -1, -1)), cal, "simulation",
                         "simulation", self.metadata)


def from_abtem_patterns(patterns: np.ndarray) -> np.ndarray:
    """``[..., kx, ky]`` (ky up) -> ``[..., k_row, k_col]`` (row down), zero frequency kept."""
    q = np.swapaxes(patterns, -1, -2)  # [..., ky, kx]
    return np.roll(q[..., ::-1, :], 1, axis=-2)


def _bin_and_crop(patterns: np.ndarray, factor: int, size: int) -> np.ndarray:
    n = patterns.shape[-1]
    zero = n // 2
    if factor > 1:
        start = zero % factor  # keep the zero-frequency pixel at a block's start
        m = (n - start) // factor
        cut = patterns[..., start : start + m * factor, start : start + m * factor]
        patterns = cut.reshape(*cut.shape[:-2], m, factor, m, factor).sum(axis=(-3, -1))
        zero = (zero - start) // factor
    lo = zero - size // 2
    if lo < 0 or lo + size > patterns.shape[-1]:
        raise ValueError(f"the simulated patterns ({patterns.shape[-1]} px) are smaller than "
                         f"the {size}-px detector")
    return patterns[..., lo : lo + size, lo : lo + size]


def _bin_factor(crystal: KNNCrystal, microscope: Microscope) -> tuple[int, float]:
    native = electron_wavelength_angstrom(microscope.energy_kev) / crystal.extent * 1e3
    factor = int(round(microscope.mrad_per_px / native))
    if factor < 1 or abs(factor * native - microscope.mrad_per_px) > 0.01 * microscope.mrad_per_px:
        raise ValueError(f"mrad_per_px={microscope.mrad_per_px:.4g} is not a whole multiple of "
                         f"this box's native sampling {native:.4g} mrad/px; change cells")
    return factor, factor * native


def simulate_4dstem(
    crystal: KNNCrystal,
    scan: ScanGrid,
    microscope: Microscope = Microscope(),
    *,
    max_batch: int = 64,
    batch_positions: int = 512,
    progress: Callable[[int, int], None] | None = None,
) -> SimulatedScan:
    """Multislice 4D-STEM of a KNN crystal with abTEM (needs the ``simulate`` extra).

    Parameters
    ----------
    crystal : KNNCrystal
        The specimen; positions outside its box wrap around (it is periodic).
    scan : ScanGrid
        Probe positions in our orientation.
    microscope : Microscope
        Beam and detector.
    max_batch : int
        Probe positions abTEM propagates at once (64 keeps both cores busy).
    batch_positions : int
        Positions per progress report.
    progress : callable, optional
        ``progress(done, total)`` in positions.

    Returns
    -------
    SimulatedScan
    """
    import abtem

    abtem.config.set({"device": "cpu"})
    factor, mrad = _bin_factor(crystal, microscope)
    gpts = int(np.ceil(microscope.detector_px * factor * 0.75 + 2)) * 2
    potential = abtem.Potential(crystal.atoms(), gpts=gpts, slice_thickness=crystal.a / 2)
    potential = potential.build(lazy=False)
    probe = abtem.Probe(energy=microscope.energy_kev * 1e3,
                        semiangle_cutoff=microscope.semiangle_mrad)
    detector = abtem.PixelatedDetector(max_angle="cutoff")
    positions = scan.positions() % crystal.extent
    out = np.empty((len(positions), microscope.detector_px, microscope.detector_px), np.float32)
    for start in range(0, len(positions), batch_positions):
        chunk = positions[start : start + batch_positions]
        result = probe.scan(potential, scan=abtem.CustomScan(chunk), detectors=detector,
                            max_batch=max_batch).compute(progress_bar=False)
        patterns = np.asarray(result.array).reshape(len(chunk), *result.array.shape[-2:])
        out[start : start + len(chunk)] = _bin_and_crop(from_abtem_patterns(patterns), factor,
                                                        microscope.detector_px)
        if progress is not None:
            progress(start + len(chunk), len(positions))
    meta = {"crystal": crystal.to_dict(), "scan": asdict(scan), "microscope": asdict(microscope),
            "simulator": f"abtem {abtem.__version__}"}
    return SimulatedScan(out.reshape(*scan.shape, *out.shape[-2:]), mrad, scan.step_A / 10,
                         microscope.energy_kev, meta)
