"""Lazy, sliceable sources of diffraction frames and the chunking rule.

A source is a numpy-like object of shape ``(rows, cols, k_row, k_col)`` whose ``__getitem__``
reads only the frames a slice touches. ``dask.array.from_array`` fuses slices into it, so one
pattern costs one small read (click-to-inspect) while a full pass streams chunk by chunk.
Sources hold paths, not open handles, so they pickle to dask.distributed workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ferromap.core.stream import scan_chunks

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["FrameSource", "MultipageTiffFrames", "RawFrames", "TiffFolderFrames", "scan_chunks"]

def _normalise_key(key, shape: Sequence[int]) -> tuple[list, list[bool]]:
    """Expand ``key`` to one slice per axis; remember which axes were integer-indexed."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (len(shape) - len(key) + 1) + key[i + 1 :]
    key = key + (slice(None),) * (len(shape) - len(key))
    slices, dropped = [], []
    for k, n in zip(key, shape):
        if isinstance(k, (int, np.integer)):
            k = int(k) + n if k < 0 else int(k)
            if not 0 <= k < n:
                raise IndexError(f"index {k} out of range for axis of size {n}")
            slices.append(slice(k, k + 1, 1))
            dropped.append(True)
        elif isinstance(k, slice):
            slices.append(slice(*k.indices(n)))
            dropped.append(False)
        else:
            raise TypeError(f"unsupported index {k!r}: use integers and slices")
    return slices, dropped


class FrameSource:
    """Numpy-like 4-D view over a store of frames addressed by flat, row-major index.

    Parameters
    ----------
    scan_shape : tuple of int
        ``(rows, cols)``; ``rows * cols`` frames are addressed in row-major order.
    frame_shape : tuple of int
        ``(k_rows, k_cols)``.
    dtype : numpy dtype
        Element type of the frames.
    read_range : callable
        ``read_range(start, stop) -> ndarray (stop - start, k_rows, k_cols)``.
    """

    def __init__(
        self,
        scan_shape: tuple[int, int],
        frame_shape: tuple[int, int],
        dtype,
        read_range: Callable[[int, int], np.ndarray],
    ) -> None:
        self.shape = (*scan_shape, *frame_shape)
        self.dtype = np.dtype(dtype)
        self.ndim = 4
        self._read_range = read_range

    def __getitem__(self, key) -> np.ndarray:
        (rs, cs, ks0, ks1), dropped = _normalise_key(key, self.shape)
        cols = self.shape[1]
        rows_out = []
        for r in range(rs.start, rs.stop, rs.step):
            lo, hi = cs.start, cs.stop
            if lo >= hi:
                frames = np.empty((0, *self.shape[2:]), self.dtype)
            else:
                frames = self._read_range(r * cols + lo, r * cols + hi)[:: cs.step]
            rows_out.append(frames[:, ks0, ks1])
        out = np.stack(rows_out) if rows_out else np.empty((0, 0, 0, 0), self.dtype)
        index = tuple(0 if d else slice(None) for d in dropped)
        return np.ascontiguousarray(out[index]).astype(self.dtype, copy=False)

    def to_dask(self, chunks: tuple[int, ...] | None = None) -> da.Array:
        """Wrap as a dask array with the default chunking rule."""
        import dask.array as da

        chunks = chunks or scan_chunks(self.shape, self.dtype.itemsize)
        meta = np.empty((0, 0, 0, 0), self.dtype)
        return da.from_array(self, chunks=chunks, asarray=False, fancy=False, meta=meta)


class RawFrames:
    """Frames stored at a fixed stride in a binary file (``.npy`` body, Merlin ``.mib``, dumps).

    Frame ``i`` starts at ``offset + i * stride + header`` bytes. Each read uses
    ``numpy.fromfile`` for just the frames asked for, so memory is held only for the frames
    being processed, never for the whole file.

    Parameters
    ----------
    path : str
        The file.
    offset : int
        Bytes before the first frame record.
    frame_shape : tuple of int
        ``(k_rows, k_cols)``.
    dtype : numpy dtype
        Element type as stored (may be big-endian).
    header : int, optional
        Bytes of per-frame header before each frame's data.
    flip_rows : bool, optional
        Reverse the row order of every frame (Merlin stores rows bottom-up).
    """

    def __init__(self, path: str, offset: int, frame_shape: tuple[int, int], dtype,
                 header: int = 0, flip_rows: bool = False) -> None:
        self.path, self.offset = str(path), int(offset)
        self.frame_shape, self.dtype = tuple(frame_shape), np.dtype(dtype)
        self.frame_size = int(np.prod(self.frame_shape))
        self.header, self.flip_rows = int(header), flip_rows
        self.record = np.dtype([("header", np.uint8, (self.header,)),
                                ("data", self.dtype, (self.frame_size,))]) if header else None

    def __call__(self, start: int, stop: int) -> np.ndarray:
        n = stop - start
        if self.record is None:
            offset = self.offset + start * self.frame_size * self.dtype.itemsize
            flat = np.fromfile(self.path, dtype=self.dtype, count=n * self.frame_size,
                               offset=offset)
            ok = flat.size == n * self.frame_size
        else:
            recs = np.fromfile(self.path, dtype=self.record, count=n,
                               offset=self.offset + start * self.record.itemsize)
            ok, flat = len(recs) == n, recs["data"]
        if not ok:
            raise OSError(f"{self.path}: file is truncated (frames {start}..{stop - 1} missing)")
        frames = flat.reshape(n, *self.frame_shape)
        return frames[:, ::-1] if self.flip_rows else frames


class TiffFolderFrames:
    """One 2-D TIFF file per scan position, in the given (row-major) order."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = [str(p) for p in paths]

    def __call__(self, start: int, stop: int) -> np.ndarray:
        import tifffile

        return np.stack([tifffile.imread(p) for p in self.paths[start:stop]])


class MultipageTiffFrames:
    """Pages of one multipage TIFF; the file handle is opened lazily per process."""

    def __init__(self, path: str) -> None:
        self.path = str(path)
        self._tif = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"])

    def __call__(self, start: int, stop: int) -> np.ndarray:
        import tifffile

        with self._lock:
            if self._tif is None:
                self._tif = tifffile.TiffFile(self.path)
            return np.stack([self._tif.pages[i].asarray() for i in range(start, stop)])
