"""Stream per-pattern kernels over a 4-D dataset, block by block (in the shape of LiberTEM's UDFs).

A :class:`Kernel` declares named result buffers and processes one block of patterns at a
time, knowing where the block sits in the scan:

* ``"nav"`` buffers hold one value (or a small array) per scan position;
* ``"sum"`` and ``"max"`` buffers are reduced over all blocks (e.g. mean patterns per lattice
  phase, or the mean and maximum pattern of a region).

:func:`run` owns reading, threading, progress and cancel, for numpy arrays (memmaps stream
without a copy), h5py/zarr datasets, dask arrays and a ``distributed.Client`` alike, so every
kernel runs on every executor. Memory holds a few blocks at a time whatever the dataset size.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice

import numpy as np

from ferromap.errors import Cancelled

ProgressCallback = Callable[[int, int], None]
Where = tuple[slice, slice]
TARGET_CHUNK_BYTES = 32 * 2**20
#: Patterns a model reads at a time inside a block (a 32 MiB block holds thousands of small
#: patterns): their crops, symmetry copies and the model's buffers stay small.
RUN_PATTERNS = 512
#: Bytes of one float64 or index temporary a kernel makes at a time inside a block (it makes
#: a few), whatever the size of the block and of the patterns.
RUN_BYTES = 8 * 2**20


def runs(n: int, size: int = RUN_PATTERNS) -> Iterator[slice]:
    """Slices of at most ``size`` consecutive items covering ``range(n)``."""
    if n < 0 or size < 1:
        raise ValueError(f"need n >= 0 and size >= 1, got {n}, {size}")
    return (slice(i, min(i + size, n)) for i in range(0, n, size))


def run_length(bytes_per_item: int, budget: int = RUN_BYTES) -> int:
    """Items per run when each makes a temporary of ``bytes_per_item`` (at least 1)."""
    return max(1, int(budget) // max(1, int(bytes_per_item)))


@dataclass(frozen=True)
class Buffer:
    """A named result of a kernel: per scan position (``"nav"``), or reduced over the blocks by
    a sum (``"sum"``) or a maximum (``"max"``)."""

    name: str
    shape: tuple[int, ...] = ()
    kind: str = "nav"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.kind not in ("nav", "sum", "max"):
            raise ValueError(f"buffer kind must be 'nav', 'sum' or 'max', got {self.kind!r}")


class Kernel:
    """Base class: set :attr:`buffers`, implement :meth:`process`.

    ``process(block, where)`` gets a ``(r, c, k_row, k_col)`` block of patterns in the file's
    dtype (convert inside, tile by tile) and the scan ``(rows, cols)`` slices it came from;
    it returns ``{name: array}`` with ``(r, c, *shape)`` for each ``"nav"`` buffer and
    ``shape`` for each ``"sum"`` buffer.
    """

    buffers: tuple[Buffer, ...] = ()

    def process(self, block: np.ndarray, where: Where) -> dict[str, np.ndarray]:
        raise NotImplementedError


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


def as_dask(data):
    """Wrap a 4-D array as dask with whole patterns per chunk (dask input is rechunked only
    along the detector axes, which must be whole)."""
    import dask.array as da

    check_4d(data, "data")
    if isinstance(data, da.Array):
        arr = data
    else:
        arr = da.from_array(data, chunks=scan_chunks(data.shape, np.dtype(data.dtype).itemsize))
    if len(arr.chunks[2]) > 1 or len(arr.chunks[3]) > 1:
        arr = arr.rechunk({2: -1, 3: -1})
    return arr


def check_4d(data, name: str = "data") -> None:
    """Raise a ``ValueError`` naming ``name`` unless ``data`` is a 4-D array-like."""
    shape = getattr(data, "shape", None)
    if shape is None or len(shape) != 4:
        raise ValueError(f"{name} must be a 4-D (scan_row, scan_col, k_row, k_col) array, "
                         f"got {'shape ' + str(tuple(shape)) if shape is not None else type(data)}")


def is_dask(data) -> bool:
    """Whether ``data`` is a dask collection (checked without importing dask)."""
    return type(data).__module__.startswith("dask")


def block_slices(data) -> list[Where]:
    """The ``(rows, cols)`` slices of every block, in scan order (dask: its chunks)."""
    if is_dask(data):
        edges = [np.cumsum((0, *c)) for c in data.chunks[:2]]
    else:
        rows, cols = data.shape[:2]
        cr, cc = scan_chunks(data.shape, np.dtype(data.dtype).itemsize)[:2]
        edges = [np.r_[0:rows:cr, rows], np.r_[0:cols:cc, cols]]
    return [(slice(int(r0), int(r1)), slice(int(c0), int(c1)))
            for r0, r1 in zip(edges[0][:-1], edges[0][1:])
            for c0, c1 in zip(edges[1][:-1], edges[1][1:])]


def read_block(data, where: Where) -> np.ndarray:
    """One block as a numpy array (a memmap slice stays a view of the file)."""
    block = data[where]
    if hasattr(block, "compute"):
        block = block.compute(scheduler="synchronous")
    return np.asarray(block)


def _allocate(kernel: Kernel, scan_shape: tuple[int, int]) -> dict[str, np.ndarray]:
    out = {}
    for b in kernel.buffers:
        shape = (*scan_shape, *b.shape) if b.kind == "nav" else b.shape
        fill = -np.inf if b.kind == "max" else 0
        out[b.name] = np.full(shape, fill, dtype=b.dtype)
    return out


def _merge(out: dict, kernel: Kernel, where: Where, result: dict) -> None:
    for b in kernel.buffers:
        if b.name not in result:
            raise KeyError(f"kernel {type(kernel).__name__} returned no buffer {b.name!r}")
        if b.kind == "nav":
            out[b.name][where] = result[b.name]
        elif b.kind == "max":
            np.maximum(out[b.name], result[b.name], out=out[b.name])
        else:
            out[b.name] += result[b.name]


def _threads(scheduler) -> int:
    if scheduler == "synchronous":
        return 1
    if scheduler not in (None, "threads"):
        raise ValueError(f"unknown scheduler {scheduler!r}: use 'threads', 'synchronous' or a "
                         "distributed.Client")
    return max(1, min(os.cpu_count() or 1, 8))


def run(
    data,
    kernel: Kernel,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
) -> dict[str, np.ndarray]:
    """Run ``kernel`` over every pattern of a 4-D dataset.

    Parameters
    ----------
    data : array_like
        ``(scan_row, scan_col, k_row, k_col)``: numpy (memmaps are read block by block),
        h5py/zarr datasets, or dask arrays (their chunks are the blocks).
    kernel : Kernel
        What to compute per block.
    progress : callable, optional
        ``progress(done, total)`` in blocks, from the thread that finished one.
    cancel : threading.Event, optional
        When set, no further block starts and :class:`~ferromap.errors.Cancelled` is raised.
    scheduler : {None, "threads", "synchronous"} or distributed.Client
        Local threads (default: one block per core, BLAS single-threaded inside), one thread,
        or a dask.distributed cluster (the kernel is shipped to the workers).

    Returns
    -------
    dict of numpy.ndarray
        One array per declared buffer.
    """
    check_4d(data, "data")
    if scheduler is not None and not isinstance(scheduler, str):
        return _run_distributed(data, kernel, progress, cancel, scheduler)
    from threadpoolctl import threadpool_limits

    slices = block_slices(data)
    out = _allocate(kernel, tuple(int(n) for n in data.shape[:2]))

    def one(where: Where) -> tuple[Where, dict]:
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled by the user")
        return where, kernel.process(read_block(data, where), where)

    with threadpool_limits(limits=1, user_api="blas"):
        _drive(one, slices, _threads(scheduler), lambda w, r: _merge(out, kernel, w, r),
               progress, cancel)
    return out


def _drive(one, slices, n_threads, merge, progress, cancel) -> None:
    """Run ``one`` over ``slices`` with at most ``n_threads`` blocks in flight."""
    total = len(slices)
    if n_threads == 1:
        for done, where in enumerate(slices, 1):
            merge(*one(where))
            if progress is not None:
                progress(done, total)
        return
    todo: Iterator = iter(slices)
    with ThreadPoolExecutor(n_threads) as pool:
        pending = {pool.submit(one, w) for w in islice(todo, n_threads + 1)}
        done = 0
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    merge(*fut.result())
                    done += 1
                    if progress is not None:
                        progress(done, total)
                    nxt = next(todo, None)
                    if nxt is not None and not (cancel is not None and cancel.is_set()):
                        pending.add(pool.submit(one, nxt))
            if done < total:
                raise Cancelled("cancelled by the user")
        finally:
            for fut in pending:
                fut.cancel()


def _process_packed(block: np.ndarray, kernel: Kernel, where: Where) -> dict:
    return kernel.process(np.asarray(block), where)


def _run_distributed(data, kernel, progress, cancel, client) -> dict[str, np.ndarray]:
    """The same blocks as futures on a ``distributed.Client``; progress and cancel as local."""
    from distributed import as_completed

    arr = as_dask(data)
    slices = block_slices(arr)
    out = _allocate(kernel, tuple(int(n) for n in arr.shape[:2]))
    remote_kernel = client.scatter(kernel, broadcast=True)
    futures = {}
    for where in slices:
        block = client.compute(arr[where])
        futures[client.submit(_process_packed, block, remote_kernel, where, pure=False)] = where
    try:
        for done, fut in enumerate(as_completed(futures), 1):
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled by the user")
            _merge(out, kernel, futures[fut], fut.result())
            if progress is not None:
                progress(done, len(slices))
    except BaseException:
        client.cancel(list(futures))
        raise
    return out


class LinearKernel(Kernel):
    """Detector-weighted sums ``Σ_k I_k · matrix[k, m]`` per pattern, one buffer per matrix.

    The block is converted to float32 a few patterns at a time, into one reused tile that
    stays in cache. A detector whose weights are a product ``a[row] · b[col]`` (``b`` a
    constant or the column index), but for a few pixels such as hot ones, is read from the
    tile's per-row sums: the CoM's three moments take two passes over the tile instead of
    three (:func:`_row_separable`). Every other detector column is one matrix-vector product
    over the pixel range where its weights are non-zero (a bright-field disk reads a band of
    rows, not the whole frame). A wide matrix (many detectors) is one matrix product instead.

    Parameters
    ----------
    matrices : dict of str to numpy.ndarray
        ``{name: (k_row * k_col, m) weights}``; each column is one linear detector.
    threshold : float, optional
        Pixels below it count as zero.
    xp : optional
        Another array namespace to compute in (see :func:`ferromap.core.crop.extract_crops`):
        each block is moved there whole and multiplied by the matrix in one product.
    """

    TILE_BYTES = 2 * 2**20
    MAX_VECTOR_COLUMNS = 8

    def __init__(self, matrices: dict[str, np.ndarray], threshold: float | None = None,
                 xp=None):
        self.xp = xp
        if not matrices:
            raise ValueError("matrices must name at least one detector matrix")
        self.names = list(matrices)
        parts = [np.asarray(m, np.float32).reshape(len(np.asarray(m)), -1)
                 for m in matrices.values()]
        widths = [p.shape[1] for p in parts]
        self.columns = np.ascontiguousarray(np.concatenate(parts, axis=1).T)  # one per detector
        self.support = [_support(col) for col in self.columns]
        self.unused = np.flatnonzero(~self.columns.any(axis=0))  # e.g. hot pixels
        self._separable: dict[tuple[int, int], RowSeparable | None] = {}
        self.splits = np.cumsum(widths)[:-1]
        self.threshold = threshold
        self.buffers = tuple(Buffer(n, (w,)) for n, w in zip(self.names, widths))

    def process(self, block: np.ndarray, where: Where) -> dict[str, np.ndarray]:
        r, c = block.shape[:2]
        n_px = block.shape[2] * block.shape[3]
        if n_px != self.columns.shape[1]:
            raise ValueError(f"the detector matrices have {self.columns.shape[1]} rows; the "
                             f"patterns have {n_px} pixels")
        if self.xp is not None:
            return self._split(self._process_in(self.xp, block))
        out = np.empty((r, c, len(self.columns)), np.float32)
        step = max(1, self.TILE_BYTES // (4 * n_px))
        tile = _tile((min(step, c), n_px))
        separable = self._separable_columns(tuple(block.shape[2:]))
        for i in range(r):  # row by row: a cropped or subsampled block is never copied whole
            for s in range(0, c, step):
                frames = block[i, s : s + step]
                part = tile[: len(frames)]
                np.copyto(part.reshape(frames.shape), frames, casting="unsafe")
                if self.threshold is not None:
                    part[part < self.threshold] = 0
                self._apply(part, out[i, s : s + step], separable)
        return self._split(out)

    def _separable_columns(self, frame: tuple[int, int]) -> RowSeparable | None:
        """The columns :func:`_row_separable` factors at this frame shape (``None`` when
        there are none, or the matrix is wide)."""
        if frame not in self._separable:
            wide = len(self.columns) > self.MAX_VECTOR_COLUMNS
            factors = {} if wide else {m: f for m, col in enumerate(self.columns)
                                       if (f := _row_separable(col, frame)) is not None}
            self._separable[frame] = (RowSeparable.of(factors, self.columns, frame[1])
                                      if factors else None)
        return self._separable[frame]

    def _split(self, out: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(self.names, np.split(out, self.splits, axis=-1)))

    def _process_in(self, xp, block) -> np.ndarray:
        """The block's sums computed in the namespace ``xp`` (e.g. on a GPU)."""
        r, c = block.shape[:2]
        x = xp.float32(xp.asarray(block)).reshape(r * c, -1)
        if len(self.unused):  # a pixel no detector weighs (a NaN hot pixel) never enters
            x[:, xp.asarray(self.unused)] = 0
        if self.threshold is not None:
            x = xp.where(x < self.threshold, 0.0, x)
        return xp.to_host(x @ xp.asarray(self.columns.T)).reshape(r, c, -1)

    def _apply(self, tile: np.ndarray, out: np.ndarray, separable) -> None:
        if len(self.columns) > self.MAX_VECTOR_COLUMNS:
            np.matmul(tile, self.columns.T, out=out)
            return
        for m, (lo, hi) in enumerate(self.support):
            if separable is not None and m in separable.factors:
                continue
            if lo == hi:
                out[:, m] = 0
            else:
                np.matmul(tile[:, lo:hi], self.columns[m, lo:hi], out=out[:, m])
        if separable is not None:  # last: it zeroes the exception pixels of the tile
            separable.apply(tile, out)


