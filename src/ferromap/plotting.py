"""Pictures of maps with their legend (matplotlib, Agg backend, no GUI)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from ferromap.classes import NOT_CLASSIFIED, ClassSet
from ferromap.colour import angle_to_rgb, class_colours
from ferromap.io.writers import atomic_path


def _figure():
    """The map figure: a fixed layout (a layout engine would double the drawing time)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(8.0, 4.6), dpi=120)


def _map_grid(fig, legend_width: float, wspace: float = 0.45):
    """Two square scan maps and a legend column, margins fixed for their labels."""
    return fig.add_gridspec(1, 3, width_ratios=[1, 1, legend_width], left=0.07, right=0.99,
                            bottom=0.1, top=0.9, wspace=wspace)


def _colorbar_axes(ax):
    """A colour bar's axes just right of a map, leaving the map its full size."""
    return ax.inset_axes((1.04, 0.1, 0.05, 0.8))


def _scan_extent(shape: tuple[int, int], step_nm: float | None) -> tuple[list[float], str]:
    rows, cols = shape
    step = step_nm or 1.0
    return [-0.5 * step, (cols - 0.5) * step, (rows - 0.5) * step, -0.5 * step], (
        "nm" if step_nm else "scan px"
    )


def _whole_positions(unit: str, *axes) -> None:
    """Ticks on whole scan positions when the axes count positions (no scan step)."""
    from matplotlib.ticker import MaxNLocator

    if unit == "scan px":
        for ax in axes:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def draw_colour_wheel(ax, labels: dict[float, str] | None = None) -> None:
    """Draw the direction colour wheel with angle labels into ``ax`` (a legend)."""
    n = 256
    yy, xx = np.mgrid[-1 : 1 : n * 1j, -1 : 1 : n * 1j]
    radius = np.hypot(xx, yy)
    angle = np.rad2deg(np.arctan2(-yy, xx))  # image rows grow downward: up = -row
    rgb = angle_to_rgb(angle, np.clip(radius, 0, 1))
    alpha = (radius <= 1).astype(float)[..., None]
    ax.imshow(np.concatenate([rgb, alpha], axis=-1), extent=[-1, 1, -1, 1], origin="upper")
    labels = labels or {0: "0° right", 90: "90° up", 180: "180° left", 270: "270° down"}
    for deg, text in labels.items():
        x, y = np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))
        ha = "left" if x > 0.3 else "right" if x < -0.3 else "center"
        va = "bottom" if y > 0.3 else "top" if y < -0.3 else "center"
        ax.text(1.1 * x, 1.1 * y, text, ha=ha, va=va, fontsize=7)  # outside the disk
    ax.set_xlim(-2.0, 2.0)
    ax.set_ylim(-1.5, 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("direction\n(brightness = |shift|)", fontsize=8)


def save_direction_map(
    path: str | Path,
    angle_deg: np.ndarray,
    magnitude: np.ndarray,
    *,
    scan_step_nm: float | None = None,
    magnitude_units: str = "px",
    title: str = "CoM shift",
) -> Path:
    """Save a colour-wheel map of vector directions, with a wheel legend and magnitude map.

    Parameters
    ----------
    path : str or Path
        PNG destination (written atomically).
    angle_deg, magnitude : numpy.ndarray
        ``(rows, cols)`` maps; NaN positions are black.
    scan_step_nm : float, optional
        Scan step for nm axes; pixel axes otherwise.
    magnitude_units : str, optional
        Unit of ``magnitude`` for the colour bar.
    title : str, optional
        Figure title.

    Returns
    -------
    Path
    """
    return save_figure(direction_map_figure(angle_deg, magnitude, scan_step_nm=scan_step_nm,
                                            magnitude_units=magnitude_units, title=title), path)


def direction_map_figure(angle_deg: np.ndarray, magnitude: np.ndarray, *,
                         scan_step_nm: float | None = None, magnitude_units: str = "px",
                         title: str = "CoM shift"):
    """The figure of :func:`save_direction_map` (same parameters), not yet saved."""
    fig = _figure()
    grid = _map_grid(fig, 0.7)
    extent, unit = _scan_extent(angle_deg.shape, scan_step_nm)
    finite = magnitude[np.isfinite(magnitude)]
    top = float(np.percentile(finite, 99)) if finite.size else 1.0
    value = np.clip(magnitude / (top or 1.0), 0, 1)
    ax = fig.add_subplot(grid[0])
    ax.imshow(angle_to_rgb(angle_deg, value), extent=extent, interpolation="nearest")
    ax.set(title=f"{title}: direction", xlabel=f"scan col ({unit})", ylabel=f"scan row ({unit})")
    ax2 = fig.add_subplot(grid[1])
    im = ax2.imshow(magnitude, extent=extent, cmap="magma", interpolation="nearest")
    ax2.set(title=f"{title}: magnitude", xlabel=f"scan col ({unit})")
    fig.colorbar(im, cax=_colorbar_axes(ax2), label=f"|shift| ({magnitude_units})")
    _whole_positions(unit, ax, ax2)
    draw_colour_wheel(fig.add_subplot(grid[2]))
    return fig


def save_figure(fig, path: str | Path) -> Path:
    """Write a matplotlib figure to PNG atomically."""
    with atomic_path(path) as tmp:  # "tight": no label or long title cut at the edge
        fig.savefig(tmp, format="png", bbox_inches="tight", pad_inches=0.15)
    return Path(path)


def label_rgb(labels: np.ndarray, classes: ClassSet, dim: np.ndarray | None = None) -> np.ndarray:
    """RGB image of a label map in the fixed class colours; 255 is white, ``dim`` is faded."""
    colours = np.vstack([class_colours(classes), np.ones((256 - len(classes), 3))])
    rgb = colours[labels.astype(np.int64)]
    rgb[labels == NOT_CLASSIFIED] = 1.0
    if dim is not None:
        rgb[dim] = 0.35 + 0.45 * rgb[dim]  # pale: low-information positions
    return rgb


def draw_class_legend(ax, classes: ClassSet) -> None:
    """Legend: a colour swatch, the class name and an arrow for its direction."""
    from matplotlib.patches import Rectangle

    colours = class_colours(classes)
    n = len(classes)
    for i, (name, angle) in enumerate(zip(classes.names, classes.angles_deg)):
        y = n - i
        ax.add_patch(Rectangle((0, y - 0.4), 0.8, 0.8, color=colours[i]))
        ax.text(1.1, y, name, va="center", fontsize=8)
        if angle is not None:
            t = np.deg2rad(angle)
            ax.annotate("", xy=(2.9 + 0.45 * np.cos(t), y + 0.45 * np.sin(t)),
                        xytext=(2.9 - 0.45 * np.cos(t), y - 0.45 * np.sin(t)),
                        arrowprops={"arrowstyle": "->", "lw": 1.2})
    ax.set_xlim(-0.2, 3.6)
    ax.set_ylim(0.2, n + 0.8)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("class (Nb shift)", fontsize=8)


def draw_outline(ax, mask: np.ndarray, step_nm: float | None = None):
    """Outline the True region of a ``(rows, cols)`` mask on a scan-map axes.

    Contour coordinates are given explicitly as (col, row) · step, so the outline sits on
    the same positions as the image whatever the axis direction (row 0 at the top).
    """
    if not mask.any():
        return None
    step = step_nm or 1.0
    rows, cols = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]] * step
    return ax.contour(cols, rows, mask.astype(float), levels=[0.5], colors="k", linewidths=1.0)


