"""Files stored beside (or inside) a dataset by :func:`ferromap.io.save.save_4dstem`: the
label map and the calibration sidecar of ``.npy`` files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ferromap.errors import ReadError
from ferromap.io.dataset import Calibration


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name[: -len(path.suffix)] + suffix)


def read_sidecar_calibration(path: Path) -> Calibration | None:
    """Calibration from ``NAME.json`` beside a ``.npy`` file, if there is one."""
    side = _sidecar(path, ".json")
    if not side.exists():
        return None
    try:
        attrs = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return Calibration.from_dict(attrs)


def read_label_map(path: str | Path) -> np.ndarray:
    """The ``(rows, cols)`` uint8 label map stored with a dataset (``save_4dstem``)."""
    path = Path(path)
    if path.suffix == ".zarr" or path.is_dir():
        import zarr

        group = zarr.open_group(str(path), mode="r")
        if "labels" in group:
            return np.asarray(group["labels"][:])
    elif _sidecar(path, ".labels.npy").exists():
        return np.load(_sidecar(path, ".labels.npy"))
    raise ReadError(f"{path.name}: no labels stored with this dataset")
