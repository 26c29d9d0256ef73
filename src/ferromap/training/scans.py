"""Training the scan-context model on experiment-like scans drawn from the simulation bank.

Every training scan is made from one or two bank entries (:mod:`ferromap.simulate.bank`),
each in a random orientation of the square lattice (applied to the whole periodic 4-D entry,
so the label, the probe positions and the patterns turn together):

* a scan step of 0.2–1.1 Å (log-uniform) over 8–14 Å (at most 32 positions a side), on a
  grid at a random offset with row and column jitter, through a finite source (exact
  scan-space interpolation, :func:`ferromap.simulate.scanspace.grid_scan`);
* in a fraction of the scans, two entries of different directions on either side of a
  straight domain wall at a random angle;
* descan, detector PSF, dose and dark counts as in :mod:`ferromap.training.synthesis`;
* the inference preprocessing itself: detector plan, CoM, descan surface, crops around each
  beam centre and the ring-harmonic features (:mod:`ferromap.core.features`).

The network (:class:`ferromap.models.context.ContextNet`) then learns on random windows of
those feature maps, resampled to its scan grid, each in a random orientation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import map_coordinates

from ferromap.classes import KNN8
from ferromap.core.features import FeatureKernel, RingHarmonics
from ferromap.core.geometry import measure_geometry
from ferromap.core.stream import run
from ferromap.models.symmetry import SymOp, usable_ops
from ferromap.simulate.scanspace import FWHM_PER_SIGMA, grid_scan, scan_spectrum
from ferromap.training.synthesis import BankEntryData, Nuisances, drawn_detector


@dataclass(frozen=True)
class ScanGeometry:
    """Ranges of the scan geometry drawn for each training scan."""

    step_A: tuple[float, float] = (0.2, 1.1)  # log-uniform
    extent_A: tuple[float, float] = (8.0, 14.0)
    min_positions: int = 8
    max_positions: int = 32  # per side (a fine step covers less than extent_A)
    jitter: float = 0.2  # of a step, per row and per column
    p_wall: float = 0.3
    p_descan: float = 0.5  # scans with descan (the rest none: inference removes it anyway)


@dataclass
class ContextScan:
    """One synthesized training scan: its features, labels and step."""

    features: np.ndarray  # (rows, cols, K) float32
    labels: np.ndarray  # (rows, cols) uint8
    step_A: float
    draw: dict


def periodic_op(data: np.ndarray, op: SymOp) -> np.ndarray:
    """A symmetry operation on a periodic bank scan ``(rows, cols, k, k)``: about the
    scan origin (an A-site column; periodic indices) and about the beam centre, pixel
    ``k/2`` of the patterns (the zero frequency of the simulator)."""
    scan_last = np.moveaxis(data, (0, 1), (2, 3))
    moved = np.moveaxis(op.apply(scan_last), (2, 3), (0, 1))
    return np.ascontiguousarray(op.apply(moved))


#: Scan spectra a sampler keeps (about 38 MB each for the mild bank): an entry's eight
#: orientations and those of its wall partners, under 1 GB per worker process.
CACHED_SPECTRA = 24


class EntrySampler:
    """The bank entries in every orientation, with their scan spectra made on first use.

    ``group``: consecutive bank indices (``entry-NNNN``) that share a specimen and microscope
    (:class:`ferromap.simulate.bank.BankSpread`); a domain wall joins two of them when it can.
    """

    def __init__(self, entries: list[BankEntryData], classes=KNN8, group: int = 1):
        self.entries, self.ops = entries, usable_ops("d4", classes)
        self._cache: dict[tuple[int, int], np.ndarray] = {}
        groups = [int(e.name.rsplit("-", 1)[-1]) // max(group, 1)
                  if e.name.rsplit("-", 1)[-1].isdigit() else i for i, e in enumerate(entries)]
        self._groups = np.asarray(groups)

    def partners(self, index: int) -> list[int]:
        """The other entries of entry ``index``'s group (all the others if it has none)."""
        same = [int(i) for i in np.flatnonzero(self._groups == self._groups[index]) if i != index]
        return same or [i for i in range(len(self.entries)) if i != index]

    def spectrum(self, index: int, op_index: int) -> tuple[np.ndarray, int]:
        """``(scan spectrum, label)`` of entry ``index`` turned by operation ``op_index``."""
        op, perm = self.ops[op_index]
        key = (index, op_index)
        if key not in self._cache:
            if len(self._cache) >= CACHED_SPECTRA:
                self._cache.pop(next(iter(self._cache)))  # the least recently used
            self._cache[key] = scan_spectrum(periodic_op(self.entries[index].data, op))
        self._cache[key] = self._cache.pop(key)  # now the most recently used
        return self._cache[key], int(perm[self.entries[index].label])


