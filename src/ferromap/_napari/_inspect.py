"""What the diffraction view shows for one scan position. No Qt: testable without a viewer."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ferromap.core.com import com_from_moments, com_matrix
from ferromap.core.stream import linear_kernel


@dataclass
class PositionView:
    """Everything drawn for one scan position."""

    row: int
    col: int
    pattern: np.ndarray
    com: tuple[float, float]  # (k_row, k_col) of this pattern
    reference: tuple[float, float] | None  # global CoM: the shift vector starts here
    crop_box: tuple[int, int, int] | None  # (row0, col0, size) the model sees
    text: str


@lru_cache(maxsize=4)
def _com_kernel(shape: tuple[int, int]):
    return linear_kernel(com_matrix(shape))


def inspect_position(dataset, row: int, col: int, maps=None, global_com=None) -> PositionView:
    """Read one pattern and describe it (class, confidence, per-class probabilities, anomaly).

    Parameters
    ----------
    dataset : Dataset4D
        Source of the pattern (one pattern is read).
    row, col : int
        Scan position.
    maps : PolarizationMaps, optional
        Inference results for the text panel and the crop box.
    global_com : tuple of float, optional
        Reference centre for the shift vector (maps.global_com when maps is given).

    Returns
    -------
    PositionView
    """
    pattern = dataset.pattern(row, col)
    moments = _com_kernel(pattern.shape)(pattern[None])  # one pattern: no dask
    com = tuple(float(v) for v in com_from_moments(moments)[0])
    lines = [f"position  row {row}, col {col}"]
    crop = None
    if maps is not None:
        global_com = maps.global_com
        crop = (*maps.extra["crop_origin_px"], maps.extra["crop_window_px"])
        lines += _prediction_lines(maps, row, col)
    if global_com is not None and np.isfinite(com).all():
        shift = np.subtract(com, global_com)
        lines.append(f"CoM shift  ({shift[0]:+.2f}, {shift[1]:+.2f}) px (row, col)")
    return PositionView(row, col, pattern, com, global_com, crop, "\n".join(lines))


def _prediction_lines(maps, row: int, col: int) -> list[str]:
    names = maps.classes.names
    lab = int(maps.labels[row, col])
    if lab >= len(names):
        return ["class  not classified (empty pattern)"]
    probs = maps.probs[row, col]
    order = np.argsort(probs)[::-1]
    lines = [f"class  {names[lab]}   confidence {maps.confidence[row, col]:.2f}",
             "probabilities  " + "  ".join(f"{names[i]} {probs[i]:.2f}" for i in order[:4]),
             f"anomaly score  {maps.anomaly[row, col]:.2f}"
             + ("  (highlighted)" if maps.anomaly_mask[row, col] else "")]
    if maps.low_info[row, col]:
        lines.append("low information (between columns): prediction unreliable")
    return lines
