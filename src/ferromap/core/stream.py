"""Stream a per-pattern kernel over a 4-D array block by block (LiberTEM-style).

A kernel maps a block of patterns ``(n, k_row, k_col)`` to per-pattern results ``(n, m)``.
:func:`map_patterns` runs it over numpy or dask input, one chunk at a time, so memory holds
only a few chunks whatever the dataset size; results land in a ``(rows, cols, m)`` buffer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import dask.array as da
import numpy as np

from ferromap.errors import Cancelled

ProgressCallback = Callable[[int, int], None]
Kernel = Callable[[np.ndarray], np.ndarray]
TARGET_CHUNK_BYTES = 32 * 2**20


def scan_chunks(
    shape: tuple[int, ...], itemsize: int, target_bytes: int = TARGET_CHUNK_BYTES
) -> tuple[int, int, int, int]:
    """Chunk shape for a 4-D dataset: whole patterns, whole scan rows when they fit.

    Parameters
    ----------
    shape : sequence of int
        ``(rows, cols, k_rows, k_cols)``.
    itemsize : int
        Bytes per element.
    target_bytes : int, optional
        Approximate bytes per chunk.

    Returns
    -------
    tuple of int
        Chunk shape; the detector axes are never split.
    """
    rows, cols, kr, kc = (int(n) for n in shape)
    per_chunk = max(1, target_bytes // max(1, kr * kc * itemsize))
    if per_chunk >= cols:
        return (max(1, min(rows, per_chunk // cols)), cols, kr, kc)
    return (1, per_chunk, kr, kc)


def as_dask(data) -> da.Array:
    """Wrap a 4-D numpy/dask array as dask with whole patterns per chunk."""
    if isinstance(data, da.Array):
        arr = data
    else:
        arr = np.asarray(data) if not hasattr(data, "shape") else data
        if arr.ndim != 4:
            raise ValueError(f"expected a 4-D (scan_row, scan_col, k_row, k_col) array, "
                             f"got {arr.shape}")
        arr = da.from_array(arr, chunks=scan_chunks(arr.shape, arr.dtype.itemsize))
    if arr.ndim != 4:
        raise ValueError(f"expected a 4-D (scan_row, scan_col, k_row, k_col) array, got {arr.shape}")
    if len(arr.chunks[2]) > 1 or len(arr.chunks[3]) > 1:
        arr = arr.rechunk({2: -1, 3: -1})
    return arr


def _apply(block: np.ndarray, kernel: Kernel, n_out: int) -> np.ndarray:
    r, c = block.shape[:2]
    out = kernel(block.reshape(r * c, *block.shape[2:]))
    return np.asarray(out, dtype=np.float32).reshape(r, c, n_out)


def compute(
    arr: da.Array,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
) -> np.ndarray:
    """Compute a dask array, reporting ``progress(done, total)`` per finished task.

    Parameters
    ----------
    arr : dask.array.Array
        What to compute.
    progress : callable, optional
        Called as ``progress(done, total)`` from the scheduler thread.
    cancel : threading.Event, optional
        When set, the computation stops and :class:`~ferromap.errors.Cancelled` is raised.
    scheduler : optional
        A dask scheduler name (``"threads"``, ``"synchronous"``) or a
        ``distributed.Client``; the default is the threaded scheduler.

    Returns
    -------
    numpy.ndarray
        The computed result.
    """
    from dask.callbacks import Callback
    from threadpoolctl import threadpool_limits

    class _Report(Callback):
        def _start_state(self, dsk, state):
            self.total = max(1, sum(len(state[k]) for k in ("ready", "waiting", "running")))
            self.done = 0

        def _pretask(self, key, dsk, state):
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled by the user")

        def _posttask(self, key, result, dsk, state, worker_id):
            self.done += 1
            if progress is not None:
                progress(min(self.done, self.total), self.total)

    if scheduler is not None and not isinstance(scheduler, str):
        return np.asarray(scheduler.compute(arr).result())  # a distributed.Client
    with _Report(), threadpool_limits(limits=1, user_api="blas"):
        return np.asarray(arr.compute(scheduler=scheduler or "threads"))


def map_patterns(
    data,
    kernel: Kernel,
    n_out: int,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
) -> np.ndarray:
    """Apply ``kernel`` to every pattern of a 4-D array, chunk by chunk.

    Parameters
    ----------
    data : array_like or dask.array.Array
        ``(scan_row, scan_col, k_row, k_col)``.
    kernel : callable
        ``kernel(block (n, k_row, k_col)) -> (n, n_out)``.
    n_out : int
        Results per pattern.
    progress, cancel, scheduler
        See :func:`compute`.

    Returns
    -------
    numpy.ndarray
        ``float32`` array ``(scan_row, scan_col, n_out)``.
    """
    arr = as_dask(data)
    out = arr.map_blocks(
        _apply, kernel, n_out, dtype=np.float32, drop_axis=(2, 3), new_axis=2,
        chunks=(*arr.chunks[:2], (n_out,)),
    )
    return compute(out, progress=progress, cancel=cancel, scheduler=scheduler)


def linear_kernel(matrix: np.ndarray, threshold: float | None = None) -> Kernel:
    """Kernel computing ``pattern.ravel() @ matrix`` (detector-weighted sums) in float32.

    Parameters
    ----------
    matrix : numpy.ndarray
        ``(k_row * k_col, m)`` weights: each column is one linear detector.
    threshold : float, optional
        Pixels below it count as zero (applied before the product).

    Returns
    -------
    callable
        A kernel for :func:`map_patterns`.
    """
    weights = np.ascontiguousarray(matrix, dtype=np.float32)

    def kernel(block: np.ndarray) -> np.ndarray:
        flat = block.reshape(len(block), -1).astype(np.float32, copy=False)
        if threshold is not None:
            flat = np.where(flat >= threshold, flat, np.float32(0))
        return flat @ weights

    return kernel


def linear_statistics(
    data,
    matrix: np.ndarray,
    *,
    threshold: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
) -> np.ndarray:
    """Per-pattern weighted sums ``Σ_k I_k · matrix[k, m]`` in one streaming pass.

    Parameters
    ----------
    data : array_like or dask.array.Array
        ``(scan_row, scan_col, k_row, k_col)``.
    matrix : numpy.ndarray
        ``(k_row * k_col, m)``; see :func:`ferromap.core.com.com_matrix`.
    threshold : float, optional
        Pixels below it count as zero.
    progress, cancel, scheduler
        See :func:`compute`.

    Returns
    -------
    numpy.ndarray
        ``(scan_row, scan_col, m)`` float32; non-finite patterns give non-finite sums.
    """
    kr, kc = data.shape[2:]
    if matrix.shape[0] != kr * kc:
        raise ValueError(f"matrix has {matrix.shape[0]} rows; the patterns have {kr * kc} pixels")
    return map_patterns(data, linear_kernel(matrix, threshold), matrix.shape[1],
                        progress=progress, cancel=cancel, scheduler=scheduler)
