"""Named, seeded data sets: the training recipe, offset test sets, and the bundled samples.

Training scans the whole 2×2-cell box densely (32×32 positions, 0.247 Å step). Every test
set is scanned on a grid shifted by half a training step, so no test position coincides
with a training position (METHODS.md §3: a random split of one grid overstates accuracy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ferromap.classes import KNN8
from ferromap.simulate.crystal import A_PSEUDOCUBIC, KNNCrystal
from ferromap.simulate.detector import apply_detector
from ferromap.simulate.domains import compose, halves
from ferromap.simulate.fourdstem import Microscope, ScanGrid, simulate_4dstem

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
    offset_A : float
        Shift of the grid origin along x and y (half a training step for test sets).
    dose : float or None
        Electrons per pattern (uint16 counts), or noise-free float32.
    vacancy : tuple of int or None
        Oxygen vacancy ``(cell_x, cell_y, depth)``.
    seed : int
        Seeds the K/Na occupation and the shot noise.
    noise_seed : int or None
        Seeds the shot noise instead of ``seed``: a noisy copy of another recipe's crystal
        (see :meth:`noise_free`).
    jitter_A : float
        Random offset of every probe position (:class:`ScanGrid`), seeded by ``seed``.
    """

    name: str
    directions: tuple[str, ...] = KNN8.names
    thickness_nm: float = 20.0
    cells: int = 2
    d_nb: float = 0.15
    scan: tuple[int, int] = (16, 16)
    step_A: float = 2 * TRAIN_STEP_A
    offset_A: float = TRAIN_STEP_A / 2
    dose: float | None = None
    vacancy: tuple[int, int, int] | None = None
    seed: int = 0
    noise_seed: int | None = None
    jitter_A: float = 0.0

    def noise_free(self) -> Recipe:
        """The same simulation without the detector noise (shares the multislice result)."""
        return replace(self, dose=None, noise_seed=None)

    def add_noise(self, data: np.ndarray) -> np.ndarray:
        """The recipe's detector noise applied to its noise-free simulation."""
        if self.dose is None:
            return data
        seed = self.seed if self.noise_seed is None else self.noise_seed
        return apply_detector(data, dose=self.dose, seed=seed)

    def crystal(self, direction: str | None) -> KNNCrystal:
        """The crystal of one direction."""
        return KNNCrystal.with_thickness(self.thickness_nm, direction=direction, cells=self.cells,
                                         d_nb=self.d_nb, vacancy=self.vacancy, seed=self.seed)

    def grid(self) -> ScanGrid:
        """Probe positions of one direction."""
        return ScanGrid(self.scan, self.step_A, (self.offset_A, self.offset_A), self.jitter_A,
                        self.seed)


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
    microscope: Microscope = Microscope(),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Simulate a recipe.

    Parameters
    ----------
    recipe : Recipe
        What to simulate.
    microscope : Microscope
        Beam and detector.
    progress : callable, optional
        ``progress(done, total)`` in positions.

    Returns
    -------
    data : numpy.ndarray
        ``(len(directions) * rows, cols, k, k)``: uint16 with a dose, float32 without.
    labels : numpy.ndarray
        ``(len(directions) * rows, cols)`` uint8 class indices.
    metadata : dict
    """
    per = recipe.scan[0] * recipe.scan[1]
    total = per * len(recipe.directions)
    blocks, labels, meta = [], [], {}
    for i, direction in enumerate(recipe.directions):
        def report(done, _n, i=i):
            if progress is not None:
                progress(i * per + done, total)

        sim = simulate_4dstem(recipe.crystal(direction), recipe.grid(), microscope,
                              progress=report)
        blocks.append(sim.data)
        labels.append(np.full(recipe.scan, KNN8.index(direction), np.uint8))
        meta = sim.metadata
    data = np.concatenate(blocks)
    data = recipe.add_noise(data)
    meta = {**meta, "recipe": recipe.name, "classes": KNN8.to_dict(), "dose": recipe.dose,
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
    if layout.ndim != 2 or layout.min() < 0 or layout.max() >= len(directions):
        raise ValueError(f"layout must be a 2-D map of domain indices 0..{len(directions) - 1}")
    scan = layout.shape
    step = A_PSEUDOCUBIC / 8
    grid = ScanGrid(scan, step, (step / 2, step / 2))
    sims = []
    for i, direction in enumerate(directions):
        crystal = KNNCrystal.with_thickness(thickness_nm, direction=direction, seed=seed)

        def report(done, n, i=i):
            if progress is not None:
                progress(i * n + done, len(directions) * n)

        sims.append(simulate_4dstem(crystal, grid, microscope, progress=report))
    truth = np.array([KNN8.index(d) for d in directions], np.uint8)[layout]
    data = compose([s.data for s in sims], layout)
    if dose is not None or np.any(descan_ramp_px):
        data = apply_detector(data, dose=dose, ramp_px=descan_ramp_px, seed=seed)
    meta = {**sims[0].metadata, "domains": list(directions), "classes": KNN8.to_dict(),
            "dose": dose, "mrad_per_px": sims[0].mrad_per_px, "scan_step_nm": step / 10}
    return data, truth, meta


def simulate_two_domain(left: str = "MU", right: str = "RM", *,
                        scan: tuple[int, int] = (32, 48), **kwargs
                        ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Two domains split by a vertical wall in the middle: ``left`` | ``right``.

    ``kwargs`` are those of :func:`simulate_domains`.
    """
    return simulate_domains((left, right), halves(scan, 0, 1), **kwargs)
