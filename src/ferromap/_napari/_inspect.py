"""What the diffraction view shows for one scan position. No Qt: testable without a viewer."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ferromap.core.com import com_from_moments, com_matrix
from ferromap.core.stream import LinearKernel


@dataclass
class PositionView:
    """Everything drawn for one scan position (detector pixel coordinates, row down)."""

    row: int
    col: int
    pattern: np.ndarray
    com: tuple[float, float]  # (k_row, k_col) of this pattern
    beam: tuple[float, float] | None  # beam centre here: the shift vector starts at it
    crop_box: tuple[float, float, float] | None  # (row edge, col edge, span) the model sees
    mrad_per_px: float | None
    text: str
    lines: list[str] = field(default_factory=list)


@lru_cache(maxsize=4)
def _com_kernel(shape: tuple[int, int]) -> LinearKernel:
    return LinearKernel({"moments": com_matrix(shape)})


def inspect_position(dataset, row: int, col: int, maps: dict | None = None,
                     com_maps=None) -> PositionView:
    """Read one pattern and describe it: class, confidence, probabilities, anomaly, CoM shift.

    Parameters
    ----------
    dataset : Dataset4D
        Source of the pattern (one pattern is read).
    row, col : int
        Scan position.
    maps : dict, optional
        ``{name: PolarizationMaps}`` results; each adds its lines (the first also gives the
        crop box and the beam centre).
    com_maps : ComMaps, optional
        CoM results: the beam centre when there are no maps.

    Returns
    -------
    PositionView
    """
    pattern = dataset.pattern(row, col)
    moments = _com_kernel(pattern.shape).process(pattern[None, None], (slice(0, 1),) * 2)
    com = tuple(float(v) for v in com_from_moments(moments["moments"])[0, 0])
    lines = [f"position  row {row}, col {col}"]
    beam = crop = None
    for name, m in (maps or {}).items():
        if crop is None:
            crop = m.geometry.crop_box(row, col)
            beam = tuple(float(v) for v in m.geometry.centres[row, col])
        lines += _prediction_lines(name, m, row, col)
    if beam is None and com_maps is not None:
        beam = com_maps.global_com
    mrad = dataset.calibration.mrad_per_px
    if beam is not None and np.isfinite(com).all():
        dr, dc = np.subtract(com, beam)
        unit, k = ("mrad", mrad) if mrad else ("px", 1.0)
        lines.append(f"CoM shift  ({dr * k:+.3f}, {dc * k:+.3f}) {unit} (row, col)")
    return PositionView(row, col, pattern, com, beam, crop, mrad, "\n".join(lines), lines)


def _prediction_lines(name: str, maps, row: int, col: int) -> list[str]:
    names = maps.classes.names
    lab = int(maps.labels[row, col])
    if lab >= len(names):
        return [f"{name}: not classified (empty pattern)"]
    probs = maps.probs[row, col]
    order = np.argsort(probs)[::-1]
    what = "probability right" if maps.extra.get("confidence_calibrated") else "confidence"
    lines = [f"{name}: class {names[lab]}   {what} {maps.confidence[row, col]:.2f}",
             "  p: " + "  ".join(f"{names[i]} {probs[i]:.2f}" for i in order[:4]),
             f"  anomaly score {maps.anomaly[row, col]:.2f}"
             + ("  (highlighted)" if maps.anomaly_mask[row, col] else "")]
    if maps.low_info[row, col]:
        lines.append("  low information: prediction unreliable here")
    return lines
