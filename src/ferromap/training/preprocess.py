"""Training/evaluation inputs from a dataset: CoM-centred, resampled, normalised crops."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferromap.core.com import center_of_mass
from ferromap.core.crop import crop_origin, preprocess_crops
from ferromap.core.resample import window_size
from ferromap.core.shift import com_shift, magnitude_angle
from ferromap.core.stream import ProgressCallback, map_patterns
from ferromap.io.dataset import Dataset4D


@dataclass
class Crops:
    """Model inputs of a whole dataset, flattened in row-major scan order."""

    crops: np.ndarray  # (n, S, S) float32
    magnitude: np.ndarray  # (rows, cols) CoM-shift magnitude from the global CoM, px
    scan_shape: tuple[int, int]
    global_com: tuple[float, float]


@dataclass
class CropGeometry:
    """Where every pattern of a dataset is cropped (from one streaming CoM pass)."""

    global_com: tuple[float, float]
    magnitude: np.ndarray  # (rows, cols) CoM-shift magnitude from the global CoM, px
    window: int  # detector pixels cropped, resampled to ``size``
    origin: tuple[int, int]
    size: int


def crop_geometry(
    dataset: Dataset4D,
    *,
    size: int = 64,
    model_mrad_per_px: float | None = None,
    progress: ProgressCallback | None = None,
) -> CropGeometry:
    """The global CoM, the CoM-shift magnitude map and the crop window of a dataset.

    Parameters
    ----------
    dataset : Dataset4D
        The data; its ``calibration.mrad_per_px`` is resampled to ``model_mrad_per_px``.
    size : int
        Crop size.
    model_mrad_per_px : float, optional
        Sampling the model was trained at.
    progress : callable, optional
        ``progress(done, total)``.

    Returns
    -------
    CropGeometry
    """
    com = center_of_mass(dataset.data, progress=progress)
    global_com = tuple(float(v) for v in np.nanmean(com.reshape(-1, 2), axis=0))
    magnitude, _ = magnitude_angle(com_shift(com, reference="mean"))
    win = window_size(size, dataset.calibration.mrad_per_px, model_mrad_per_px)
    return CropGeometry(global_com, magnitude, win,
                        crop_origin(global_com, win, dataset.frame_shape), size)


def position_crops(dataset: Dataset4D, positions, geometry: CropGeometry) -> np.ndarray:
    """``(n, S, S)`` crops of the patterns at ``positions`` (one read each, no full pass)."""
    g = geometry
    return np.stack([preprocess_crops(dataset.pattern(r, c)[None], g.origin, g.window, g.size)[0]
                     for r, c in positions]).astype(np.float32)


def dataset_crops(
    dataset: Dataset4D,
    *,
    size: int = 64,
    model_mrad_per_px: float | None = None,
    progress: ProgressCallback | None = None,
) -> Crops:
    """Crop every pattern around the dataset's global CoM (two streaming passes).

    Parameters are those of :func:`crop_geometry`.

    Returns
    -------
    Crops
    """
    g = crop_geometry(dataset, size=size, model_mrad_per_px=model_mrad_per_px)

    def kernel(block):
        return preprocess_crops(block, g.origin, g.window, size).reshape(len(block), -1)

    flat = map_patterns(dataset.data, kernel, size * size, progress=progress)
    return Crops(flat.reshape(-1, size, size), g.magnitude, dataset.scan_shape, g.global_com)
