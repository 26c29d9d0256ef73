"""Named, seeded data sets: the training recipe, offset test sets, and the bundled samples.

Training scans the whole 2×2-cell box densely (32×32 positions, 0.247 Å step). Every test
set is scanned on a grid shifted by half a training step, so no test position coincides
with a training position (docs/methods.md §3: a random split of one grid overstates accuracy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ferromap.classes import KNN8
from ferromap.simulate.crystal import A_PSEUDOCUBIC, KNNCrystal
from ferromap.simulate.detector import apply_detector
from ferromap.simulate.domains import compose, halves
from ferromap.simulate.fourdstem import Microscope, Multislice, ScanGrid, simulate_4dstem

TRAIN_STEP_A = 2 * A_PSEUDOCUBIC / 32


@dataclass(frozen=True)
class Recipe:
    """A data set: one scan per direction, stacked along the scan rows, with labels.

    Attributes
    ----------
    name : str
        Identifier (``ferromap simulate --recipe NAME``).
    directions : tuple of str
        Classes simulated, in label order of :data:`ferromap.classes.KNN8`.
    thickness_nm, cells, d_nb : float, int, float
        Crystal (see :class:`~ferromap.simulate.crystal.KNNCrystal`).
    scan : tuple of int
        Positions per direction ``(rows, cols)``.
    step_A : float
        Scan step.
    offset_A : float or tuple of float
        Shift of the grid origin along x and y (half a training step for test sets), or
        ``(x, y)``.
    dose : float or None
        Electrons per pattern (uint16 counts), or noise-free float32.
    dark_counts : float
        Mean dark/background counts per pixel and frame (Poisson; with a dose).
    psf_sigma_px : float
        Detector point-spread function (Gaussian standard deviation, pixels).
    descan_shift_px, descan_ramp_px
        Descan: global ``(row, col)`` beam shift in detector pixels, and its change per scan
        row and per scan column (:func:`~ferromap.simulate.detector.descan_shifts`).
    vacancy : tuple of int or None
        Oxygen vacancy ``(cell_x, cell_y, depth)``.
    seed : int
        Seeds the K/Na occupation and the shot noise.
    noise_seed : int or None
        Seeds the shot noise instead of ``seed``: a noisy copy of another recipe's crystal
        (see :meth:`noise_free`).
    jitter_A : float
        Random offset of every probe position (:class:`ScanGrid`), seeded by ``seed``.
    d_o : float
        Oxygen displacement opposite to the Nb one, Å.
    a_site_order : {"random", "layered", "columnar"}
        K/Na arrangement (:class:`~ferromap.simulate.crystal.KNNCrystal`).
    microscope : Microscope
        Probe optics (defocus, aberrations, mistilt, source size) and detector sampling.
    multislice : Multislice
        Potential parametrization, slice thickness and frozen phonons (TDS).
    """

    name: str
    directions: tuple[str, ...] = KNN8.names
    thickness_nm: float = 20.0
    cells: int = 2
    d_nb: float = 0.15
    scan: tuple[int, int] = (16, 16)
    step_A: float = 2 * TRAIN_STEP_A
    offset_A: float | tuple[float, float] = TRAIN_STEP_A / 2
    dose: float | None = None
    vacancy: tuple[int, int, int] | None = None
    seed: int = 0
    noise_seed: int | None = None
    jitter_A: float = 0.0
    dark_counts: float = 0.0
    psf_sigma_px: float = 0.0
    descan_shift_px: tuple[float, float] = (0.0, 0.0)
    descan_ramp_px: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0))
    d_o: float = 0.0
    a_site_order: str = "random"
    microscope: Microscope = Microscope()
    multislice: Multislice = Multislice()

    def noise_free(self) -> Recipe:
        """The same simulation without the detector effects (shares the multislice result)."""
        return replace(self, dose=None, noise_seed=None, dark_counts=0.0, psf_sigma_px=0.0,
                       descan_shift_px=(0.0, 0.0), descan_ramp_px=((0.0, 0.0), (0.0, 0.0)))

    def detector_effects(self) -> bool:
        """Whether the recipe applies anything after the multislice."""
        return self.noise_free() != replace(self, noise_seed=None)

    def add_noise(self, data: np.ndarray) -> np.ndarray:
        """The recipe's detector effects (descan, PSF, dark counts, dose) applied to its
        noise-free simulation, whose scans are stacked along the rows (one per direction)."""
        if not self.detector_effects():
            return data
        seed = self.seed if self.noise_seed is None else self.noise_seed
        rows = self.scan[0]
        blocks = [apply_detector(data[i : i + rows], dose=self.dose, background=self.dark_counts,
                                 shift_px=self.descan_shift_px, ramp_px=self.descan_ramp_px,
                                 psf_sigma_px=self.psf_sigma_px, seed=seed + i)
                  for i in range(0, len(data), rows)]
        return np.concatenate(blocks)

    def crystal(self, direction: str | None) -> KNNCrystal:
        """The crystal of one direction."""
        return KNNCrystal.with_thickness(self.thickness_nm, direction=direction, cells=self.cells,
                                         d_nb=self.d_nb, d_o=self.d_o, vacancy=self.vacancy,
                                         seed=self.seed, a_site_order=self.a_site_order)

    def grid(self) -> ScanGrid:
        """Probe positions of one direction."""
        off = self.offset_A if isinstance(self.offset_A, tuple) else (self.offset_A,) * 2
        return ScanGrid(self.scan, self.step_A, tuple(off), self.jitter_A, self.seed)


TRAINING = Recipe("train-20nm", scan=(32, 32), step_A=TRAIN_STEP_A, offset_A=0.0)
#: Training sets of the shipped model: jittered positions, K/Na occupations no test set uses.
JITTERED = [
    *[replace(TRAINING, name=f"train-{t}nm-jitter", thickness_nm=float(t),
              jitter_A=TRAIN_STEP_A / 2, seed=10 + i) for i, t in enumerate((16, 20, 24, 50))],
    *[replace(TRAINING, name=f"train-20nm-jitter-{k}", jitter_A=TRAIN_STEP_A / 2, seed=seed)
      for k, seed in (("b", 14), ("c", 15))],
]
RECIPES: dict[str, Recipe] = {r.name: r for r in [
    TRAINING,
    replace(TRAINING, name="train-16nm", thickness_nm=16.0),
    replace(TRAINING, name="train-24nm", thickness_nm=24.0),
    replace(TRAINING, name="train-50nm", thickness_nm=50.0),
    *JITTERED,
    *[replace(r, name=f"{r.name}-dose{d}", dose=float(d), noise_seed=100 + 2 * i + k)
      for i, r in enumerate(JITTERED) for k, d in enumerate(("1e5", "3e4"))],
    Recipe("test-20nm"),
    Recipe("test-20nm-dose1e5", dose=1e5, seed=1),
    Recipe("test-20nm-dose1e4", dose=1e4, seed=2),
    Recipe("test-20nm-unseen", seed=1),  # the dose1e5 crystal, noise-free
    Recipe("test-4x4cells", cells=4, seed=3),
    Recipe("test-16nm", thickness_nm=16.0),
    Recipe("test-24nm", thickness_nm=24.0),
    Recipe("test-50nm", thickness_nm=50.0),
    Recipe("test-vacancy", directions=("RD",), cells=4, scan=(32, 32), vacancy=(1, 1, 25)),
    Recipe("test-pristine-rd", directions=("RD",), cells=4, scan=(32, 32)),
]}


#: Our own experiment-like evaluation suite (docs/benchmark.md): crystals (K/Na occupations of a
#: 4×4-cell box) and probe positions (a grid at an irrational offset, jittered) that no model
#: trains on; each nuisance of a real experiment alone on the clean set, then all together.
SUITE_STEP_A = A_PSEUDOCUBIC / 6
_SUITE = Recipe("suite-clean", cells=4, scan=(16, 16), step_A=SUITE_STEP_A,
                offset_A=(0.37 * SUITE_STEP_A, 0.61 * SUITE_STEP_A),
                jitter_A=0.15 * SUITE_STEP_A, seed=501)
_DESCAN = {"descan_shift_px": (2.3, -1.7), "descan_ramp_px": ((0.06, 0.03), (-0.02, 0.08))}
_EXPERIMENT_OPTICS = Microscope(tilt_mrad=1.0, tilt_azimuth_deg=200.0, defocus_A=30.0,
                                source_fwhm_A=0.5)
SUITE: dict[str, Recipe] = {r.name: r for r in [
    _SUITE,
    replace(_SUITE, name="suite-16nm", thickness_nm=16.0, seed=502),
    replace(_SUITE, name="suite-24nm", thickness_nm=24.0, seed=503),
    replace(_SUITE, name="suite-50nm", thickness_nm=50.0, seed=504),
    replace(_SUITE, name="suite-dose1e5", dose=1e5, seed=505),
    replace(_SUITE, name="suite-dose1e4-dark", dose=1e4, dark_counts=0.5, seed=506),
    replace(_SUITE, name="suite-mrad2.1", cells=3, step_A=3 * A_PSEUDOCUBIC / 16, seed=507,
            microscope=Microscope(mrad_per_px=None, detector_px=96)),
    replace(_SUITE, name="suite-descan", seed=508, **_DESCAN),
    replace(_SUITE, name="suite-tilt1mrad", seed=509,
            microscope=Microscope(tilt_mrad=1.0, tilt_azimuth_deg=30.0)),
    replace(_SUITE, name="suite-defocus3nm", seed=510, microscope=Microscope(defocus_A=30.0)),
    replace(_SUITE, name="suite-tds", seed=511, multislice=Multislice(phonon_configs=6, seed=511)),
    replace(_SUITE, name="suite-source-psf-1e5", seed=512, dose=1e5, psf_sigma_px=0.6,
            microscope=Microscope(source_fwhm_A=0.5), multislice=Multislice(samples=6, seed=512)),
    replace(_SUITE, name="suite-experiment", seed=513, dose=1e5, dark_counts=0.5,
            psf_sigma_px=0.6, microscope=_EXPERIMENT_OPTICS,
            multislice=Multislice(phonon_configs=6, seed=513), **_DESCAN),
    replace(_SUITE, name="suite-vacancy", directions=("RD",), scan=(32, 32),
            step_A=A_PSEUDOCUBIC / 8, jitter_A=0.0, vacancy=(1, 1, 25), seed=514),
    replace(_SUITE, name="suite-pristine", directions=("RD",), scan=(32, 32),
            step_A=A_PSEUDOCUBIC / 8, jitter_A=0.0, seed=514),
]}


#: Validation data for the confidence calibration (``scripts/calibrate_weights.py``): the suite's
#: design, on other crystals (seeds 601-) and at another irrational grid offset, with other
#: levels of each nuisance than the suite's, so that the suite stays a test of the
#: calibration. The detector-only sets are noisy copies of ``cal-clean`` (``noise_seed``).
_CAL = replace(_SUITE, name="cal-clean", offset_A=(0.71 * SUITE_STEP_A, 0.23 * SUITE_STEP_A),
               seed=601)
_CAL_OPTICS = Microscope(tilt_mrad=0.8, tilt_azimuth_deg=110.0, defocus_A=-25.0,
                         source_fwhm_A=0.4)
CALIBRATION: dict[str, Recipe] = {r.name: r for r in [
    _CAL,
    replace(_CAL, name="cal-12nm", thickness_nm=12.0, seed=602),
    replace(_CAL, name="cal-35nm", thickness_nm=35.0, seed=603),
    replace(_CAL, name="cal-60nm", thickness_nm=60.0, seed=604),
    replace(_CAL, name="cal-dose3e5", dose=3e5, noise_seed=605),
    replace(_CAL, name="cal-dose3e4", dose=3e4, noise_seed=606),
    replace(_CAL, name="cal-dose2e4-dark", dose=2e4, dark_counts=0.3, noise_seed=607),
    replace(_CAL, name="cal-psf-dose1e5", dose=1e5, psf_sigma_px=0.8, noise_seed=608),
    replace(_CAL, name="cal-descan", descan_shift_px=(-1.6, 2.1),
            descan_ramp_px=((-0.05, 0.04), (0.03, -0.07)), noise_seed=609),
    replace(_CAL, name="cal-tilt", seed=610, microscope=Microscope(tilt_mrad=1.4,
                                                                   tilt_azimuth_deg=290.0)),
    replace(_CAL, name="cal-defocus", seed=611, microscope=Microscope(defocus_A=-40.0)),
    replace(_CAL, name="cal-experiment", seed=612, dose=2e5, dark_counts=0.3, psf_sigma_px=0.8,
            microscope=_CAL_OPTICS, multislice=Multislice(phonon_configs=4, samples=4, seed=612),
            descan_shift_px=(-1.6, 2.1), descan_ramp_px=((-0.05, 0.04), (0.03, -0.07))),
]}


def vacancy_scan_position(recipe: Recipe) -> tuple[float, float]:
    """``(row, col)`` of the vacancy's Nb–O column on the recipe's scan grid (fractional)."""
    if recipe.vacancy is None:
        raise ValueError(f"recipe {recipe.name} has no vacancy")
    crystal = recipe.crystal(recipe.directions[0])
    x, y = (np.array(recipe.vacancy[:2]) + 0.5) * crystal.a
    x0, y0 = recipe.grid().origin_A
    col = ((x - x0) % crystal.extent) / recipe.step_A
    row = ((y0 - y) % crystal.extent) / recipe.step_A
    return float(row), float(col)


def simulate_recipe(
    recipe: Recipe,
    progress: Callable[[int, int], None] | None = None,
    layout: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Simulate a recipe.

    Parameters
    ----------
    recipe : Recipe
        What to simulate (its microscope and multislice settings included).
    progress : callable, optional
        ``progress(done, total)`` in positions.
    layout : numpy.ndarray, optional
        ``recipe.scan``-shaped map of indices into ``recipe.directions``: one scan whose
        position ``(r, c)`` shows direction ``directions[layout[r, c]]`` (domains with walls
        of any shape), instead of one scan per direction. The detector effects then apply
        to that one scan.

    Returns
    -------
    data : numpy.ndarray
        ``(len(directions) * rows, cols, k, k)`` (``(rows, cols, k, k)`` with a layout):
        uint16 with a dose, float32 without.
    labels : numpy.ndarray
        ``(len(directions) * rows, cols)`` (``(rows, cols)``) uint8 class indices.
    metadata : dict
    """
    if layout is not None:
        layout = np.asarray(layout)
        if layout.shape != tuple(recipe.scan) or not np.issubdtype(layout.dtype, np.integer) \
                or layout.min() < 0 or layout.max() >= len(recipe.directions):
            raise ValueError(f"layout must be a {tuple(recipe.scan)} map of domain indices 0.."
                             f"{len(recipe.directions) - 1} (into the recipe's directions)")
    blocks, labels, meta = [], [], {}
    for i, direction in enumerate(recipe.directions):
        def report(done, n, i=i):  # n: positions × multislice runs of one direction
            if progress is not None:
                progress(i * n + done, len(recipe.directions) * n)

        sim = simulate_4dstem(recipe.crystal(direction), recipe.grid(), recipe.microscope,
                              recipe.multislice, progress=report)
        blocks.append(sim.data)
        labels.append(np.full(recipe.scan, KNN8.index(direction), np.uint8))
        meta = sim.metadata
    if layout is not None:
        index = np.array([KNN8.index(d) for d in recipe.directions], np.uint8)
        blocks, labels = [compose(blocks, layout)], [index[layout]]
        meta = {**meta, "domains": list(recipe.directions)}
    data = np.concatenate(blocks)
    data = recipe.add_noise(data)
    meta = {**meta, "recipe": recipe.name, "classes": KNN8.to_dict(), "dose": recipe.dose,
            "detector": {"dose": recipe.dose, "dark_counts": recipe.dark_counts,
                         "psf_sigma_px": recipe.psf_sigma_px,
                         "descan_shift_px": list(recipe.descan_shift_px),
                         "descan_ramp_px": [list(v) for v in recipe.descan_ramp_px]},
            "mrad_per_px": sim.mrad_per_px, "scan_step_nm": sim.scan_step_nm}
    return data, np.concatenate(labels), meta