def _positions(n: int, step_px: float, jitter_px: float, period: int, rng) -> np.ndarray:
    start = rng.uniform(0, period)
    return start + np.arange(n) * step_px + rng.uniform(-jitter_px, jitter_px, n)


def _wall(shape: tuple[int, int], rng) -> np.ndarray:
    """A random straight wall through the scan: True on one side."""
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]]
    t = rng.uniform(0, 2 * np.pi)
    r0, c0 = rng.uniform(0.25, 0.75, 2) * np.asarray(shape)
    return np.cos(t) * (c - c0) - np.sin(t) * (r - r0) > 0


def scan_features(frames: np.ndarray, basis: RingHarmonics) -> np.ndarray:
    """Features of a whole (small, in-memory) scan through the inference preprocessing.

    The detector here is sampled at the model's mrad/px (the bank's sampling), so the crop
    spans ``basis.size`` detector pixels.
    """
    g = measure_geometry(frames, size=basis.size, span=float(basis.size), scheduler="synchronous")
    return run(frames, FeatureKernel(g, basis), scheduler="synchronous")["features"]


def synthesize_scan(sampler: EntrySampler, rng: np.random.Generator, basis: RingHarmonics,
                    nuisances: Nuisances = Nuisances(), geometry: ScanGeometry = ScanGeometry(),
                    first: int | None = None) -> ContextScan:
    """One experiment-like training scan (see the module docstring).

    Parameters
    ----------
    sampler : EntrySampler
        The bank entries.
    rng : numpy.random.Generator
        Draws everything.
    basis : RingHarmonics
        Features computed.
    nuisances, geometry
        Ranges of the detector nuisances and of the scan geometry.
    first : int, optional
        Entry of the scan (or of its first domain); random if not given.

    Returns
    -------
    ContextScan
    """
    step = float(np.exp(rng.uniform(*np.log(geometry.step_A))))
    shape = tuple(min(geometry.max_positions, max(geometry.min_positions,
                                                  int(np.ceil(rng.uniform(*geometry.extent_A) / step))))
                  for _ in range(2))
    ref = sampler.entries[0]  # every entry shares the bank's grid and frame
    period = ref.data.shape[0]
    step_px = step / ref.step_A
    rows = _positions(shape[0], step_px, geometry.jitter * step_px, period, rng)
    cols = _positions(shape[1], step_px, geometry.jitter * step_px, period, rng)
    draw = nuisances.draw(rng)
    if rng.random() >= geometry.p_descan:
        draw.update(descan_shift_px=[0.0, 0.0], descan_ramp_px=[[0.0, 0.0], [0.0, 0.0]])
    sigma = draw["source_fwhm_A"] / FWHM_PER_SIGMA / ref.step_A
    frame = ref.data.shape[2:]
    n_entries = 2 if rng.random() < geometry.p_wall else 1
    picks = [int(rng.integers(len(sampler.entries))) if first is None else int(first)]
    if n_entries == 2 and len(sampler.entries) > 1:
        picks.append(int(rng.choice(sampler.partners(picks[0]))))
    parts = []
    for i in picks:
        op = int(rng.integers(len(sampler.ops)))
        spectrum, label = sampler.spectrum(i, op)
        for turn in range(1, len(sampler.ops)):  # a wall between two different directions
            if not parts or label != parts[0][1]:
                break
            spectrum, label = sampler.spectrum(i, (op + turn) % len(sampler.ops))
        # the interpolation rings a little below zero where there is no intensity
        parts.append((np.maximum(grid_scan(spectrum, rows, cols, frame, sigma), 0.0), label))
    frames = parts[0][0]
    labels = np.full(shape, parts[0][1], np.uint8)
    if len(parts) == 2:
        side = _wall(shape, rng)
        frames = np.where(side[..., None, None], parts[1][0], frames)
        labels[side] = parts[1][1]
    frames = drawn_detector(frames, draw, nuisances.frame_px, rng)
    draw = {**draw, "step_A": step, "entries": [sampler.entries[i].name for i in picks]}
    return ContextScan(scan_features(frames, basis), labels, step, draw)


