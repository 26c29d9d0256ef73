"""Detector masks drawn by hand, and the mean and maximum pattern of a region of the scan."""

from __future__ import annotations

import threading

import numpy as np

from ferromap.core.stream import Buffer, Kernel, ProgressCallback, Where, check_4d, read_block, run


def polygon_mask(frame_shape: tuple[int, int], vertices: np.ndarray) -> np.ndarray:
    """Boolean mask of the detector pixels whose centre lies inside a polygon.

    Parameters
    ----------
    frame_shape : tuple of int
        ``(k_rows, k_cols)``.
    vertices : numpy.ndarray
        ``(n, 2)`` ``(row, col)`` corners in detector pixels, n >= 3.

    Returns
    -------
    numpy.ndarray
        Boolean ``(k_rows, k_cols)``.

    Examples
    --------
    >>> polygon_mask((4, 4), [(0.5, 0.5), (0.5, 2.5), (2.5, 2.5), (2.5, 0.5)]).sum()
    np.int64(4)
    """
    from matplotlib.path import Path

    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
        raise ValueError(f"vertices must be (n >= 3, 2) (row, col) points, got shape {v.shape}")
    rr, cc = np.mgrid[0 : frame_shape[0], 0 : frame_shape[1]]
    inside = Path(v[:, ::-1]).contains_points(np.stack([cc.ravel(), rr.ravel()], 1))
    return inside.reshape(frame_shape)


class RegionKernel(Kernel):
    """Sum, maximum and count of the patterns at the positions of a scan mask."""

    def __init__(self, positions: np.ndarray, frame_shape: tuple[int, int]):
        self.positions = positions
        self.buffers = (Buffer("sum", frame_shape, "sum", "float64"),
                        Buffer("max", frame_shape, "max", "float64"),
                        Buffer("count", (), "sum", "float64"))

    def process(self, block: np.ndarray, where: Where) -> dict[str, np.ndarray]:
        sel = self.positions[where]
        if not sel.any():
            zeros = np.zeros(block.shape[2:])
            return {"sum": zeros, "max": np.full(block.shape[2:], -np.inf), "count": 0.0}
        patterns = block[sel].astype(np.float64)
        return {"sum": patterns.sum(axis=0), "max": patterns.max(axis=0),
                "count": float(len(patterns))}


def region_patterns(
    data,
    positions: np.ndarray,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean and maximum pattern over the scan positions where ``positions`` is true.

    Only the scan rows that hold a selected position are read.

    Parameters
    ----------
    data : array_like
        ``(rows, cols, k_row, k_col)``.
    positions : numpy.ndarray
        ``(rows, cols)`` boolean selection (a rectangle, a class of a label map, ...).
    progress, cancel, scheduler
        See :func:`ferromap.core.stream.run`.

    Returns
    -------
    mean, maximum : numpy.ndarray
        ``(k_row, k_col)`` float64.
    count : int
        Positions averaged.

    Examples
    --------
    >>> import numpy as np
    >>> data = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2)
    >>> sel = np.zeros((2, 3), bool); sel[:, 0] = True
    >>> mean, top, n = region_patterns(data, sel)
    >>> n, mean.tolist(), top.tolist()
    (2, [[6.0, 7.0], [8.0, 9.0]], [[12.0, 13.0], [14.0, 15.0]])
    """
    check_4d(data, "data")
    positions = np.asarray(positions, dtype=bool)
    if positions.shape != tuple(data.shape[:2]):
        raise ValueError(f"positions has shape {positions.shape}; the scan is "
                         f"{tuple(data.shape[:2])}")
    if not positions.any():
        raise ValueError("the region holds no scan position")
    rows, cols = np.nonzero(positions)
    box = (slice(int(rows.min()), int(rows.max()) + 1), slice(int(cols.min()), int(cols.max()) + 1))
    if positions[box].all() and positions.sum() <= 4096 and scheduler is None:
        patterns = read_block(data, box).astype(np.float64)  # a small rectangle: one read
        flat = patterns.reshape(-1, *patterns.shape[2:])
        return flat.mean(axis=0), flat.max(axis=0), len(flat)
    sub = data[box[0]]  # only the scan rows that hold the region are read (a view)
    out = run(sub, RegionKernel(positions[box[0]], tuple(data.shape[2:])), progress=progress,
              cancel=cancel, scheduler=scheduler)
    n = int(out["count"])
    return out["sum"] / n, out["max"], n