def simulate_domains(
    directions: tuple[str, ...],
    layout: np.ndarray,
    *,
    thickness_nm: float = 20.0,
    dose: float | None = 1e5,
    seed: int = 0,
    descan_ramp_px: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.0), (0.0, 0.0)),
    microscope: Microscope = Microscope(),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """A domain map: position ``(r, c)`` shows direction ``directions[layout[r, c]]``.

    Parameters
    ----------
    directions : tuple of str
        KNN8 direction of each domain.
    layout : numpy.ndarray
        ``(rows, cols)`` integer domain index per position (any wall shape).
    thickness_nm : float
        Crystal thickness.
    dose : float or None
        Electrons per pattern (Poisson counts), or noise-free.
    seed : int
        Seeds the K/Na occupation and the noise.
    descan_ramp_px : tuple
        Descan ramp in detector pixels per scan row and per scan column
        (:func:`~ferromap.simulate.detector.descan_shifts`).
    microscope : Microscope
        Beam and detector.
    progress : callable, optional
        ``progress(done, total)`` in positions.

    Returns
    -------
    data, truth, metadata
        As :func:`simulate_recipe`; ``truth`` holds the KNN8 class index per position.
    """
    layout = np.asarray(layout, dtype=np.intp)
    if layout.ndim != 2:
        raise ValueError(f"layout must be a 2-D map of domain indices 0..{len(directions) - 1}")
    step = A_PSEUDOCUBIC / 8
    recipe = Recipe("domains", directions=tuple(directions), thickness_nm=thickness_nm,
                    scan=layout.shape, step_A=step, offset_A=step / 2, dose=dose, seed=seed,
                    descan_ramp_px=descan_ramp_px, microscope=microscope)
    return simulate_recipe(recipe, progress, layout=layout)


def simulate_two_domain(left: str = "MU", right: str = "RM", *,
                        scan: tuple[int, int] = (32, 48), **kwargs
                        ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Two domains split by a vertical wall in the middle: ``left`` | ``right``.

    ``kwargs`` are those of :func:`simulate_domains`.
    """
    return simulate_domains((left, right), halves(scan, 0, 1), **kwargs)
