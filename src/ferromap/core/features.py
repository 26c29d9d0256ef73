"""Diffraction features: each pattern as ring intensities and their angular harmonics.

A pattern, cropped around its own beam centre and resampled to a fixed angular sampling
(:mod:`ferromap.core.crop`), is projected onto rings around the centre; in each ring, onto
``cos(mθ)`` and ``sin(mθ)`` for ``m = 1 .. max_order`` as well as onto the ring itself
(``m = 0``). Every projection is divided by the pattern's total intensity above the detector
background, so the features are fractions of the beam, independent of the dose:

* ``m = 0``: how much of the beam lands in each ring (the bright field, annular bright and
  dark fields: thickness and column contrast);
* ``m = 1``: the centre of mass of each ring (the deflection towards the atom columns, ring
  by ring);
* ``m ≥ 2``: the ring's two-, three- and four-fold asymmetry (the polar distortion of the
  disk overlaps).

The features are linear in the intensity, so they stream at the speed of a virtual detector,
and they transform exactly under the square's rotations and mirrors about the beam centre
(the ring of a pixel is invariant, and the centre pixel carries no harmonic), which
:mod:`ferromap.models.context` uses to average over the crystal's symmetry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ferromap.core.crop import extract_crops
from ferromap.core.geometry import CropGeometry
from ferromap.core.stream import Buffer, Kernel, Where


@dataclass(frozen=True)
class RingHarmonics:
    """Rings and angular orders of the feature basis, on a ``size × size`` model crop.

    Attributes
    ----------
    size : int
        Crop side; the beam centre is pixel ``size / 2`` (the crop rule).
    edges_px : tuple of float
        Ring edges in crop pixels, from 0 outwards.
    max_order : int
        Highest angular harmonic ``m``.
    """

    size: int = 64
    edges_px: tuple[float, ...] = (0.0, 2.5, 5.0, 7.5, 10.0, 14.0, 19.0, 25.0, 32.0)
    max_order: int = 4

    def __post_init__(self) -> None:
        edges = np.asarray(self.edges_px, dtype=float)
        if self.size < 4 or len(edges) < 2 or edges[0] != 0 or np.any(np.diff(edges) <= 0):
            raise ValueError("size must be >= 4 and edges_px increasing from 0")
        if edges[-1] > self.size / 2 or self.max_order < 0:
            raise ValueError(f"edges_px must end within the crop (<= {self.size / 2}) and "
                             "max_order must be >= 0")

    @property
    def n_rings(self) -> int:
        """Number of rings."""
        return len(self.edges_px) - 1

    @property
    def per_ring(self) -> int:
        """Features per ring: the ring, then ``cos mθ, sin mθ`` for each order."""
        return 1 + 2 * self.max_order

    @property
    def n_features(self) -> int:
        """Features per pattern."""
        return self.n_rings * self.per_ring

    def channels(self) -> list[tuple[int, int, str]]:
        """``(ring, order, part)`` of every feature, ``part`` in ``{"0", "cos", "sin"}``."""
        out = []
        for ring in range(self.n_rings):
            out.append((ring, 0, "0"))
            for m in range(1, self.max_order + 1):
                out += [(ring, m, "cos"), (ring, m, "sin")]
        return out

    @cached_property
    def matrix(self) -> np.ndarray:
        """``(size², n_features)`` float32 projection matrix (angles CCW from +col, up =
        smaller row)."""
        i, j = np.mgrid[0 : self.size, 0 : self.size]
        dy, dx = i - self.size / 2, j - self.size / 2
        radius, theta = np.hypot(dy, dx), np.arctan2(-dy, dx)
        columns = []
        for ring, m, part in self.channels():
            lo, hi = self.edges_px[ring], self.edges_px[ring + 1]
            inside = (radius >= lo) & (radius < hi)
            if part == "0":
                columns.append(inside.astype(float))
            else:
                trig = np.cos if part == "cos" else np.sin
                columns.append(inside * (radius > 0) * trig(m * theta))
        return np.stack(columns, axis=-1).reshape(self.size**2, -1).astype(np.float32)

    def images(self) -> np.ndarray:
        """The basis as ``(n_features, size, size)`` images."""
        return self.matrix.T.reshape(-1, self.size, self.size)

    def to_dict(self) -> dict:
        """JSON form (stored in a model file)."""
        return {"size": self.size, "edges_px": list(self.edges_px), "max_order": self.max_order}

    @classmethod
    def from_dict(cls, d: dict) -> RingHarmonics:
        """Inverse of :meth:`to_dict`."""
        return cls(int(d["size"]), tuple(float(e) for e in d["edges_px"]), int(d["max_order"]))


def pattern_features(crops, basis: RingHarmonics, background: float = 0.0, xp=np):
    """Features of crops cut around their beam centres (not normalised).

    Parameters
    ----------
    crops : numpy.ndarray
        ``(n, size, size)`` from :func:`ferromap.core.crop.extract_crops`.
    basis : RingHarmonics
        The rings and orders.
    background : float
        Detector background per pixel, subtracted first.
    xp : module-like, optional
        The array namespace (see :func:`ferromap.core.crop.extract_crops`).

    Returns
    -------
    array
        ``(n, n_features)`` float32 of the namespace ``xp``: projections divided by the
        pattern's total intensity above the background (0 for a pattern with none).

    Examples
    --------
    >>> import numpy as np
    >>> basis = RingHarmonics(size=8, edges_px=(0.0, 2.0, 4.0), max_order=1)
    >>> crop = np.zeros((1, 8, 8), np.float32); crop[0, 4, 4] = 1.0  # all on the centre
    >>> pattern_features(crop, basis).round(3).tolist()
    [[1.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
    """
    crops = xp.float32(xp.asarray(crops))
    if crops.ndim != 3 or tuple(crops.shape[1:]) != (basis.size, basis.size):
        raise ValueError(f"crops must be (n, {basis.size}, {basis.size}), got "
                         f"{tuple(crops.shape)}")
    flat = crops.reshape(len(crops), -1) - float(background)
    total = flat.sum(axis=1, keepdims=True)
    proj = flat @ xp.asarray(basis.matrix)
    return xp.float32(xp.where(total > 0, proj / xp.where(total > 0, total, 1), 0.0))


class FeatureKernel(Kernel):
    """Streams the features of every pattern, cropped around its own beam centre (computed
    in the array namespace ``xp``, numpy by default; see
    :func:`ferromap.core.crop.extract_crops`)."""

    def __init__(self, geometry: CropGeometry, basis: RingHarmonics, xp=None):
        if geometry.size != basis.size:
            raise ValueError(f"the crop ({geometry.size} px) and the basis ({basis.size} px) "
                             "must have the same size")
        self.geometry, self.basis, self.xp = geometry, basis, xp
        self.buffers = (Buffer("features", (basis.n_features,)),)

    def process(self, block: np.ndarray, where: Where) -> dict[str, np.ndarray]:
        r, c = block.shape[:2]
        g, xp = self.geometry, self.xp or np
        crops = extract_crops(*g.patterns(block, where), g.span, g.size,
                              source_index=g.source_index, xp=xp)
        feats = pattern_features(crops, self.basis, g.plan.background, xp)
        if self.xp is not None:
            feats = self.xp.to_host(feats)
        return {"features": feats.reshape(r, c, -1)}


def polar_statistics(features: np.ndarray, basis: RingHarmonics, window_px: int) -> np.ndarray:
    """Translation-invariant statistics of a feature map around every position.

    Over a ``window_px × window_px`` window (edges repeated), the covariance of every ring's
    intensity (``m = 0``) with every ring's deflection (``m = 1``, both components). Over a
    centrosymmetric lattice these covariances vanish; a polar displacement makes them point
    along it, wherever the window sits on the lattice. They turn as a vector when the scan
    turns, so a classifier of them needs no knowledge of the probe's position in the cell.

    Parameters
    ----------
    features : numpy.ndarray
        ``(rows, cols, K)`` feature map, ideally on a fixed physical grid.
    basis : RingHarmonics
        Its basis (``max_order >= 1``).
    window_px : int
        Window side in positions (odd).

    Returns
    -------
    numpy.ndarray
        ``(rows, cols, 2·n_rings²)`` float32: the ``cos`` then the ``sin`` covariances,
        ring-intensity-major.
    """
    from scipy.ndimage import uniform_filter

    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 3 or f.shape[-1] != basis.n_features or basis.max_order < 1:
        raise ValueError(f"features must be (rows, cols, {basis.n_features}) of a basis with "
                         "a first harmonic")
    if window_px < 1 or window_px % 2 == 0:
        raise ValueError(f"window_px must be odd and positive, got {window_px}")
    def mean(x):
        return uniform_filter(x, size=(window_px, window_px, *(1,) * (x.ndim - 2)),
                              mode="nearest")

    chans = basis.channels()
    s = f[..., [k for k, c in enumerate(chans) if c[1] == 0]]
    parts = []
    for part in ("cos", "sin"):
        v = f[..., [k for k, c in enumerate(chans) if c[1:] == (1, part)]]
        cov = mean(s[..., :, None] * v[..., None, :]) - mean(s)[..., :, None] * mean(v)[..., None, :]
        parts.append(cov.reshape(*f.shape[:2], -1))
    return np.concatenate(parts, axis=-1).astype(np.float32)
