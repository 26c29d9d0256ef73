"""`open_4dstem`: one entry point for every format, returning a lazy :class:`Dataset4D`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferromap.errors import ReadError, UnsupportedFormatError
from ferromap.io._raw import (
    TIFF_SUFFIXES,
    RawRead,
    read_npy,
    read_tiff,
    read_tiff_folder,
    read_zarr,
)
from ferromap.io._rsciio import HDF5_SUFFIXES, RSCIIO_MODULES, read_hdf5, read_with_rsciio
from ferromap.io.dataset import Dataset4D
from ferromap.io.lazy import scan_chunks

SUPPORTED = (".npy", ".zarr", *TIFF_SUFFIXES, *HDF5_SUFFIXES, *RSCIIO_MODULES)


def _is_zarr(path: Path) -> bool:
    return path.suffix == ".zarr" or any(
        (path / marker).exists() for marker in (".zarray", ".zgroup", "zarr.json")
    )


def _read(path: Path, dataset: int | str | None) -> RawRead:
    suffix = path.suffix.lower()
    if path.is_dir():
        return read_zarr(path) if _is_zarr(path) else read_tiff_folder(path)
    if suffix == ".npy":
        return read_npy(path)
    if suffix in TIFF_SUFFIXES:
        return read_tiff(path)
    if suffix in HDF5_SUFFIXES:
        return read_hdf5(path, dataset)
    if suffix in RSCIIO_MODULES:
        module, fmt = RSCIIO_MODULES[suffix]
        return read_with_rsciio(path, module, fmt, dataset)
    raise UnsupportedFormatError(
        f"{path.name}: unsupported file type {suffix or '(none)'}; ferromap reads "
        f"{', '.join(SUPPORTED)} and folders of per-position TIFFs"
    )


def _check_scan_shape(scan_shape) -> tuple[int, int]:
    try:
        rows, cols = (int(n) for n in scan_shape)
    except (TypeError, ValueError):
        raise ReadError(f"scan_shape must be two integers (rows, cols), got {scan_shape!r}") from None
    if rows < 1 or cols < 1:
        raise ReadError(f"the scan shape must be two positive numbers of positions, got "
                        f"{rows} x {cols}")
    return rows, cols


def _settle_stack(raw: RawRead, path: Path, scan_shape) -> RawRead:
    """Give a 3-D frame stack its scan shape, or explain what to pass."""
    n = raw.n_frames if raw.frames is not None else int(raw.data.shape[0])
    if scan_shape is None:
        square = raw.metadata.get("square_scan")
        if square is None:
            raise ReadError(
                f"{path.name} is a stack of {n} frames with no scan shape (ROWS × COLS = {n})",
                cli_hint="pass --scan-shape ROWS COLS",
                gui_hint="in the ferromap panel (Plugins > ferromap > Polarization mapping), "
                         "set 'scan rows' and 'scan cols' and open it with 'or open file'",
                py_hint="pass scan_shape=(ROWS, COLS)")
        scan_shape = tuple(square)
    rows, cols = _check_scan_shape(scan_shape)
    if rows * cols != n:
        raise ReadError(f"scan shape {rows}x{cols} = {rows * cols} positions does not match the "
                        f"{n} frames in {path.name}")
    raw.data = raw.layout((rows, cols))
    return raw


def _select_5d(raw: RawRead, path: Path, dataset) -> RawRead:
    n = raw.data.shape[0]
    if not isinstance(dataset, int) or not 0 <= dataset < n:
        names = raw.metadata.get("axes") or []
        axis = f" along '{names[0]}'" if names and names[0] else ""
        choices = ", ".join(str(i) for i in range(n))
        raise ReadError(f"{path.name} holds {n} 4-D datasets{axis} of shape "
                        f"{tuple(raw.data.shape[1:])} (index {choices})",
                        cli_hint="pass --dataset INDEX",
                        gui_hint="in the ferromap panel (Plugins > ferromap > Polarization "
                                 "mapping), type the index in 'dataset (files with several)' "
                                 "and open it with 'or open file'",
                        py_hint=f"pass dataset=INDEX, one of {choices}")
    raw.data = raw.data[dataset]
    raw.read_one = None
    raw.metadata["dataset_index"] = dataset
    return raw


def open_4dstem(
    path: str | Path,
    *,
    scan_shape: tuple[int, int] | None = None,
    dataset: int | str | None = None,
) -> Dataset4D:
    """Open a 4D-STEM dataset lazily, oriented ``(scan_row, scan_col, k_row, k_col)``.

    Parameters
    ----------
    path : str or Path
        A file (``.mib``, ``.dm4``, ``.blo``, EMPAD ``.xml``, arina ``*_master.h5``,
        ``.emd``/``.h5`` including py4DSTEM, ``.zarr``, ``.npy``, multipage ``.tif``) or a
        folder of one 2-D TIFF per scan position in row-major order.
    scan_shape : tuple of int, optional
        ``(rows, cols)`` for frame stacks (3-D files, TIFF folders that are not square), or
        to re-lay a 4-D file whose header has the wrong shape.
    dataset : int or str, optional
        Which dataset to open when the file holds several: an index (5-D stacks, several
        signals; a string of digits, as typed, is one) or an HDF5 dataset path.

    Returns
    -------
    Dataset4D
        Lazy data (nothing read yet) with the calibration the file carries.

    Raises
    ------
    ReadError
        Missing file, unreadable content, or a shape that needs ``scan_shape``/``dataset``.
    UnsupportedFormatError
        A file type or variant ferromap cannot read (e.g. Merlin RAW mode).
    """
    if isinstance(dataset, str):  # as typed on a command line or in a text box
        dataset = int(dataset) if dataset.strip().isdigit() else (dataset.strip() or None)
    path = Path(path).expanduser()
    if not path.exists():
        raise ReadError(f"{path}: no such file or folder")
    try:
        raw = _read(path, dataset)
    except (OSError, EOFError) as exc:
        raise ReadError(f"{path.name}: cannot read: {exc}") from None
    if raw.data is None or raw.data.ndim == 3:
        raw = _settle_stack(raw, path, scan_shape)
    elif raw.data.ndim == 5:
        raw = _select_5d(raw, path, dataset)
    if raw.data.ndim != 4:
        raise ReadError(f"{path.name}: expected 3, 4 or 5 dimensions, got shape {raw.data.shape}")
    if scan_shape is not None and tuple(raw.data.shape[:2]) != tuple(scan_shape):
        rows, cols = _check_scan_shape(scan_shape)
        if rows * cols != raw.data.shape[0] * raw.data.shape[1]:
            raise ReadError(f"scan shape {rows}x{cols} does not match the file's "
                            f"{raw.data.shape[0]}x{raw.data.shape[1]} positions")
        raw.data = raw.layout((rows, cols))
    data = raw.data  # dask, or a frame reader wrapped in dask only when needed
    if raw.frames is None:
        data = data.rechunk(scan_chunks(data.shape, data.dtype.itemsize))
    if not data.dtype.isnative:
        data = (data if raw.frames is None else data.to_dask()).astype(
            data.dtype.newbyteorder("="))
    return Dataset4D(data, raw.calibration, str(path), raw.format, raw.metadata, raw.read_one,
                     stream=_npy_stream(path, raw, data))


def _npy_stream(path: Path, raw, data):
    """A C-ordered native ``.npy`` as a read-only memmap of the dataset's shape: streaming
    kernels then read its blocks as views of the file (no dask graph, no copy)."""
    if raw.format != "npy" or raw.frames is None or not data.dtype.isnative:
        return None
    mm = np.load(path, mmap_mode="r")
    if mm.dtype != data.dtype or mm.size != int(np.prod(data.shape)):
        return None
    return mm.reshape(data.shape)


def can_open(path: str | Path) -> bool:
    """Cheap check (no reading) whether :func:`open_4dstem` may handle ``path``."""
    path = Path(path)
    if path.is_dir():
        return _is_zarr(path) or any(p.suffix.lower() in TIFF_SUFFIXES for p in path.iterdir())
    return path.suffix.lower() in SUPPORTED


__all__ = ["open_4dstem", "can_open", "SUPPORTED"]
