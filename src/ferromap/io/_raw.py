"""Readers for arrays ferromap can open without RosettaSciIO: npy, zarr, TIFF, TIFF folders."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ferromap.errors import ReadError
from ferromap.io.dataset import Calibration
from ferromap.io.lazy import (
    FrameSource,
    MultipageTiffFrames,
    RawFrames,
    TiffFolderFrames,
    scan_chunks,
)

if TYPE_CHECKING:
    import dask.array as da

TIFF_SUFFIXES = (".tif", ".tiff")


@dataclass
class RawRead:
    """What a format reader found, before the scan shape is settled.

    ``data`` has 3 (frame stack), 4 or 5 (stack of 4-D sets) dimensions; ``n_frames`` and
    ``make`` describe frame stacks that can be laid out on any scan shape.
    """

    data: da.Array | None
    format: str
    calibration: Calibration = field(default_factory=Calibration)
    metadata: dict = field(default_factory=dict)
    frames: object | None = None  # read_range callable for frame stacks
    frame_shape: tuple[int, int] | None = None
    dtype: np.dtype | None = None
    n_frames: int = 0
    read_one: object | None = None  # (row, col) -> pattern, bypassing dask chunks

    def layout(self, scan_shape: tuple[int, int]):
        """Lay a frame stack out on ``scan_shape`` (row-major): a :class:`FrameSource` (wrapped
        in dask only when needed), or the dask array reshaped."""
        if self.frames is not None:
            source = FrameSource(scan_shape, self.frame_shape, self.dtype, self.frames)
            self.read_one = lambda r, c: source[r, c]
            return source
        self.read_one = None
        data = self.data.reshape(*scan_shape, *self.data.shape[-2:])
        return data.rechunk(scan_chunks(data.shape, data.dtype.itemsize))

    def with_shape(self, shape: tuple[int, ...]) -> RawRead:
        """Settle a frame stack whose file already knows its 4-D shape."""
        if len(shape) == 4:
            self.data = self.layout(tuple(shape[:2]))
        return self


def _natural_key(path: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def read_npy(path: Path) -> RawRead:
    """Open a ``.npy`` file lazily; C-ordered files are read frame by frame."""
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(f)
        except ValueError as exc:
            raise ReadError(f"{path}: not a valid .npy file ({exc})") from None
        offset = f.tell()
    if dtype.hasobject:
        raise ReadError(f"{path}: object arrays are not supported (they would need pickle)")
    if len(shape) not in (3, 4) or fortran:
        import dask.array as da

        mm = np.load(path, mmap_mode="r")
        return RawRead(da.from_array(mm, chunks="auto"), "npy")
    frames = RawFrames(str(path), offset, shape[-2:], dtype)
    expected = offset + int(np.prod(shape)) * dtype.itemsize
    if path.stat().st_size < expected:
        raise ReadError(f"{path}: file is truncated ({path.stat().st_size} of {expected} bytes)")
    n_frames = int(np.prod(shape[:-2]))
    from ferromap.io.sidecar import read_sidecar_calibration

    cal = read_sidecar_calibration(path) or Calibration()
    return RawRead(None, "npy", calibration=cal, frames=frames, frame_shape=tuple(shape[-2:]),
                   dtype=dtype, n_frames=n_frames).with_shape(shape)


def read_zarr(path: Path) -> RawRead:
    """Open a zarr array (or the single 3/4/5-D array inside a zarr group)."""
    import dask.array as da
    import zarr

    node = zarr.open(str(path), mode="r")
    if hasattr(node, "shape"):
        arr, name = node, ""
    else:
        arrays = [(k, v) for k, v in node.arrays() if v.ndim in (3, 4, 5)]
        if len(arrays) != 1:
            names = ", ".join(k for k, _ in arrays) or "none"
            raise ReadError(f"{path}: expected one 3-5-D array in the zarr group, found: {names}")
        name, arr = arrays[0]
    attrs = dict(arr.attrs)
    cal = Calibration.from_dict(attrs)
    if isinstance(attrs.get("metadata"), dict):
        name = name or "data"
        extra = attrs["metadata"]
    else:
        extra = {}
    raw = RawRead(da.from_zarr(arr), "zarr", calibration=cal,
                  metadata={**({"array": name} if name else {}), **extra})
    if arr.ndim == 4:
        raw.read_one = lambda r, c: arr[r, c]  # touches one zarr chunk, not a dask chunk
    return raw


def read_tiff(path: Path) -> RawRead:
    """Open a multipage TIFF (one pattern per page) or a single 3/4-D TIFF series."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        shape, dtype, n_pages = series.shape, series.dtype, len(tif.pages)
    if len(shape) < 3:
        raise ReadError(f"{path}: a single 2-D image is not a 4D-STEM dataset")
    if n_pages != int(np.prod(shape[:-2])):
        raise ReadError(f"{path}: unsupported TIFF layout {shape} in {n_pages} pages; expected "
                        "one 2-D pattern per page")
    return RawRead(None, "tiff", frames=MultipageTiffFrames(str(path)),
                   frame_shape=tuple(shape[-2:]), dtype=dtype, n_frames=n_pages).with_shape(shape)


def read_tiff_folder(path: Path) -> RawRead:
    """Open a folder holding one 2-D TIFF per scan position (natural sort = row-major)."""
    import tifffile

    files = sorted((p for p in path.iterdir() if p.suffix.lower() in TIFF_SUFFIXES),
                   key=_natural_key)
    if not files:
        raise ReadError(f"{path}: the folder holds no .tif/.tiff files")
    first = tifffile.imread(files[0])
    if first.ndim != 2:
        raise ReadError(f"{files[0]}: expected a 2-D pattern per file, got shape {first.shape}")
    raw = RawRead(None, "tiff-folder", frames=TiffFolderFrames([str(f) for f in files]),
                  frame_shape=first.shape, dtype=first.dtype, n_frames=len(files))
    side = int(round(np.sqrt(len(files))))
    raw.metadata["square_scan"] = [side, side] if side * side == len(files) else None
    return raw
