"""The model's view of a pattern: a square window centred on the beam, resampled, normalised.

One function, :func:`extract_crops`, serves training and inference alike. Output pixel ``i``
of a ``size``-pixel crop is centred at ``centre + (i - size/2)·s`` detector pixels, with
``s = span/size``, and averages the detector over its footprint (area weighting, exact for
any sampling ratio and any sub-pixel centre). So pixel ``size/2`` of the crop is the beam
centre, which is the point the crystal's symmetry operations act about
(:mod:`ferromap.models.symmetry`).

The centre is the beam's position in each pattern: the scan's mean CoM, or the fitted descan
surface at that position (:mod:`ferromap.core.descan`). A beam that descan moved towards the
frame edge still gets its window centred on it: the window may overhang the frame by up to
:data:`MAX_OVERHANG` of its width, the missing outer pixels repeating the frame's edge (they
hold the faintest, highest-angle intensity); beyond that it is clamped into the frame.

(The published ``crop_around_corrected_com`` mirrored the centre about the frame centre,
putting the beam off by twice its offset; ``tests/core/test_crop.py`` checks that ours does
not.)
"""

from __future__ import annotations

import numpy as np

from ferromap.core.stream import run_length, runs

#: How far a window may reach beyond the frame, as a fraction of its width, before it is
#: clamped (5 px for a 64-px window).
MAX_OVERHANG = 0.08


def _host_runs(crop, block, centres: np.ndarray, size: int, length: int) -> np.ndarray:
    """``crop(patterns, centres)`` over runs of ``length`` patterns, into one
    ``(n, size, size)`` float32 array."""
    out = np.empty((len(centres), size, size), np.float32)
    for part in runs(len(centres), length):
        out[part] = crop(block[part], centres[part])
    return out


def _run_length(span: float) -> int:
    """Patterns cropped at a time on the host: a crop's pixel indices take 8 bytes for each
    detector pixel its window reads (35 kB a pattern for a 66-px window, 0.5 MB for 256 px),
    too much for a whole block of thousands (a GPU namespace takes the block whole)."""
    width = int(np.ceil(span)) + 2
    return run_length(8 * width * width)


def overhang_px(span: float) -> float:
    """Detector pixels a ``span``-pixel window may reach beyond each frame edge."""
    return MAX_OVERHANG * span


def clamp_centres(centres: np.ndarray, span: float, size: int,
                  frame_shape: tuple[int, int]) -> np.ndarray:
    """Move window centres so that each window overhangs the frame by at most
    :func:`overhang_px`.

    Parameters
    ----------
    centres : numpy.ndarray
        ``(..., 2)`` ``(row, col)`` beam centres in detector pixels.
    span : float
        Detector pixels the window covers.
    size : int
        Crop side.
    frame_shape : tuple of int
        ``(k_rows, k_cols)``.

    Returns
    -------
    numpy.ndarray
        Clamped centres, float64.
    """
    extra = overhang_px(span)
    if span > min(frame_shape) + 2 * extra:
        raise ValueError(f"a {span:.1f}-px window does not fit the {frame_shape[0]}×"
                         f"{frame_shape[1]} px patterns")
    s = span / size
    out = np.array(centres, dtype=np.float64)
    for axis, n in enumerate(frame_shape):
        lo = -0.5 - extra + span / 2 + s / 2  # window [c - span/2 - s/2, + span)
        hi = n - 0.5 + extra - span / 2 + s / 2
        out[..., axis] = np.clip(out[..., axis], lo, hi)
    return out


def _axis_weights(starts, first, s: float, size: int, width: int, xp=np):
    """``(n, size, width)`` float32 area weights along one axis.

    Output pixel ``i`` covers ``[start + i·s, start + (i+1)·s)``; input pixel ``first + j``
    covers ``[first + j - 0.5, first + j + 0.5)``. ``starts`` and ``first`` are ``(n,)``
    float64 arrays of the namespace ``xp``.
    """
    lo = starts[:, None, None] + xp.arange(size)[None, :, None] * s
    j = (first[:, None] + xp.arange(width)[None])[:, None, :]
    overlap = xp.minimum(lo + s, j + 0.5) - xp.maximum(lo, j - 0.5)
    return xp.float32(xp.clip(overlap, 0.0, None) / s)