@dataclass(frozen=True)
class RowSeparable:
    """The row-separable columns of a :class:`LinearKernel` at one frame shape.

    ``factors[m] = (base, a)``: column ``m`` is ``a[row] · ROW_BASES[base][col]`` except at
    the ``pixels`` (the union over the columns), whose values are taken out of the tile
    before its row sums and added back with each column's own weights ``weights[:, m]``
    (a hot pixel's huge count is then never summed, so it cannot swamp the others).
    """

    factors: dict[int, tuple[int, np.ndarray]]
    pixels: np.ndarray
    weights: np.ndarray  # (len(pixels), n_columns) float32
    bases: tuple[np.ndarray, ...]  # ROW_BASES at the frame's width

    @classmethod
    def of(cls, factors: dict, columns: np.ndarray, k_col: int) -> RowSeparable:
        """From :func:`_row_separable`'s results per column, the kernel's columns and the
        frame's width."""
        pixels = np.unique(np.concatenate([f[2] for f in factors.values()]).astype(np.intp))
        return cls({m: f[:2] for m, f in factors.items()}, pixels,
                   np.ascontiguousarray(columns[:, pixels].T),
                   tuple(make(k_col) for make in ROW_BASES))

    def apply(self, tile: np.ndarray, out: np.ndarray) -> None:
        """Fill ``out[:, m]`` for every factored column from a ``(n, pixels)`` tile (whose
        exception pixels are set to zero)."""
        values = tile[:, self.pixels]
        tile[:, self.pixels] = 0
        rows = tile.reshape(-1, len(self.bases[0]))
        sums = {}  # per-row sums of the tile weighted by each base (one pass each)
        for m, (base, factor) in self.factors.items():
            if base not in sums:
                sums[base] = (rows @ self.bases[base]).reshape(len(tile), -1)
            np.matmul(sums[base], factor, out=out[:, m])
            w = self.weights[:, m]
            if w.any():
                out[:, m] += values[:, w != 0] @ w[w != 0]