def scan_pool(entries: list[BankEntryData], n_scans: int, rng: np.random.Generator,
              basis: RingHarmonics, nuisances: Nuisances = Nuisances(),
              geometry: ScanGeometry = ScanGeometry(), group: int = 1, workers: int = 1,
              progress: Callable[[int, int], None] | None = None) -> list[ContextScan]:
    """``n_scans`` training scans, entry by entry (each entry first about equally often).

    The scans of each entry are drawn with their own generator, seeded from ``rng`` and the
    entry's place in the list, so the pool is the same whatever ``workers``.

    Parameters
    ----------
    entries : list of BankEntryData
        From :func:`ferromap.training.synthesis.load_bank`.
    n_scans : int
        Scans to draw.
    rng : numpy.random.Generator
        Seeds everything.
    basis : RingHarmonics
        Features computed.
    nuisances, geometry
        See :func:`synthesize_scan`.
    group : int
        Entries per specimen and microscope in the bank (walls join entries of one group).
    workers : int
        Processes drawing scans at once (forked, sharing the entries; 1: this process).
    progress : callable, optional
        ``progress(done, total)`` in scans.

    Returns
    -------
    list of ContextScan
    """
    if not entries or n_scans < 1 or workers < 1:
        raise ValueError("scan_pool needs bank entries, n_scans >= 1 and workers >= 1")
    base = int(rng.integers(2**32))
    counts = np.bincount(np.arange(n_scans) * len(entries) // n_scans, minlength=len(entries))
    tasks = [(i, int(n), base) for i, n in enumerate(counts) if n]
    global _POOL_STATE
    _POOL_STATE = (EntrySampler(entries, group=group), basis, nuisances, geometry)
    out: list[ContextScan] = []
    try:
        with _mapper(workers) as mapper:
            for scans in mapper(_entry_scans, tasks):
                out += scans
                if progress is not None:
                    progress(len(out), n_scans)
    finally:
        _POOL_STATE = None
    return out


@contextlib.contextmanager
def _mapper(workers: int):
    """``map``, or the ``map`` of a pool of ``workers`` forked processes."""
    if workers == 1:
        yield map
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool.map


_POOL_STATE = None  # what the (forked) workers of scan_pool draw from


def _entry_scans(task: tuple[int, int, int]) -> list[ContextScan]:
    index, n, base = task
    sampler, basis, nuisances, geometry = _POOL_STATE
    rng = np.random.default_rng([base, index])
    return [synthesize_scan(sampler, rng, basis, nuisances, geometry, first=index)
            for _ in range(n)]


def resample_labels(labels: np.ndarray, step_A: float, sampling_A: float) -> np.ndarray:
    """Label maps on the model grid (nearest position)."""
    from ferromap.models.context import model_grid_coords

    coords = model_grid_coords(labels.shape, step_A, sampling_A)
    return map_coordinates(labels.astype(np.float32), coords, order=0, mode="nearest"
                           ).astype(np.int64)

