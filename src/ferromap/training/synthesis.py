"""Experiment-like training scans drawn from the simulation bank (domain randomization).

A bank entry (:mod:`ferromap.simulate.bank`) is one crystal and microscope scanned over
exactly one period, so any probe offset and any finite source are exact Fourier operations on
it (:mod:`ferromap.simulate.scanspace`). Each training scan draws, from the spread of real
experiments (docs/methods.md §4):

* a sub-step offset of the whole scan, and a finite source of 0–0.8 Å FWHM (both exact);
* descan: a global beam shift of up to ±3 px and a ramp of up to ±1.6 px over the scan,
  applied to every pattern (an exact Fourier shift of the zero-padded pattern), and cropped
  to the 64-px frame of the suite's and the papers' data;
* a detector PSF (Gaussian, σ 0–1 px);
* a dose of 10^3.7–10^6.3 e⁻ per pattern with Poisson noise (or none, 15 %), and dark
  counts of 0–1 per pixel in half of the scans.

The patterns then go through the very preprocessing inference uses
(:func:`ferromap.core.geometry.measure_geometry` and its crops): background, descan surface,
sub-pixel crop. What can be removed physically is removed there; the model learns the rest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from ferromap.core.crop import model_input
from ferromap.core.geometry import measure_geometry
from ferromap.simulate.scanspace import FWHM_PER_SIGMA, periodic_scan


@dataclass(frozen=True)
class Nuisances:
    """Ranges of the experiment nuisances drawn for each training scan (uniform unless said)."""

    source_fwhm_A: tuple[float, float] = (0.0, 0.8)
    descan_shift_px: float = 3.0  # |global shift| per axis
    descan_ramp_px: float = 1.6  # |change over the scan| per axis and scan direction
    psf_sigma_px: tuple[float, float] = (0.0, 1.0)
    log10_dose: tuple[float, float] = (3.7, 6.3)
    p_noise_free: float = 0.15
    dark_counts: tuple[float, float] = (0.0, 1.0)
    p_dark: float = 0.5
    frame_px: int = 64

    def draw(self, rng: np.random.Generator) -> dict:
        """One scan's nuisances."""
        u = rng.uniform
        return {
            "scan_offset_px": u(0.0, 1.0, 2).tolist(),
            "source_fwhm_A": float(u(*self.source_fwhm_A)),
            "descan_shift_px": u(-self.descan_shift_px, self.descan_shift_px, 2).tolist(),
            "descan_ramp_px": u(-self.descan_ramp_px, self.descan_ramp_px, (2, 2)).tolist(),
            "psf_sigma_px": float(u(*self.psf_sigma_px)),
            "dose": None if u() < self.p_noise_free else float(10 ** u(*self.log10_dose)),
            "dark_counts": float(u(*self.dark_counts)) if u() < self.p_dark else 0.0,
        }


def _descan(frames: np.ndarray, draw: dict, out_px: int) -> np.ndarray:
    """Shift every pattern by the drawn descan (global + ramp), exactly in Fourier space on a
    zero-padded frame, and crop the central ``out_px`` frame."""
    import scipy.fft

    rows, cols, n = frames.shape[0], frames.shape[1], frames.shape[-1]
    ramp = np.asarray(draw["descan_ramp_px"]) / max(rows - 1, 1)
    r, c = np.mgrid[0:rows, 0:cols]
    shifts = (np.asarray(draw["descan_shift_px"]) + (r - rows / 2)[..., None] * ramp[0]
              + (c - cols / 2)[..., None] * ramp[1]).reshape(-1, 2)
    pad = n + 2 * int(np.ceil(np.abs(shifts).max() + 2))
    lo = (pad - n) // 2
    big = np.zeros((rows * cols, pad, pad), np.float32)
    big[:, lo : lo + n, lo : lo + n] = frames.reshape(-1, n, n)
    k = np.fft.fftfreq(pad)
    spectrum = scipy.fft.rfft2(big, workers=-1)
    kr, kc = k[None, :, None], np.fft.rfftfreq(pad)[None, None, :]
    spectrum *= np.exp(-2j * np.pi * (kr * shifts[:, 0, None, None] + kc * shifts[:, 1, None, None])
                       ).astype(np.complex64)
    moved = scipy.fft.irfft2(spectrum, s=(pad, pad), workers=-1)
    start = (pad - out_px) // 2
    out = moved[:, start : start + out_px, start : start + out_px]
    return np.clip(out, 0, None).reshape(rows, cols, out_px, out_px).astype(np.float32)


def experiment_scan(bank: np.ndarray, step_A: float, rng: np.random.Generator,
                    nuisances: Nuisances = Nuisances()) -> tuple[np.ndarray, dict]:
    """One experiment-like scan from a bank entry.

    Parameters
    ----------
    bank : numpy.ndarray
        ``(32, 32, k, k)`` periodic scan of one bank entry (noise-free intensities).
    step_A : float
        Its scan step in Å (for the source size).
    rng : numpy.random.Generator
        Draws the nuisances and the noise.
    nuisances : Nuisances
        Their ranges.

    Returns
    -------
    patterns : numpy.ndarray
        ``(32, 32, frame, frame)`` float32 counts (or intensities when noise-free).
    draw : dict
        The nuisances drawn.
    """
    if bank.ndim != 4:
        raise ValueError(f"bank must be (rows, cols, k, k), got shape {bank.shape}")
    draw = nuisances.draw(rng)
    sigma = draw["source_fwhm_A"] / FWHM_PER_SIGMA / step_A
    frames = periodic_scan(bank, tuple(draw["scan_offset_px"]), sigma)
    return drawn_detector(frames, draw, nuisances.frame_px, rng), draw


