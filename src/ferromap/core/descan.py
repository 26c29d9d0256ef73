"""Descan: the beam's own drift across the detector during a scan, fitted and removed.

The CoM of a pattern is the beam centre (descan: a global shift plus a smooth ramp over the
scan) plus the specimen's deflection. In a crystal the deflection is lattice-periodic and
carries the polarization, so it must not be fitted away. :func:`fit_descan` fits a smooth
surface (a plane, or a quadratic) *jointly* with the lattice's Fourier harmonics: the
harmonics absorb the periodic part, which would otherwise leak into a plane fitted over a
few unit cells. The lattice comes from the CoM map itself
(:func:`ferromap.core.periodic.reciprocal_lattice`); without one, the plane alone is fitted
(the periodic part then averages out only over many cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Smooth-surface order by name.
ORDERS = {"mean": 0, "plane": 1, "quadratic": 2}
#: A harmonic must repeat this often along a scan axis to be told apart from the surface.
MIN_REPEATS = 1.5


@dataclass
class DescanFit:
    """A fitted descan surface.

    Attributes
    ----------
    surface : numpy.ndarray
        ``(rows, cols, 2)`` beam centre per scan position (detector pixels).
    order : int
        0 mean, 1 plane, 2 quadratic.
    lattice : numpy.ndarray or None
        ``(2, 2)`` (or ``(1, 2)`` for a one-dimensional period) reciprocal lattice vectors in
        cycles per scan pixel whose harmonics were fitted with the surface, or ``None``.
    """

    surface: np.ndarray
    order: int
    lattice: np.ndarray | None

    def ramp_px(self) -> float:
        """Largest change of the beam centre over the scan (detector pixels)."""
        flat = self.surface.reshape(-1, 2)
        return float(np.hypot(*(flat.max(axis=0) - flat.min(axis=0))))

    def to_dict(self) -> dict:
        """JSON summary."""
        return {"order": self.order, "ramp_px": round(self.ramp_px(), 4),
                "lattice_cycles_per_px": None if self.lattice is None
                else self.lattice.round(5).tolist()}


def _poly(rows: np.ndarray, cols: np.ndarray, order: int) -> list[np.ndarray]:
    terms = [np.ones_like(rows)]
    if order >= 1:
        terms += [rows, cols]
    if order >= 2:
        terms += [rows**2, rows * cols, cols**2]
    return terms


def _harmonics(rows, cols, lattice: np.ndarray, n: int) -> list[np.ndarray]:
    terms = []
    second = lattice[1] if len(lattice) > 1 else np.zeros(2)
    shape = rows.shape
    for h in range(0, n + 1):
        for k in range(-n, n + 1) if len(lattice) > 1 else [0]:
            if h == 0 and k <= 0:
                continue  # one of each ± pair, and not the zero frequency
            g = h * lattice[0] + k * second
            if abs(g[0]) * shape[0] < MIN_REPEATS and abs(g[1]) * shape[1] < MIN_REPEATS:
                continue  # too slow to tell from the smooth surface
            phase = 2 * np.pi * (g[0] * rows + g[1] * cols)
            terms += [np.cos(phase), np.sin(phase)]
    return terms


def fit_descan(
    com: np.ndarray,
    *,
    order: int | str = "plane",
    lattice: np.ndarray | str | None = "auto",
    harmonics: int = 2,
) -> DescanFit:
    """Fit the smooth descan surface of a CoM map, leaving the lattice-periodic part out.

    Parameters
    ----------
    com : numpy.ndarray
        ``(rows, cols, 2)`` CoM per position in detector pixels (NaN: no CoM, ignored).
    order : {"mean", "plane", "quadratic"} or int
        Surface: the global mean, a plane, or a quadratic.
    lattice : "auto", numpy.ndarray or None
        Reciprocal lattice ``(2, 2)`` (or ``(1, 2)``) in cycles per scan pixel; ``"auto"``
        finds it in the CoM map; ``None`` fits the surface alone.
    harmonics : int
        Highest harmonic order of each lattice vector in the joint fit.

    Returns
    -------
    DescanFit

    Examples
    --------
    >>> import numpy as np
    >>> r, c = np.mgrid[0:24, 0:24]
    >>> wave = 0.8 * np.sin(2 * np.pi * c / 7) * np.cos(2 * np.pi * r / 7)  # the lattice
    >>> com = np.stack([10 + 0.05 * r + wave, 12 + 0.03 * c + wave], -1)
    >>> fit = fit_descan(com)
    >>> truth = np.stack([10 + 0.05 * r, 12 + 0.03 * c], -1)
    >>> bool(np.abs(fit.surface - truth).max() < 1e-3)  # plane + harmonics
    True
    >>> bool(np.abs(fit_descan(com, lattice=None).surface - truth).max() > 5e-3)  # plane alone
    True
    """
    com = np.asarray(com, dtype=np.float64)
    if com.ndim != 3 or com.shape[-1] != 2:
        raise ValueError(f"com must be (rows, cols, 2), got shape {com.shape}")
    order = ORDERS.get(order, order) if isinstance(order, str) else int(order)
    if order not in (0, 1, 2):
        raise ValueError(f"order must be one of {', '.join(ORDERS)} (or 0-2), got {order!r}")
    ok = np.isfinite(com).all(axis=-1)
    if not ok.any():
        raise ValueError("no scan position has a centre of mass (all patterns are empty)")
    rows, cols = np.mgrid[0 : com.shape[0], 0 : com.shape[1]].astype(np.float64)
    poly = np.stack(_poly(rows, cols, order), axis=-1)
    if isinstance(lattice, str):
        if lattice != "auto":
            raise ValueError(f"lattice must be 'auto', an array or None, got {lattice!r}")
        lattice = _find_lattice(com, ok, poly) if order >= 1 else None
    extra = [] if lattice is None else _harmonics(rows, cols, np.asarray(lattice), harmonics)
    design = np.concatenate([poly, np.stack(extra, -1)], -1) if extra else poly
    if ok.sum() < design.shape[-1] + 1:  # too few positions for the harmonics
        design, lattice = poly, None
    coef, *_ = np.linalg.lstsq(design[ok], com[ok], rcond=None)
    surface = poly @ coef[: poly.shape[-1]]
    if lattice is not None and not _agrees(surface, com, ok, poly):
        return fit_descan(com, order=order, lattice=None)
    return DescanFit(surface, order, None if lattice is None else np.asarray(lattice))


def _agrees(surface, com, ok, poly) -> bool:
    """Whether a joint fit stays within the lattice's own deflection of the surface alone (an
    ill-conditioned fit, e.g. a spurious lattice, can send it far away)."""
    coef, *_ = np.linalg.lstsq(poly[ok], com[ok], rcond=None)
    plain = poly @ coef
    spread = float(np.std(com[ok] - plain[ok], axis=0).max())
    return float(np.abs(surface - plain)[ok].max()) <= max(1.0, 3 * spread)


def _find_lattice(com: np.ndarray, ok: np.ndarray, poly: np.ndarray) -> np.ndarray | None:
    """The scan-space lattice of the CoM map after a first surface fit."""
    from ferromap.core.periodic import reciprocal_lattice, strong_peaks

    coef, *_ = np.linalg.lstsq(poly[ok], com[ok], rcond=None)
    residual = np.moveaxis(np.where(ok[..., None], com - poly @ coef, np.nan), -1, 0)
    pair = reciprocal_lattice(residual)
    if pair is not None:
        return pair
    peaks = strong_peaks(residual)
    return peaks[:1] if len(peaks) else None
