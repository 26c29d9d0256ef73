"""Training/evaluation inputs from a dataset: the same geometry and crops as inference.

Training must see patterns exactly as :func:`ferromap.pipelines.predict.predict_dataset`
shows them to the model, so both call :func:`ferromap.core.geometry.measure_geometry` and
:meth:`~ferromap.core.geometry.CropGeometry.crops`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferromap.core.geometry import CropGeometry, measure_geometry, sample_patterns
from ferromap.core.resample import window_span
from ferromap.core.stream import Buffer, Kernel, ProgressCallback, Where, run
from ferromap.io.dataset import Dataset4D


@dataclass
class Crops:
    """Model inputs of a whole dataset, flattened in row-major scan order."""

    crops: np.ndarray  # (n, S, S) float32
    geometry: CropGeometry

    @property
    def magnitude(self) -> np.ndarray:
        """``(rows, cols)`` CoM deflection from the beam centre, px."""
        return self.geometry.magnitude


def crop_geometry(
    dataset: Dataset4D,
    *,
    size: int = 64,
    model_mrad_per_px: float | None = None,
    descan: str = "plane",
    progress: ProgressCallback | None = None,
) -> CropGeometry:
    """The beam centres and crop window of a dataset (one streaming CoM pass).

    Parameters
    ----------
    dataset : Dataset4D
        The data; its ``calibration.mrad_per_px`` is resampled to ``model_mrad_per_px``.
    size : int
        Crop size.
    model_mrad_per_px : float, optional
        Sampling the model was trained at.
    descan : {"plane", "quadratic", "mean"}
        Beam-centre surface.
    progress : callable, optional
        ``progress(done, total)``.

    Returns
    -------
    CropGeometry
    """
    span = window_span(size, dataset.calibration.mrad_per_px, model_mrad_per_px)
    return measure_geometry(dataset.array(), size=size, span=span, descan=descan,
                            sample=sample_patterns(dataset.array(), read_one=dataset.pattern),
                            progress=progress)


def position_crops(dataset: Dataset4D, positions, geometry: CropGeometry) -> np.ndarray:
    """``(n, S, S)`` crops of the patterns at ``positions`` (one read each, no full pass)."""
    out = [geometry.crops(dataset.pattern(r, c)[None, None], (slice(r, r + 1), slice(c, c + 1)))
           for r, c in positions]
    return np.concatenate(out).astype(np.float32)


class CropKernel(Kernel):
    """Every pattern's model input, as a per-position buffer of ``size²`` values."""

    def __init__(self, geometry: CropGeometry):
        self.geometry = geometry
        self.buffers = (Buffer("crops", (geometry.size, geometry.size)),)

    def process(self, block: np.ndarray, where: Where) -> dict[str, np.ndarray]:
        r, c = block.shape[:2]
        size = self.geometry.size
        return {"crops": self.geometry.crops(block, where).reshape(r, c, size, size)}


def dataset_crops(
    dataset: Dataset4D,
    *,
    size: int = 64,
    model_mrad_per_px: float | None = None,
    descan: str = "plane",
    progress: ProgressCallback | None = None,
) -> Crops:
    """Crop every pattern around its beam centre (two streaming passes).

    Parameters are those of :func:`crop_geometry`.

    Returns
    -------
    Crops
    """
    g = crop_geometry(dataset, size=size, model_mrad_per_px=model_mrad_per_px, descan=descan)
    crops = run(dataset.array(), CropKernel(g), progress=progress)["crops"]
    return Crops(crops.reshape(-1, size, size), g)
