"""Write polarization maps: the ``ferromap predict`` file contract (docs/conventions.md).

Every file is written atomically (temporary file + rename). Rule for existing folders:
a folder that already holds any of these files is refused unless ``force=True``, so results
of another run are never silently overwritten (the CLI's ``--force``).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ferromap.io.writers import (
    atomic_path,
    prepare_output_dir,
    write_hspy,
    write_json,
    write_tiff,
)
from ferromap.pipelines.predict import PolarizationMaps

CONTRACT_FILES = ("labels.tif", "confidence.tif", "anomaly.tif", "anomaly_mask.tif",
                  "polarization.png", "predictions.csv", "summary.json", "maps.h5", "maps.hspy",
                  "com_shift.hspy")


def check_output_dir(out: Path, force: bool = False) -> Path:
    """Create ``out``; refuse if it holds results of another run and ``force`` is false."""
    return prepare_output_dir(out, CONTRACT_FILES, force)


def _csv_text(maps: PolarizationMaps) -> str:
    rows, cols = maps.labels.shape
    rr, cc = np.mgrid[0:rows, 0:cols]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["row", "col", "class", "confidence"])
    names = list(maps.classes.names)
    for r, c, lab, conf in zip(rr.ravel(), cc.ravel(), maps.labels.ravel(),
                               maps.confidence.ravel()):
        w.writerow([r, c, names[lab] if lab < len(names) else "", f"{conf:.4f}"])
    return buf.getvalue()


def write_h5_bundle(path: Path, maps: PolarizationMaps, summary: dict) -> Path:
    """All maps in one plain HDF5 file (h5py, HDFView, Fiji's HDF5 plugin, hyperspy's h5py)."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name in ("labels", "confidence", "probs", "distance", "magnitude", "anomaly"):
            f.create_dataset(name, data=getattr(maps, name), compression="gzip")
        f.create_dataset("low_information", data=maps.low_info.astype(np.uint8))
        f.create_dataset("anomaly_mask", data=maps.anomaly_mask.astype(np.uint8))
        if maps.periodic_z is not None:
            f.create_dataset("lattice_residual_z", data=maps.periodic_z, compression="gzip")
        f.create_dataset("com_shift_px", data=maps.geometry.shift.astype(np.float32),
                         compression="gzip")
        f.create_dataset("beam_centre_px", data=maps.geometry.centres.astype(np.float32),
                         compression="gzip")
        f.attrs["classes"] = list(maps.classes.names)
        f.attrs["class_angles_deg"] = [np.nan if a is None else a for a in maps.classes.angles_deg]
        f.attrs["axes"] = "(scan_row, scan_col[, class or (row, col)]); rows increase downward"
        f.attrs["scan_step_nm"] = maps.scan_step_nm or np.nan
        f.attrs["scan_step_units"] = "nm" if maps.scan_step_nm else "unknown (scan pixels)"
        for key, value in summary.items():
            if isinstance(value, (int, float, str)) and value is not None:
                f.attrs[key] = value
    return path


def export_maps(maps: PolarizationMaps, out: str | Path, *, force: bool = False,
                source: str | None = None) -> list[Path]:
    """Write every file of the ``ferromap predict`` contract into ``out``.

    Parameters
    ----------
    maps : PolarizationMaps
        Results of :func:`ferromap.inference.predict_dataset`.
    out : str or Path
        Output folder.
    force : bool
        Replace the files of an earlier run.
    source : str, optional
        Dataset path, recorded in ``summary.json``.

    Returns
    -------
    list of Path
        The files written.
    """
    from ferromap.plotting import save_polarization_map

    out = check_output_dir(Path(out), force)
    summary = {**maps.summary(), **({"source": source} if source else {})}
    step = maps.scan_step_nm
    written = [
        write_tiff(out / "labels.tif", maps.labels.astype(np.uint8), pixel_nm=step),
        write_tiff(out / "confidence.tif", maps.confidence.astype(np.float32), pixel_nm=step),
        write_tiff(out / "anomaly.tif", maps.anomaly.astype(np.float32), pixel_nm=step),
        write_tiff(out / "anomaly_mask.tif", maps.anomaly_mask.astype(np.uint8), pixel_nm=step),
        save_polarization_map(out / "polarization.png", maps),
    ]
    with atomic_path(out / "predictions.csv") as tmp:
        tmp.write_text(_csv_text(maps))
    written.append(out / "predictions.csv")
    written.append(write_json(out / "summary.json", summary))
    written.append(write_h5_bundle(out / "maps.h5", maps, summary))
    written += write_signals(out, maps)
    return written