def extract_crops(
    block,
    centres: np.ndarray,
    span: float,
    size: int,
    *,
    source_index: np.ndarray | None = None,
    xp=np,
):
    """Cut a ``size × size`` window of ``span`` detector pixels around each pattern's centre.

    Parameters
    ----------
    block : array
        ``(n, k_row, k_col)`` patterns, any numeric dtype: a numpy array, or an array of the
        namespace ``xp``.
    centres : numpy.ndarray
        ``(n, 2)`` sub-pixel ``(row, col)`` beam centres (:func:`clamp_centres` is applied).
    span : float
        Detector pixels the window covers (``size × model_mrad / data_mrad``).
    size : int
        Output side.
    source_index : numpy.ndarray, optional
        ``(k_row, k_col)`` flat pixel index to read each pixel from, e.g. a neighbour instead
        of a hot pixel (:func:`ferromap.core.hotpixels.repair_index`).
    xp : module-like, optional
        The array namespace the arithmetic runs in: numpy, or an object with numpy's names
        for another library's arrays (:class:`ferromap.models.device.TorchNamespace` runs it
        on a GPU). The block is moved into it with ``xp.asarray``.

    Returns
    -------
    array
        ``(n, size, size)`` float32 of the namespace ``xp`` (not normalised).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.zeros((1, 8, 8)); p[0, 3, 5] = 1.0
    >>> crop = extract_crops(p, np.array([[3.0, 5.0]]), 4, 4)
    >>> np.argwhere(crop[0] == 1).tolist()  # the centre lands on pixel (size/2, size/2)
    [[2, 2]]
    """
    if not hasattr(block, "shape"):
        block = np.asarray(block)
    if len(block.shape) != 3:
        raise ValueError(f"block must be (n, k_row, k_col), got shape {tuple(block.shape)}")
    n, kr, kc = (int(v) for v in block.shape)
    centres = np.asarray(centres, dtype=np.float64)
    if centres.shape != (n, 2):
        raise ValueError(f"centres must be ({n}, 2), got {centres.shape}")
    if xp is np and n > _run_length(span):
        return _host_runs(lambda b, c: extract_crops(b, c, span, size,
                                                     source_index=source_index),
                          block, centres, size, _run_length(span))
    c = clamp_centres(centres, span, size, (kr, kc))
    s = span / size
    width = int(np.ceil(span)) + 2
    starts = c - span / 2 - s / 2
    first = np.floor(starts + 0.5)  # the first input pixel along each axis
    rows = np.clip(first[:, :1] + np.arange(width), 0, kr - 1).astype(np.intp)
    cols = np.clip(first[:, 1:] + np.arange(width), 0, kc - 1).astype(np.intp)
    starts, first, rows, cols = (xp.asarray(a) for a in (starts, first, rows, cols))
    wr = _axis_weights(starts[:, 0], first[:, 0], s, size, width, xp)
    wc = _axis_weights(starts[:, 1], first[:, 1], s, size, width, xp)
    flat_idx = rows[:, :, None] * kc + cols[:, None, :]
    if source_index is not None:
        flat_idx = xp.asarray(np.asarray(source_index).ravel())[flat_idx]
    block = xp.asarray(block)
    sub = xp.take_along_axis(block.reshape(n, kr * kc), flat_idx.reshape(n, -1), axis=1)
    sub = xp.float32(sub.reshape(n, width, width))
    return (wr @ sub) @ wc.swapaxes(1, 2)


def minmax_normalize(block, xp=np):
    """Scale each pattern of ``(..., k_row, k_col)`` to [0, 1] in float32.

    Constant patterns become zeros; non-finite pixels become 0 before scaling. ``xp`` is the
    array namespace (see :func:`extract_crops`).
    """
    x = xp.nan_to_num(xp.float32(xp.asarray(block)), nan=0.0, posinf=0.0, neginf=0.0)
    lo = xp.amin(x, axis=(-2, -1), keepdims=True)
    span = xp.amax(x, axis=(-2, -1), keepdims=True) - lo
    return xp.where(span > 0, (x - lo) / xp.where(span > 0, span, 1), 0.0)


def model_input(block, centres: np.ndarray, span: float, size: int, *,
                source_index: np.ndarray | None = None, xp=np):
    """What a model sees: :func:`extract_crops`, then min-max normalised to [0, 1].

    Parameters are those of :func:`extract_crops`.

    Returns
    -------
    array
        ``(n, size, size)`` float32 in [0, 1], of the namespace ``xp``.
    """
    if xp is np and len(centres) > _run_length(span):
        return _host_runs(lambda b, c: model_input(b, c, span, size,
                                                   source_index=source_index),
                          block, np.asarray(centres), size, _run_length(span))
    crops = extract_crops(block, centres, span, size, source_index=source_index, xp=xp)
    return minmax_normalize(crops, xp)