def drawn_detector(frames: np.ndarray, draw: dict, frame_px: int,
                   rng: np.random.Generator) -> np.ndarray:
    """What the detector records of noise-free ``(rows, cols, k, k)`` patterns under the
    drawn nuisances (:meth:`Nuisances.draw`): descan (or the central ``frame_px`` frame when
    there is none; intensities below zero, interpolation ringing, become zero), PSF, then
    Poisson counts of the dose plus dark counts (unless noise-free)."""
    if frames.ndim != 4:
        raise ValueError(f"frames must be (rows, cols, k, k), got shape {frames.shape}")
    if np.any(draw["descan_shift_px"]) or np.any(draw["descan_ramp_px"]):
        frames = _descan(frames, draw, frame_px)
    else:  # as _descan crops and clips it
        lo = (frames.shape[-1] - frame_px) // 2
        frames = np.maximum(frames[..., lo : lo + frame_px, lo : lo + frame_px], 0.0)
    if draw["psf_sigma_px"] > 0:
        frames = gaussian_filter(frames, (0, 0, draw["psf_sigma_px"], draw["psf_sigma_px"]))
    if draw["dose"] is not None:
        frames = rng.poisson(frames * draw["dose"] + draw["dark_counts"]).astype(np.float32)
    return frames


@dataclass
class BankEntryData:
    """A bank entry loaded for training."""

    data: np.ndarray  # (32, 32, k, k) float32
    label: int
    step_A: float
    name: str
    specimen: int | None = None  # the crystal's seed: entries of one group share it


def load_bank(folder: str | Path, indices=None) -> list[BankEntryData]:
    """The bank entries in ``folder`` (``entry-NNNN.zarr``), optionally only ``indices``."""
    from ferromap.io import open_4dstem
    from ferromap.io.sidecar import read_label_map

    paths = sorted(Path(folder).glob("entry-*.zarr"))
    if indices is not None:
        keep = set(indices)
        paths = [p for p in paths if int(p.stem.split("-")[1]) in keep]
    if not paths:
        raise FileNotFoundError(f"no bank entries (entry-NNNN.zarr) in {folder}: run "
                                "python scripts/make_datasets.py --group bank")
    out = []
    for p in paths:
        ds = open_4dstem(p)
        labels = read_label_map(p)
        seed = ds.metadata.get("bank_entry", {}).get("crystal", {}).get("seed")
        out.append(BankEntryData(np.asarray(ds.data, np.float32), int(labels.flat[0]),
                                 ds.calibration.scan_step_nm * 10, p.stem,
                                 None if seed is None else int(seed)))
    return out


def synthesize(entries: list[BankEntryData], rng: np.random.Generator, *, size: int = 64,
               positions: int = 256, repeats: int = 1,
               nuisances: Nuisances = Nuisances()) -> tuple[np.ndarray, np.ndarray, list]:
    """Model inputs of experiment-like scans of every entry, through the inference geometry.

    Parameters
    ----------
    entries : list of BankEntryData
        From :func:`load_bank`.
    rng : numpy.random.Generator
        Draws nuisances, noise and the positions kept.
    size : int
        Model crop side.
    positions : int
        Positions kept per scan (a random subset of its 1024).
    repeats : int
        Scans drawn per entry.
    nuisances : Nuisances
        Their ranges.

    Returns
    -------
    crops : numpy.ndarray
        ``(n, size, size)`` float32 in [0, 1].
    labels : numpy.ndarray
        ``(n,)`` int64 class indices.
    draws : list of dict
        The nuisances of each scan.
    """
    crops, labels, draws = [], [], []
    for _ in range(repeats):
        for entry in entries:
            frames, draw = experiment_scan(entry.data, entry.step_A, rng, nuisances)
            geometry = measure_geometry(frames, size=size, span=float(size), scheduler="synchronous")
            flat = rng.choice(frames.shape[0] * frames.shape[1], positions, replace=False)
            rr, cc = np.divmod(np.sort(flat), frames.shape[1])
            x = model_input(frames[rr, cc], geometry.centres[rr, cc], geometry.span, size,
                            source_index=geometry.source_index)
            crops.append(x)
            labels.append(np.full(len(x), entry.label, np.int64))
            draws.append({**draw, "entry": entry.name})
    return np.concatenate(crops), np.concatenate(labels), draws


def nuisances_from_dict(d: dict | None) -> Nuisances:
    """A :class:`Nuisances` with the given fields changed (lists become tuples)."""
    fields = asdict(Nuisances())
    unknown = set(d or {}) - set(fields)
    if unknown:
        raise ValueError(f"unknown nuisance settings {sorted(unknown)}; known: {sorted(fields)}")
    return Nuisances(**{k: tuple(v) if isinstance(v, list) else v for k, v in (d or {}).items()})
