"""Atomic writers for maps: nothing half-written is ever left under the final name."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Parameters
    ----------
    path : str or Path
        Final destination.

    Yields
    ------
    Path
        Where to write; removed if the block raises.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def prepare_output_dir(out: str | Path, names: tuple[str, ...], force: bool = False) -> Path:
    """Create ``out``; refuse to replace any of ``names`` from an earlier run unless ``force``.

    Raises
    ------
    FerromapError
        ``out`` is a file, or holds some of ``names`` and ``force`` is false.
    """
    from ferromap.errors import FerromapError

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FerromapError(f"{out} exists and is not a folder")
    clash = [n for n in names if (out / n).exists()]
    if clash and not force:
        raise FerromapError(f"{out} already holds results ({', '.join(clash[:3])}, ...)",
                            cli_hint="choose another folder or pass --force to replace them",
                            gui_hint="choose another folder, or tick 'replace earlier results'")
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_tiff(path: str | Path, array: np.ndarray, *, metadata: dict | None = None) -> Path:
    """Write a 2-D map as a TIFF atomically (ImageJ/Fiji readable)."""
    import tifffile

    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, np.ascontiguousarray(array), metadata=metadata or {})
    return Path(path)


def write_json(path: str | Path, obj: dict) -> Path:
    """Write JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=_jsonable) + "\n")
    return Path(path)


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