def write_signals(out: Path, maps: PolarizationMaps) -> list[Path]:
    """``maps.hspy`` (label, confidence, anomaly, probabilities per position) and
    ``com_shift.hspy`` (CoM minus beam centre, detector px, row then col), both with
    the scan step on their navigation axes."""
    names = list(maps.classes.names)
    stack = np.concatenate([maps.labels[..., None].astype(np.float32),
                            maps.confidence[..., None], maps.anomaly[..., None],
                            maps.probs], axis=-1)
    return [
        write_hspy(out / "maps.hspy", stack, step_nm=maps.scan_step_nm,
                   title=f"ferromap polarization ({maps.model})",
                   quantities=["label (255 = not classified)", "confidence", "anomaly",
                               *[f"P({n})" for n in names]]),
        write_hspy(out / "com_shift.hspy", maps.geometry.shift.astype(np.float32),
                   step_nm=maps.scan_step_nm, title="CoM shift from the beam centre (px)",
                   quantities=["shift_row (px)", "shift_col (px)"]),
    ]


COM_FILES = ("com_row.tif", "com_col.tif", "magnitude.tif", "angle.tif", "virtual_bf.tif",
             "virtual_adf.tif", "com.png", "com.json", "com.hspy")


def export_com_maps(maps, out: str | Path, *, force: bool = False,
                    dataset: dict | None = None, figures=None) -> list[Path]:
    """Write the ``ferromap com`` files: TIFFs with the scan step, the colour-wheel picture,
    ``com.json`` and ``com.hspy`` (shift row/col, magnitude, angle, virtual BF/ADF per
    position, calibrated navigation axes).

    Parameters
    ----------
    maps : ComMaps
        From :func:`ferromap.pipelines.com.compute_com_maps`.
    out : str or Path
        Output folder.
    force : bool
        Replace the files of an earlier run.
    dataset : dict, optional
        The dataset's description, recorded in ``com.json``.
    figures : FigureWorker, optional
        Draws ``com.png`` in its child process while the other files are written
        (:class:`ferromap.figure_worker.FigureWorker`); drawn here by default.

    Returns
    -------
    list of Path
    """
    out = prepare_output_dir(Path(out), COM_FILES, force)
    step = maps.scan_step_nm
    units = "mrad" if maps.mrad_per_px else "px"
    arrays = {"com_row": maps.shift[..., 0], "com_col": maps.shift[..., 1],
              "magnitude": maps.magnitude, "angle": maps.angle_deg,
              "virtual_bf": maps.virtual_bf, "virtual_adf": maps.virtual_adf}
    picture = {"scan_step_nm": step, "magnitude_units": units, "title": "CoM shift"}
    if figures is not None:
        figures.send(out / "com.png", maps.angle_deg, maps.magnitude, **picture)
    written = [write_tiff(out / f"{name}.tif", a.astype(np.float32), pixel_nm=step)
               for name, a in arrays.items()]
    written.append(write_json(out / "com.json", {"dataset": dataset or {}, **maps.summary()}))
    stack = np.stack([a.astype(np.float32) for a in arrays.values()], axis=-1)
    written.append(write_hspy(out / "com.hspy", stack, step_nm=step, title="ferromap CoM maps",
                              quantities=[f"shift_row ({units})", f"shift_col ({units})",
                                          f"magnitude ({units})", "angle (deg CCW from +col)",
                                          "virtual BF", "virtual ADF"]))
    if figures is None:
        from ferromap.plotting import save_direction_map

        written.append(save_direction_map(out / "com.png", maps.angle_deg, maps.magnitude,
                                          **picture))
    else:
        written.append(figures.result())
    return written
