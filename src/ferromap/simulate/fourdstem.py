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
    """Beam, probe optics and detector sampling.

    Attributes
    ----------
    energy_kev : float
        Beam energy.
    semiangle_mrad : float
        Probe convergence semi-angle.
    detector_px : int
        Side of the square detector crop around the direct beam.
    mrad_per_px : float or None
        Angular sampling of the output; an integer multiple of the box's native sampling
        ``λ / extent`` (pixels are binned to reach it). ``None``: the native sampling.
    defocus_A : float
        Probe defocus in Å (abTEM's sign: positive is underfocus, ``C10 = -defocus``).
    astigmatism_A, astigmatism_angle_deg : float
        Two-fold astigmatism ``C12`` in Å and its azimuth (degrees CCW from +col).
    cs_A : float
        Spherical aberration ``C30`` in Å.
    tilt_mrad, tilt_azimuth_deg : float
        Crystal mistilt: the beam runs ``tilt_mrad`` off the zone axis, towards the azimuth
        (degrees CCW from +col, "up" = smaller row). Simulated as a tilted probe; the
        direct beam moves by the tilt on the detector, which the crop rule re-centres.
    source_fwhm_A : float
        Finite effective source (partial spatial coherence): each pattern is the incoherent
        mean over probe positions drawn from a Gaussian of this FWHM around the nominal one
        (Monte-Carlo, :attr:`Multislice.samples` draws).
    """

    energy_kev: float = 200.0
    semiangle_mrad: float = 24.0
    detector_px: int = 64
    mrad_per_px: float | None = DEFAULT_MRAD_PER_PX
    defocus_A: float = 0.0
    astigmatism_A: float = 0.0
    astigmatism_angle_deg: float = 0.0
    cs_A: float = 0.0
    tilt_mrad: float = 0.0
    tilt_azimuth_deg: float = 0.0
    source_fwhm_A: float = 0.0

    def tilt_xy(self) -> tuple[float, float]:
        """abTEM's probe tilt ``(x, y)`` in mrad (y up, as the azimuth)."""
        t = np.deg2rad(self.tilt_azimuth_deg)
        return (float(self.tilt_mrad * np.cos(t)), float(self.tilt_mrad * np.sin(t)))

    def probe(self):
        """The abTEM probe of these optics."""
        import abtem

        # plain Python floats: a numpy float64 here promotes abTEM's waves to complex128,
        # which doubles the cost of the whole multislice
        aberrations = {"C10": -float(self.defocus_A), "C12": float(self.astigmatism_A),
                       "phi12": float(np.deg2rad(self.astigmatism_angle_deg)),
                       "C30": float(self.cs_A)}
        return abtem.Probe(energy=float(self.energy_kev) * 1e3,
                           semiangle_cutoff=float(self.semiangle_mrad), tilt=self.tilt_xy(),
                           aberrations=aberrations)


#: Room-temperature rms displacement along each axis (Å) of the frozen-phonon model.
DEFAULT_RMS_A = (("K", 0.09), ("Na", 0.09), ("Nb", 0.06), ("O", 0.08))


@dataclass(frozen=True)
class Multislice:
    """How the specimen potential is built and averaged.

    Attributes
    ----------
    parametrization : {"lobato", "kirkland"}
        Atomic potential parametrization.
    slice_thickness_A : float or None
        Multislice slice thickness; ``None`` is half a unit cell.
    phonon_configs : int
        Frozen-phonon configurations averaged incoherently (thermal diffuse scattering);
        0 is a static lattice (no TDS).
    rms_A : tuple of (str, float)
        Per-element rms displacement along each Cartesian axis, in Å (abTEM's ``sigmas``).
    samples : int
        Monte-Carlo draws of the finite source when :attr:`Microscope.source_fwhm_A` is set.
        Phonon configurations and source draws are taken together: ``max(phonon_configs,
        samples)`` multislice runs in all, each with its own configuration and offsets.
    seed : int
        Seeds the phonon displacements and the source draws.
    """

    parametrization: str = "lobato"
    slice_thickness_A: float | None = None
    phonon_configs: int = 0
    rms_A: tuple[tuple[str, float], ...] = DEFAULT_RMS_A
    samples: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if self.parametrization not in ("lobato", "kirkland"):
            raise ValueError(f"parametrization must be 'lobato' or 'kirkland', got "
                             f"{self.parametrization!r}")
        if self.phonon_configs < 0 or self.samples < 1:
            raise ValueError("phonon_configs must be >= 0 and samples >= 1")
        if self.slice_thickness_A is not None and self.slice_thickness_A <= 0:
            raise ValueError("slice_thickness_A must be positive")

    def runs(self, microscope: Microscope) -> int:
        """Number of multislice runs (phonon configurations and source draws together)."""
        source = self.samples if microscope.source_fwhm_A > 0 else 1
        return max(1, self.phonon_configs, source)


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
    if microscope.mrad_per_px is None:
        return 1, native
    factor = int(round(microscope.mrad_per_px / native))
    if factor < 1 or abs(factor * native - microscope.mrad_per_px) > 0.01 * microscope.mrad_per_px:
        raise ValueError(f"mrad_per_px={microscope.mrad_per_px:.4g} is not a whole multiple of "
                         f"this box's native sampling {native:.4g} mrad/px; change cells")
    return factor, factor * native


