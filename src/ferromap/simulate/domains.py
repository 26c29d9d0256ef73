"""Multi-domain maps composed from single-direction scans over the same grid."""

from __future__ import annotations

import numpy as np


def compose(scans: list[np.ndarray], truth: np.ndarray) -> np.ndarray:
    """Take each position's pattern from the scan that ``truth`` names.

    Parameters
    ----------
    scans : list of numpy.ndarray
        Same-shape ``(rows, cols, k_row, k_col)`` scans, one per domain.
    truth : numpy.ndarray
        ``(rows, cols)`` index into ``scans`` per position.

    Returns
    -------
    numpy.ndarray
        The composed ``(rows, cols, k_row, k_col)`` map.
    """
    stack = np.stack(scans)
    if truth.shape != stack.shape[1:3]:
        raise ValueError(f"truth map {truth.shape} does not match the scans {stack.shape[1:3]}")
    rows, cols = np.indices(truth.shape)
    return stack[truth, rows, cols]


def halves(shape: tuple[int, int], left: int, right: int, wall_col: int | None = None) -> np.ndarray:
    """Truth map with a vertical domain wall: ``left`` label before ``wall_col``, ``right`` after."""
    wall = shape[1] // 2 if wall_col is None else wall_col
    truth = np.full(shape, left, dtype=np.uint8)
    truth[:, wall:] = right
    return truth
