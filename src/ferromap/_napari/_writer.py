"""napari writer: a polarization labels layer → TIFF (class indices) + PNG with legend."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_polarization(path: str, data: np.ndarray, meta: dict) -> list[str]:
    """Write ``NAME.tif`` (uint8 class indices, 255 = not classified) and ``NAME.png``.

    The PNG shows the map in the fixed class colours with a legend (name and arrow).
    """
    from matplotlib.figure import Figure

    from ferromap.classes import KNN8, ClassSet
    from ferromap.io.writers import write_tiff
    from ferromap.plotting import draw_class_legend, label_rgb, save_figure

    classes_dict = meta.get("metadata", {}).get("ferromap", {}).get("classes")
    classes = ClassSet.from_dict(classes_dict) if classes_dict else KNN8
    base = Path(path)
    base = base.with_suffix("") if base.suffix.lower() in (".tif", ".tiff", ".png") else base
    labels = np.asarray(data).astype(np.uint8)
    units = meta.get("units") or [""]
    step = (meta.get("scale") or [None])[-1] if "nanomet" in str(units[-1]) or str(
        units[-1]) == "nm" else None
    tif = write_tiff(base.with_suffix(".tif"), labels, pixel_nm=step)
    fig = Figure(figsize=(7, 4.5), dpi=120, layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[1, 0.35])
    ax = fig.add_subplot(grid[0])
    ax.imshow(label_rgb(labels, classes), interpolation="nearest")
    ax.set(title=meta.get("name", "polarization"), xlabel="scan col (px)", ylabel="scan row (px)")
    draw_class_legend(fig.add_subplot(grid[1]), classes)
    png = save_figure(fig, base.with_suffix(".png"))
    return [str(tif), str(png)]