_TILES = threading.local()


def _tile(shape: tuple[int, int]) -> np.ndarray:
    """This thread's float32 work tile, reused from block to block: a fresh multi-MiB array
    per block would be mapped and page-faulted anew each time."""
    tile = getattr(_TILES, "tile", None)
    if tile is None or tile.shape != shape:
        tile = _TILES.tile = np.empty(shape, np.float32)
    return tile


#: Column weightings ``b[col]`` of a row-separable detector (:func:`_row_separable`).
ROW_BASES = (lambda n: np.ones(n, np.float32), lambda n: np.arange(n, dtype=np.float32))

#: At most this fraction of a row-separable detector's pixels may break the product.
MAX_EXCEPTIONS = 0.01


def _row_separable(column: np.ndarray, frame: tuple[int, int]):
    """``(base, a, pixels)`` when a detector column, as a ``frame`` image, is
    ``a[row] · ROW_BASES[base][col]`` except at a few ``pixels`` (flat indices); ``None``
    otherwise, and for a column that is zero but for a few pixels.

    The CoM's weights ``w``, ``w·row`` and ``w·col`` (``w`` = 1 but 0 at hot pixels) are:
    the first two with a constant base, the third with the column index.
    """
    image = column.reshape(frame).astype(np.float64)
    scale = np.abs(image).max()
    if scale == 0:
        return None
    for base, make in enumerate(ROW_BASES):
        b = make(frame[1]).astype(np.float64)
        a = np.median(image[:, b != 0] / b[b != 0], axis=1)
        if not a.any():  # a detector of a few pixels: its band of rows is cheaper
            return None
        rest = (image - a[:, None] * b[None, :]).ravel()
        pixels = np.flatnonzero(np.abs(rest) > 1e-6 * scale)
        if len(pixels) <= MAX_EXCEPTIONS * rest.size:
            return base, a.astype(np.float32), pixels
    return None


