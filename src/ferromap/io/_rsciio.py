"""Readers that go through RosettaSciIO (Merlin, DM, blockfile, EMPAD, arina, EMD) and h5py."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from ferromap.errors import ReadError, UnsupportedFormatError
from ferromap.io._raw import RawRead
from ferromap.io.dataset import Calibration, electron_wavelength_angstrom

RSCIIO_MODULES = {
    ".mib": ("quantumdetector", "mib"),
    ".dm3": ("digitalmicrograph", "dm"),
    ".dm4": ("digitalmicrograph", "dm"),
    ".blo": ("blockfile", "blo"),
    ".xml": ("empad", "empad"),
}
HDF5_SUFFIXES = (".h5", ".hdf5", ".emd", ".hdf")

# Reciprocal units -> factor to 1/Å; angular units -> factor to mrad.
_RECIPROCAL = {"1/nm": 0.1, "1 / nm": 0.1, "nm^-1": 0.1, "1/a": 1.0, "1 / a": 1.0,
               "1/å": 1.0, "1 / å": 1.0, "å^-1": 1.0, "a^-1": 1.0}
_ANGULAR = {"mrad": 1.0, "rad": 1000.0, "µrad": 1e-3, "urad": 1e-3}


def _tem(metadata: dict, key: str) -> float | None:
    value = metadata.get("Acquisition_instrument", {}).get("TEM", {}).get(key)
    try:
        return float(value) if value else None
    except (TypeError, ValueError):
        return None


def _beam_energy(metadata: dict) -> float | None:
    return _tem(metadata, "beam_energy")


def calibration_from_axes(axes: list[dict], metadata: dict) -> Calibration:
    """Translate RosettaSciIO axes (numpy order) into a :class:`Calibration`.

    Parameters
    ----------
    axes : list of dict
        RosettaSciIO axis dictionaries; the last two are the detector axes.
    metadata : dict
        RosettaSciIO metadata (the beam energy is read from it).

    Returns
    -------
    Calibration
        ``mrad_per_px`` is set for angular units, or for reciprocal units when the energy is
        known; ``scan_step_nm`` when the scan axes are in nm or Å.
    """
    energy = _beam_energy(metadata)
    sig = axes[-1]
    units = str(sig.get("units") or "").strip().lower()
    scale = float(sig.get("scale", 1.0))
    mrad = None
    if units in _ANGULAR:
        mrad = scale * _ANGULAR[units]
    elif units in _RECIPROCAL and energy:
        mrad = scale * _RECIPROCAL[units] * electron_wavelength_angstrom(energy) * 1e3
    step = None
    if len(axes) >= 4:
        nav = axes[-3]
        nav_units = str(nav.get("units") or "").strip().lower()
        factor = {"nm": 1.0, "å": 0.1, "a": 0.1, "µm": 1e3, "um": 1e3}.get(nav_units)
        step = float(nav.get("scale", 1.0)) * factor if factor else None
    return Calibration(mrad_per_px=mrad, scan_step_nm=step, energy_kev=energy,
                       semiangle_mrad=_tem(metadata, "convergence_angle"))


def read_with_rsciio(path: Path, module: str, fmt: str, dataset: int | str | None) -> RawRead:
    """Open ``path`` lazily with ``rsciio.<module>``; pick the 3-5-D signal."""
    reader = importlib.import_module(f"rsciio.{module}").file_reader
    try:
        signals = reader(str(path), lazy=True)
    except NotImplementedError as exc:
        raise UnsupportedFormatError(f"{path.name}: unsupported {fmt} variant: {exc}") from None
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ReadError(f"{path.name}: cannot read as {fmt}: {exc}") from None
    candidates = [s for s in signals if 3 <= np.ndim(s["data"]) <= 5]
    if not candidates:
        shapes = ", ".join(str(tuple(s["data"].shape)) for s in signals) or "none"
        raise ReadError(f"{path.name}: no 3-D, 4-D or 5-D dataset in the file (found {shapes})")
    if len(candidates) > 1:
        if not isinstance(dataset, int) or not 0 <= dataset < len(candidates):
            choices = "; ".join(f"{i}: shape {tuple(s['data'].shape)}"
                                for i, s in enumerate(candidates))
            raise ReadError(f"{path.name} holds several datasets; pass dataset=INDEX ({choices})")
        candidates, dataset = [candidates[dataset]], None
    sig = candidates[0]
    import dask.array as da

    data = sig["data"] if isinstance(sig["data"], da.Array) else da.from_array(sig["data"])
    meta = sig.get("metadata", {})
    title = meta.get("General", {}).get("title", "")
    raw = RawRead(data, fmt, calibration_from_axes(sig["axes"], meta),
                  metadata={"title": title} if title else {})
    raw.metadata["axes"] = [str(a.get("name") or "") for a in sig["axes"]]
    if fmt == "mib":
        frames = mib_frames(path, tuple(data.shape))
        if frames is not None:  # bounded-memory streaming and one-frame reads
            raw.frames, raw.frame_shape = frames, tuple(data.shape[-2:])
            raw.dtype, raw.n_frames = frames.dtype, int(np.prod(data.shape[:-2]))
            if data.ndim == 4:
                raw.data = raw.layout(tuple(data.shape[:2]))
    return raw


_MIB_DTYPES = {"U01": ">u1", "U08": ">u1", "U16": ">u2", "U32": ">u4"}


def mib_frames(path: Path, data_shape: tuple[int, ...]):
    """A strided frame reader for a Merlin ``.mib`` (rows flipped as RosettaSciIO does).

    Returns ``None`` when the header is not the plain ``MQ1`` layout this reader knows; the
    caller then keeps RosettaSciIO's own lazy array.
    """
    from ferromap.io.lazy import RawFrames

    with open(path, "rb") as f:
        head = f.read(768).decode("ascii", errors="replace").split(",")
    try:
        if head[0] != "MQ1":
            return None
        header, cols, rows, kind = int(head[2]), int(head[4]), int(head[5]), head[6].strip()
    except (IndexError, ValueError):
        return None
    if kind not in _MIB_DTYPES or tuple(data_shape[-2:]) != (rows, cols):
        return None
    dtype = np.dtype(_MIB_DTYPES[kind])
    n_frames = int(np.prod(data_shape[:-2]))
    if path.stat().st_size < n_frames * (header + rows * cols * dtype.itemsize):
        return None
    return RawFrames(str(path), 0, (rows, cols), dtype, header=header, flip_rows=True)


def _h5_datasets(path: Path) -> list[tuple[str, tuple[int, ...]]]:
    import h5py

    found: list[tuple[str, tuple[int, ...]]] = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: found.append((name, obj.shape))
                     if isinstance(obj, h5py.Dataset) and 3 <= obj.ndim <= 5 else None)
    return found


def read_hdf5(path: Path, dataset: int | str | None) -> RawRead:
    """Open EMD/py4DSTEM files through RosettaSciIO, other HDF5 files by dataset path."""
    import h5py
    import hdf5plugin  # noqa: F401  (registers the compression filters arina and others use)

    if path.name.endswith("_master.h5"):
        return read_with_rsciio(path, "arina", "arina", dataset)
    if not isinstance(dataset, str):
        try:
            return read_with_rsciio(path, "emd", "emd", dataset)
        except UnsupportedFormatError:
            raise
        except (ReadError, AttributeError):
            pass  # not an EMD layout RosettaSciIO knows: fall back to plain HDF5
    found = _h5_datasets(path)
    names = [n for n, _ in found]
    if isinstance(dataset, str):
        if dataset not in names:
            raise ReadError(f"{path.name}: no dataset {dataset!r}; choices: {', '.join(names)}")
        name = dataset
    elif len(found) == 1:
        name = names[0]
    else:
        listing = "; ".join(f"{n} {s}" for n, s in found) or "none"
        raise ReadError(f"{path.name}: pass dataset=NAME to choose one of the 3-5-D datasets: "
                        f"{listing}")
    h5 = h5py.File(path, "r")  # kept open by the dask graph for lazy reads
    import dask.array as da

    raw = RawRead(da.from_array(h5[name], chunks="auto"), "hdf5", metadata={"dataset": name})
    if h5[name].ndim == 4:
        raw.read_one = lambda r, c: h5[name][r, c]
    return raw
