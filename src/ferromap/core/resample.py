"""Resample square detector windows to another angular sampling (area weighting, numpy only)."""

from __future__ import annotations

import numpy as np


def area_matrix(n_out: int, n_in: int) -> np.ndarray:
    """``(n_out, n_in)`` weights averaging input pixels over each output pixel's footprint.

    Output pixel ``i`` covers input coordinates ``[i·s, (i+1)·s)`` with ``s = n_in / n_out``;
    each weight is the overlap length divided by ``s``. With ``n_in == n_out`` it is the
    identity.
    """
    s = n_in / n_out
    lo = np.arange(n_out)[:, None] * s
    edges = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(lo + s, edges + 1) - np.maximum(lo, edges), 0, None)
    return overlap / s


def resample_patterns(block: np.ndarray, n_out: int) -> np.ndarray:
    """Resample ``(..., n, n)`` square windows to ``(..., n_out, n_out)`` (float32)."""
    n_in = block.shape[-1]
    if block.shape[-2] != n_in:
        raise ValueError(f"expected square windows, got {block.shape[-2:]}")
    if n_in == n_out:
        return np.asarray(block, dtype=np.float32)
    w = area_matrix(n_out, n_in).astype(np.float32)
    return w @ np.asarray(block, dtype=np.float32) @ w.T


def window_size(size: int, data_mrad_per_px: float | None, model_mrad_per_px: float | None) -> int:
    """Source window (px) that covers the same angles as a ``size`` crop at the model's sampling.

    Unknown samplings (``None``) mean "same as the model": the window is ``size``.
    """
    if not data_mrad_per_px or not model_mrad_per_px:
        return size
    return max(1, int(round(size * model_mrad_per_px / data_mrad_per_px)))
