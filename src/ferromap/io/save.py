"""Save 4D-STEM arrays (simulations, conversions) with calibration and optional labels.

``.zarr``: a group with ``data`` (4-D), optional ``labels`` (uint8, scan shape) and the
calibration/metadata as attributes of ``data``. ``.npy``: the array plus ``NAME.json``
(calibration, metadata) and ``NAME.labels.npy`` beside it. :func:`ferromap.io.open_4dstem`
reads both back with their calibration; :func:`ferromap.io.sidecar.read_label_map` reads
the labels.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from ferromap.io.dataset import Calibration
from ferromap.io.writers import atomic_path


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name[: -len(path.suffix)] + suffix)


def save_4dstem(
    path: str | Path,
    data: np.ndarray,
    *,
    calibration: Calibration = Calibration(),
    labels: np.ndarray | None = None,
    metadata: dict | None = None,
) -> Path:
    """Write ``(rows, cols, k_row, k_col)`` data to ``.zarr`` or ``.npy`` (atomically).

    Parameters
    ----------
    path : str or Path
        Destination ending in ``.zarr`` or ``.npy``.
    data : numpy.ndarray
        The 4-D array.
    calibration : Calibration
        Stored with the data.
    labels : numpy.ndarray, optional
        ``(rows, cols)`` uint8 class map (255 = not classified).
    metadata : dict, optional
        JSON-serialisable extra information.

    Returns
    -------
    Path
    """
    path = Path(path)
    if data.ndim != 4:
        raise ValueError(f"expected (rows, cols, k_row, k_col) data, got {data.shape}")
    if labels is not None and labels.shape != data.shape[:2]:
        raise ValueError(f"labels {labels.shape} do not match the scan {data.shape[:2]}")
    attrs = {**calibration.to_dict(), "metadata": json.loads(json.dumps(metadata or {}))}
    if path.suffix == ".zarr":
        return _save_zarr(path, data, labels, attrs)
    if path.suffix == ".npy":
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, data)
        if labels is not None:
            with atomic_path(_sidecar(path, ".labels.npy")) as tmp, open(tmp, "wb") as f:
                np.save(f, labels.astype(np.uint8))
        with atomic_path(_sidecar(path, ".json")) as tmp:
            tmp.write_text(json.dumps(attrs, indent=2))
        return path
    raise ValueError(f"{path.name}: save to a .zarr folder or a .npy file")


def _save_zarr(path: Path, data: np.ndarray, labels, attrs: dict) -> Path:
    import zarr

    tmp = path.with_name(f".{path.name}.part")
    shutil.rmtree(tmp, ignore_errors=True)
    root = zarr.open_group(str(tmp), mode="w")
    arr = root.create_array("data", shape=data.shape, dtype=data.dtype,
                            chunks=(1, data.shape[1], *data.shape[2:]))
    arr[:] = data
    arr.attrs.update(attrs)
    if labels is not None:
        root.create_array("labels", shape=labels.shape, dtype=np.uint8)[:] = labels
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    return path
