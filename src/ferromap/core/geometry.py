"""Where the beam is in every pattern: the one preprocessing step training and inference share.

1. A sample of patterns spread over the scan gives the hot pixels, the bright-field disk and
   the constant background (:class:`DetectorPlan`).
2. One streaming pass gives the CoM of every pattern, background subtracted and hot pixels
   left out.
3. The descan surface fitted to that CoM map (:func:`ferromap.core.descan.fit_descan`) is
   the beam centre at every position; the model crop is centred there, sub-pixel
   (:func:`ferromap.core.crop.model_input`).

A descan ramp, a pedestal of dark counts or a hot pixel therefore never reaches a model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ferromap.core.background import estimate_background
from ferromap.core.com import com_from_moments, com_matrix
from ferromap.core.crop import clamp_centres, model_input
from ferromap.core.descan import DescanFit, fit_descan
from ferromap.core.hotpixels import find_hot_pixels, repair_index
from ferromap.core.stream import ProgressCallback, Where, check_4d, linear_statistics, read_block
from ferromap.core.virtual import estimate_bf_disk


@dataclass
class DetectorPlan:
    """What a sample of patterns says about the detector and the beam."""

    frame_shape: tuple[int, int]
    hot_pixels: np.ndarray  # (k_row, k_col) bool
    bf_centre: tuple[float, float]
    bf_radius: float  # px
    background: float  # counts (or intensity) per pixel and pattern

    def weights(self) -> np.ndarray:
        """1 on good pixels, 0 on hot ones."""
        return np.where(self.hot_pixels, 0.0, 1.0)

    def com_matrix(self) -> np.ndarray:
        """CoM moments matrix without the hot pixels."""
        return com_matrix(self.frame_shape, self.weights())

    def background_moments(self) -> np.ndarray:
        """The ``(3,)`` moments the constant background adds to every pattern."""
        return self.background * self.com_matrix().sum(axis=0)


def sample_patterns(data, n: int = 64, read_one=None) -> np.ndarray:
    """About ``n`` patterns spread evenly over the scan, float32 ``(n, k_row, k_col)``.

    Parameters
    ----------
    data : array_like
        ``(rows, cols, k_row, k_col)``.
    n : int
        How many.
    read_one : callable, optional
        ``read_one(row, col)`` reading one pattern (e.g. :meth:`ferromap.io.Dataset4D.pattern`).
    """
    check_4d(data, "data")
    rows, cols = data.shape[:2]
    flat = np.unique(np.linspace(0, rows * cols - 1, min(n, rows * cols)).astype(int))
    rr, cc = np.divmod(flat, cols)
    if read_one is None:
        def read_one(r, c):
            return read_block(data, (slice(r, r + 1), slice(c, c + 1)))[0, 0]
    return np.stack([np.asarray(read_one(r, c), np.float32) for r, c in zip(rr, cc)])


def plan_detector(sample: np.ndarray, *, remove_hot_pixels: bool = True,
                  background: bool = True) -> DetectorPlan:
    """Hot pixels, bright-field disk and background from a sample of patterns.

    Parameters
    ----------
    sample : numpy.ndarray
        ``(n, k_row, k_col)`` patterns (:func:`sample_patterns`).
    remove_hot_pixels : bool
        Look for hot pixels (else none are assumed).
    background : bool
        Estimate the constant background (else it is taken as 0).

    Returns
    -------
    DetectorPlan
    """
    sample = np.asarray(sample, dtype=np.float32)
    if sample.ndim != 3 or len(sample) == 0:
        raise ValueError(f"sample must be a non-empty (n, k_row, k_col) stack, got {sample.shape}")
    if not np.isfinite(sample).any():
        raise ValueError(f"the {len(sample)} patterns sampled across the scan hold no finite "
                         "value (all NaN or infinite): the data cannot be read")
    frame = sample.shape[1:]
    hot = find_hot_pixels(sample) if remove_hot_pixels else np.zeros(frame, bool)
    mean = np.where(hot, np.nan, np.nanmean(sample, axis=0))
    centre, radius = estimate_bf_disk(np.nan_to_num(mean))
    level = estimate_background(mean, centre, radius) if background else 0.0
    return DetectorPlan(tuple(int(n) for n in frame), hot, centre, radius, level)


@dataclass
class CropGeometry:
    """Per-position beam centres and the crop every model input is cut with.

    Attributes
    ----------
    com : numpy.ndarray
        ``(rows, cols, 2)`` CoM in detector pixels (background subtracted; NaN: empty).
    descan : DescanFit
        The fitted descan surface: the beam centre at every position.
    span : float
        Detector pixels one crop covers (resampled to ``size``).
    size : int
        Crop side of the model.
    plan : DetectorPlan
        Hot pixels, disk and background used.
    """

    com: np.ndarray
    descan: DescanFit
    span: float
    size: int
    plan: DetectorPlan

    def __post_init__(self) -> None:
        self.centres = clamp_centres(np.nan_to_num(self.descan.surface), self.span, self.size,
                                     self.plan.frame_shape)
        self.source_index = repair_index(self.plan.hot_pixels)

    @property
    def global_com(self) -> tuple[float, float]:
        """Mean CoM over the scan, ``(row, col)``."""
        return tuple(float(v) for v in np.nanmean(self.com.reshape(-1, 2), axis=0))

    @property
    def shift(self) -> np.ndarray:
        """``(rows, cols, 2)`` CoM minus the beam centre: the specimen's deflection (px)."""
        return self.com - self.descan.surface

    @property
    def magnitude(self) -> np.ndarray:
        """``(rows, cols)`` deflection magnitude in pixels."""
        return np.hypot(self.shift[..., 0], self.shift[..., 1])

    def patterns(self, block: np.ndarray, where: Where) -> tuple[np.ndarray, np.ndarray]:
        """A ``(r, c, k_row, k_col)`` block at ``where`` as ``(r·c, k_row, k_col)`` patterns
        and their ``(r·c, 2)`` beam centres."""
        r, c = block.shape[:2]
        return block.reshape(r * c, *block.shape[2:]), self.centres[where].reshape(-1, 2)

    def inputs(self, patterns, centres: np.ndarray, xp=np):
        """Model inputs ``(n, size, size)`` of patterns with their centres (computed in the
        array namespace ``xp``, see :func:`~ferromap.core.crop.extract_crops`)."""
        return model_input(patterns, centres, self.span, self.size,
                           source_index=self.source_index, xp=xp)

    def crops(self, block: np.ndarray, where: Where):
        """Model inputs ``(r·c, size, size)`` of a ``(r, c, k_row, k_col)`` block at ``where``."""
        return self.inputs(*self.patterns(block, where))

    def crop_box(self, row: int, col: int) -> tuple[float, float, float]:
        """``(row_edge, col_edge, span)`` of the window at one position, in detector pixel
        coordinates whose pixel centres are whole numbers (for display)."""
        s = self.span / self.size
        r, c = self.centres[row, col] - self.span / 2 - s / 2
        return float(r), float(c), float(self.span)

    def to_dict(self) -> dict:
        """JSON summary (``summary.json`` records it)."""
        (br, bc), radius = self.plan.bf_centre, self.plan.bf_radius
        return {"global_com_px": list(self.global_com), "crop_span_px": round(self.span, 4),
                "crop_size_px": self.size, "background_per_px": round(self.plan.background, 6),
                "n_hot_pixels": int(self.plan.hot_pixels.sum()),
                "bf_disk": {"center_px": [br, bc], "radius_px": radius},
                "descan": self.descan.to_dict()}