def save_polarization_map(path: str | Path, maps) -> Path:
    """Polarization classes (pale = low information, black outline = anomaly) and confidence.

    The title names the majority class when one holds most of the informative positions,
    else the domains (:meth:`ferromap.pipelines.predict.PolarizationMaps.title`).

    Parameters
    ----------
    path : str or Path
        PNG destination (atomic).
    maps : PolarizationMaps
        Inference results (their ``scan_step_nm`` gives nm axes).

    Returns
    -------
    Path
    """
    scan_step_nm = maps.scan_step_nm
    fig = _figure()
    grid = _map_grid(fig, 0.45, wspace=0.6)
    extent, unit = _scan_extent(maps.labels.shape, scan_step_nm)
    ax = fig.add_subplot(grid[0])
    ax.imshow(label_rgb(maps.labels, maps.classes, maps.low_info), extent=extent,
              interpolation="nearest")
    draw_outline(ax, maps.anomaly_mask, scan_step_nm)
    ax.set_title("\n".join(textwrap.wrap(f"polarization: {maps.title()}", 44)), fontsize=9)
    ax.set(xlabel=f"scan col ({unit})", ylabel=f"scan row ({unit})")
    ax2 = fig.add_subplot(grid[1])
    im = ax2.imshow(maps.confidence, extent=extent, vmin=0, vmax=1, cmap="viridis",
                    interpolation="nearest")
    ax2.set(title="confidence", xlabel=f"scan col ({unit})")
    label = ("probability of being right" if maps.extra.get("confidence_calibrated")
             else "probability of the\npredicted class (uncalibrated)")
    fig.colorbar(im, cax=_colorbar_axes(ax2), label=label)
    _whole_positions(unit, ax, ax2)
    draw_class_legend(fig.add_subplot(grid[2]), maps.classes)
    fig.text(0.01, 0.01, f"model {maps.model}; pale = low information; outlined = anomaly",
             fontsize=7)
    return save_figure(fig, path)


def legend_image(kind: str, classes: ClassSet | None = None, height_px: int = 220) -> np.ndarray:
    """A legend rendered to an RGBA uint8 image, to show beside a map (e.g. as a napari layer).

    Parameters
    ----------
    kind : {"wheel", "classes"}
        The direction colour wheel with its angle labels, or the class swatches and arrows.
    classes : ClassSet, optional
        For ``"classes"``.
    height_px : int
        Image height.

    Returns
    -------
    numpy.ndarray
        ``(height_px, width, 4)`` uint8.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if kind not in ("wheel", "classes"):
        raise ValueError(f"kind must be 'wheel' or 'classes', got {kind!r}")
    if kind == "classes" and classes is None:
        raise ValueError("a class legend needs the classes")
    dpi = 100
    width = 1.0 if kind == "wheel" else 0.62
    fig = Figure(figsize=(width * height_px / dpi, height_px / dpi), dpi=dpi)
    fig.patch.set_alpha(0.0)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.9))
    if kind == "wheel":
        draw_colour_wheel(ax)
    else:
        draw_class_legend(ax, classes)
    for text in ax.texts + [ax.title]:
        text.set_color("white")
    for patch in ax.patches:
        patch.set_edgecolor("none")
    for ann in ax.texts:
        if getattr(ann, "arrow_patch", None) is not None:
            ann.arrow_patch.set_color("white")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()
