"""Atomic writers for maps: nothing half-written is ever left under the final name."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import numpy as np


def _new_file(path: Path) -> Path:
    """Create an empty, uniquely named file beside ``path`` with the mode any new file gets
    (0o666 less the umask; ``tempfile.mkstemp`` would make it 0o600, unreadable to the rest
    of a group once renamed onto ``path``)."""
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.part"
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return tmp


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
    tmp = _new_file(path)
    try:
        yield tmp
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
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FerromapError(f"cannot create the output folder {out}: "
                            f"{exc.strerror or exc}") from None
    return out


def write_tiff(path: str | Path, array: np.ndarray, *, pixel_nm: float | None = None) -> Path:
    """Write a 2-D map as an ImageJ TIFF atomically; with ``pixel_nm`` Fiji reads the pixel
    size (the scan step) and the unit (nm).

    Parameters
    ----------
    path : str or Path
        Destination.
    array : numpy.ndarray
        ``(rows, cols)`` map (uint8, uint16 or float32).
    pixel_nm : float, optional
        Scan step in nm.

    Returns
    -------
    Path
    """
    import tifffile

    array = np.ascontiguousarray(array)
    if array.ndim != 2:
        raise ValueError(f"write_tiff writes 2-D maps, got shape {array.shape}")
    kwargs = {"imagej": True, "metadata": {"axes": "YX"}}
    if pixel_nm:
        kwargs.update(resolution=(1.0 / pixel_nm, 1.0 / pixel_nm),
                      metadata={"axes": "YX", "unit": "nm"})
    if array.dtype not in (np.uint8, np.uint16, np.float32):
        array = array.astype(np.float32)
    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, array, **kwargs)
    return Path(path)


def write_hspy(path: str | Path, data: np.ndarray, *, step_nm: float | None, title: str,
               quantities: list[str], signal_type: str = "") -> Path:
    """Write per-position values as a HyperSpy/pyxem signal with calibrated navigation axes.

    Parameters
    ----------
    path : str or Path
        Destination ``.hspy`` (written with RosettaSciIO, atomically).
    data : numpy.ndarray
        ``(rows, cols, n)``: ``n`` values per scan position (the signal axis).
    step_nm : float or None
        Scan step (the navigation axes' scale; scan pixels when unknown).
    title : str
        Signal title.
    quantities : list of str
        Name of each of the ``n`` values (``metadata.Signal.quantities``).
    signal_type : str
        HyperSpy signal type (e.g. ``"beam_shift"`` for pyxem's CoM shifts).

    Returns
    -------
    Path
    """
    from rsciio.hspy import file_writer

    from ferromap import __version__

    data = np.asarray(data)
    if data.ndim != 3 or data.shape[-1] != len(quantities):
        raise ValueError(f"data must be (rows, cols, {len(quantities)}), got {data.shape}")
    unit = "nm" if step_nm else "px"
    nav = [{"name": n, "size": int(s), "scale": float(step_nm or 1.0), "offset": 0.0,
            "units": unit, "navigate": True} for n, s in zip(("y", "x"), data.shape[:2])]
    sig = {"name": "quantity", "size": int(data.shape[2]), "scale": 1.0, "offset": 0.0,
           "units": "", "navigate": False}
    signal = {"data": data, "axes": [*nav, sig], "original_metadata": {},
              "metadata": {"General": {"title": title},
                           "Signal": {"signal_type": signal_type, "quantities": quantities}},
              "attributes": {"_lazy": False}, "tmp_parameters": {}, "models": {},
              "learning_results": {}, "package_info": {"name": "ferromap",
                                                       "version": __version__}}
    path = Path(path)
    with atomic_path(path) as tmp:
        target = tmp.with_suffix(".hspy")
        file_writer(str(target), signal, show_progressbar=False)
        os.replace(target, tmp)
    return path


def write_json(path: str | Path, obj: dict) -> Path:
    """Write strict JSON atomically (NaN and infinities become ``null``, which every JSON
    parser reads)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_strict(obj), indent=2, default=_jsonable, allow_nan=False)
                       + "\n")
    return Path(path)


def _strict(value):
    """``value`` with numpy values as Python ones and non-finite floats as None."""
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    if isinstance(value, np.ndarray | np.generic):
        return _strict(value.tolist())
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