def _support(column: np.ndarray) -> tuple[int, int]:
    """``(first, last + 1)`` of the non-zero entries of a weight column; ``(0, 0)`` if none."""
    nonzero = np.flatnonzero(column)
    return (int(nonzero[0]), int(nonzero[-1]) + 1) if nonzero.size else (0, 0)


def linear_statistics(
    data,
    matrices: dict[str, np.ndarray],
    *,
    threshold: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scheduler=None,
    xp=None,
) -> dict[str, np.ndarray]:
    """Per-pattern weighted sums of every named detector matrix, in one streaming pass.

    Parameters
    ----------
    data : array_like
        ``(scan_row, scan_col, k_row, k_col)``.
    matrices : dict of str to numpy.ndarray
        ``{name: (k_row * k_col, m)}``; see :func:`ferromap.core.com.com_matrix`.
    threshold : float, optional
        Pixels below it count as zero.
    progress, cancel, scheduler
        See :func:`run`.
    xp : optional
        The array namespace to compute in (:class:`LinearKernel`); numpy by default.

    Returns
    -------
    dict of numpy.ndarray
        ``{name: (scan_row, scan_col, m) float32}``.

    Examples
    --------
    >>> import numpy as np
    >>> data = np.ones((2, 3, 4, 4), np.uint16)
    >>> sums = linear_statistics(data, {"total": np.ones((16, 1))})
    >>> sums["total"][..., 0]
    array([[16., 16., 16.],
           [16., 16., 16.]], dtype=float32)
    """
    check_4d(data, "data")
    kr, kc = data.shape[2:]
    for name, m in matrices.items():
        if np.asarray(m).shape[0] != kr * kc:
            raise ValueError(f"matrix {name!r} has {np.asarray(m).shape[0]} rows; the patterns "
                             f"have {kr * kc} pixels")
    return run(data, LinearKernel(matrices, threshold, xp), progress=progress, cancel=cancel,
               scheduler=scheduler)
