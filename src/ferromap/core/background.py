"""The detector's constant background (dark counts, pedestal) under a diffraction pattern."""

from __future__ import annotations

import numpy as np

#: Fewer pixels than this outside the disk region: no estimate (the disk fills the frame).
MIN_PIXELS = 32


def estimate_background(
    mean_pattern: np.ndarray,
    centre: tuple[float, float],
    radius: float,
    *,
    outside: float = 2.0,
    quantile: float = 0.1,
) -> float:
    """Constant background level per pixel, from the dimmest pixels far outside the disk.

    A pedestal pulls every CoM toward the frame centre, and the crop then misses the beam;
    subtracting it first removes that. The estimate is the ``quantile`` of the mean pattern
    over the pixels farther than ``outside`` disk radii from the centre: in a clean pattern
    it is the faint diffuse floor, with dark counts it is that floor plus the dark level.

    Parameters
    ----------
    mean_pattern : numpy.ndarray
        ``(k_rows, k_cols)`` mean of many patterns (hot pixels set to NaN or excluded).
    centre : tuple of float
        ``(row, col)`` of the bright-field disk.
    radius : float
        Bright-field disk radius in pixels.
    outside : float
        Pixels beyond ``outside × radius`` count (at least 4 px beyond the disk edge).
    quantile : float
        Quantile of those pixels' mean values.

    Returns
    -------
    float
        The level (0 when fewer than :data:`MIN_PIXELS` pixels lie that far out).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.full((64, 64), 0.5); p[28:36, 28:36] = 100.0
    >>> estimate_background(p, (31.5, 31.5), 4.5)
    0.5
    """
    p = np.asarray(mean_pattern, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"mean_pattern must be 2-D, got shape {p.shape}")
    if not 0 <= quantile <= 1 or radius < 0:
        raise ValueError("quantile must be in [0, 1] and radius >= 0")
    rr, cc = np.mgrid[0 : p.shape[0], 0 : p.shape[1]]
    far = np.hypot(rr - centre[0], cc - centre[1]) > max(outside * radius, radius + 4)
    values = p[far & np.isfinite(p)]
    if values.size < MIN_PIXELS:
        return 0.0
    return float(max(np.quantile(values, quantile), 0.0))