def fft_friendly(n: int) -> int:
    """The smallest even number >= ``n`` with no prime factor above 5 (fast FFTs: a size
    with a large prime factor, e.g. 106 = 2·53, makes the multislice several times slower)."""
    m = max(2, n + n % 2)
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 2


def _potential(atoms, gpts: int, crystal: KNNCrystal, multislice: Multislice, run: int):
    """The built potential of one run: a frozen-phonon configuration, or the static lattice."""
    import abtem

    if multislice.phonon_configs:
        fp = abtem.FrozenPhonons(atoms, num_configs=1, sigmas=dict(multislice.rms_A),
                                 seed=multislice.seed * 1009 + run)
        atoms = fp.randomize(atoms)
    dz = multislice.slice_thickness_A or crystal.a / 2
    return abtem.Potential(atoms, gpts=gpts, slice_thickness=dz,
                           parametrization=multislice.parametrization).build(lazy=False)


def source_offsets(n: int, fwhm_A: float, seed: int) -> np.ndarray:
    """``(n, 2)`` Gaussian offsets in Å of a source of this FWHM (zeros when 0)."""
    if fwhm_A <= 0:
        return np.zeros((n, 2))
    sigma = fwhm_A / (2 * np.sqrt(2 * np.log(2)))
    return np.random.default_rng(seed).normal(0.0, sigma, (n, 2))


def simulate_4dstem(
    crystal: KNNCrystal,
    scan: ScanGrid,
    microscope: Microscope = Microscope(),
    multislice: Multislice = Multislice(),
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
        Beam, probe optics (defocus, aberrations, mistilt, source size) and detector.
    multislice : Multislice
        Potential parametrization, slice thickness, frozen phonons (TDS).
    max_batch : int
        Probe positions abTEM propagates at once (64 keeps both cores busy).
    batch_positions : int
        Positions per progress report.
    progress : callable, optional
        ``progress(done, total)`` over every run's positions.

    Returns
    -------
    SimulatedScan
    """
    import abtem

    abtem.config.set({"device": "cpu"})
    factor, mrad = _bin_factor(crystal, microscope)
    gpts = fft_friendly(int(np.ceil(microscope.detector_px * factor * 0.75 + 2)) * 2)
    atoms, probe = crystal.atoms(), microscope.probe()
    detector = abtem.PixelatedDetector(max_angle="cutoff")
    nominal = scan.positions()
    runs = multislice.runs(microscope)
    out = np.zeros((len(nominal), microscope.detector_px, microscope.detector_px), np.float64)
    for run in range(runs):
        potential = _potential(atoms, gpts, crystal, multislice, run)
        offsets = source_offsets(len(nominal), microscope.source_fwhm_A,
                                 multislice.seed * 7919 + run)
        positions = (nominal + offsets) % crystal.extent
        for start in range(0, len(positions), batch_positions):
            chunk = positions[start : start + batch_positions]
            result = probe.scan(potential, scan=abtem.CustomScan(chunk), detectors=detector,
                                max_batch=max_batch).compute(progress_bar=False)
            patterns = np.asarray(result.array).reshape(len(chunk), *result.array.shape[-2:])
            out[start : start + len(chunk)] += _bin_and_crop(from_abtem_patterns(patterns),
                                                             factor, microscope.detector_px)
            if progress is not None:
                progress(run * len(positions) + start + len(chunk), runs * len(positions))
    meta = {"crystal": crystal.to_dict(), "scan": asdict(scan), "microscope": asdict(microscope),
            "multislice": asdict(multislice), "simulator": f"abtem {abtem.__version__}",
            "multislice_runs": runs}
    data = (out / runs).astype(np.float32)
    return SimulatedScan(data.reshape(*scan.shape, *data.shape[-2:]), mrad, scan.step_A / 10,
                         microscope.energy_kev, meta)