def measure_geometry(
    data,
    *,
    size: int,
    span: float,
    descan: str = "plane",
    sample: np.ndarray | None = None,
    remove_hot_pixels: bool = True,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
) -> CropGeometry:
    """One streaming CoM pass and the crop geometry of a dataset.

    Parameters
    ----------
    data : array_like
        ``(rows, cols, k_row, k_col)``.
    size : int
        Model crop side.
    span : float
        Detector pixels the crop covers (:func:`ferromap.core.resample.window_span`).
    descan : {"plane", "quadratic", "mean"}
        Beam-centre surface: a fitted plane (default), a quadratic, or the global mean CoM.
    sample : numpy.ndarray, optional
        Patterns to plan from (:func:`sample_patterns`); read from ``data`` if not given.
    remove_hot_pixels : bool
        Find hot pixels and leave them out.
    progress, cancel, scheduler
        See :func:`ferromap.core.stream.run`.

    Returns
    -------
    CropGeometry

    Examples
    --------
    >>> import numpy as np
    >>> data = np.zeros((4, 5, 32, 32), np.float32)
    >>> data[..., 14:19, 15:20] = 1.0  # a disk centred at (16, 17)
    >>> g = measure_geometry(data, size=16, span=16)
    >>> g.centres[0, 0].round(3).tolist()
    [16.0, 17.0]
    """
    check_4d(data, "data")
    sample = sample_patterns(data) if sample is None else sample
    plan = plan_detector(sample, remove_hot_pixels=remove_hot_pixels)
    moments = linear_statistics(data, {"moments": plan.com_matrix()}, progress=progress,
                                cancel=cancel, scheduler=scheduler)["moments"]
    return geometry_from_moments(moments, plan, size=size, span=span, descan=descan)


def geometry_from_moments(moments: np.ndarray, plan: DetectorPlan, *, size: int, span: float,
                          descan: str = "plane") -> CropGeometry:
    """:class:`CropGeometry` from streamed CoM moments ``(rows, cols, 3)`` and a plan."""
    com = com_from_moments(moments, plan.background_moments())
    if not np.isfinite(com).any():
        raise ValueError("no pattern has any intensity above the background")
    return CropGeometry(com, fit_descan(com, order=descan), float(span), int(size), plan)
