"""Layer data for napari built from ferromap results. No Qt here: plain LayerDataTuples.

Every colour map carries its legend: labels layers name their classes (the status bar shows
the class under the cursor), image layers show a colour bar (``metadata["ferromap"]
["colorbar"]``, applied by the session once the layer exists), and direction and class maps get
a rendered legend image beside the scan.
"""

from __future__ import annotations

import numpy as np

from ferromap.classes import NOT_CLASSIFIED, ClassSet
from ferromap.colour import angle_to_rgb, class_colours


def label_colormap(classes: ClassSet) -> dict:
    """``{label: RGBA}`` in the fixed class colours; 255 (not classified) transparent."""
    colours = class_colours(classes)
    cmap = {i: tuple(c) + (1.0,) for i, c in enumerate(colours)}
    return {**cmap, None: (0, 0, 0, 0), NOT_CLASSIFIED: (0, 0, 0, 0)}


def class_features(classes: ClassSet) -> dict:
    """Labels-layer features: the status bar then names the class under the cursor."""
    return {"index": np.array([*range(len(classes)), NOT_CLASSIFIED]),
            "class": np.array([*classes.names, "not classified"])}


def scan_scale(step_nm: float | None) -> tuple[float, float]:
    """napari ``scale`` of scan maps: nm when known, else scan pixels."""
    return (step_nm, step_nm) if step_nm else (1.0, 1.0)


def with_units(tuples: list[tuple], step_nm: float | None) -> list[tuple]:
    """Give every layer nm ``units`` on its (trailing) scan axes when the step is known."""
    if not step_nm:
        return tuples
    out = []
    for data, kwargs, kind in tuples:
        ndim = data.ndim if kind in ("image", "labels") and not kwargs.get("rgb") else 2
        out.append((data, {**kwargs, "units": ("pixel",) * (ndim - 2) + ("nm", "nm")}, kind))
    return out


def _meta(role: str, **extra) -> dict:
    return {"ferromap": {"role": role, **extra}}


def legend_layer(kind: str, name: str, scan_shape: tuple[int, int], step_nm: float | None,
                 classes: ClassSet | None = None) -> tuple:
    """A rendered legend (colour wheel or classes) placed just right of the scan."""
    from ferromap.plotting import legend_image

    image = legend_image(kind, classes)
    rows, cols = scan_shape
    step = scan_scale(step_nm)[0]
    px = 0.6 * rows * step / image.shape[0]  # the legend is 60 % of the scan height
    units = {"units": ("nm", "nm")} if step_nm else {}
    return (image, {"name": name, "rgb": True, "scale": (px, px),
                    "translate": (0.0, (cols + 0.5) * step),
                    "metadata": _meta("legend"), **units}, "image")


def dataset_layers(ds, name: str, navigation: np.ndarray, open_kwargs: dict | None = None
                   ) -> list[tuple]:
    """The lazy 4-D data (hidden) and a virtual bright-field navigation image.

    napari aligns the trailing dimensions of layers, so the 4-D layer is added as
    ``(k_row, k_col, scan_row, scan_col)`` (a lazy transpose): its scan axes line up with the
    2-D maps and its sliders browse single-detector-pixel images. ``metadata["ferromap"]
    ["axes"]`` records this; :func:`ferromap._napari._session.dataset_from_layer` undoes it.
    """
    meta = _meta("dataset", source=ds.source, calibration=ds.calibration.to_dict(),
                 axes="k_row,k_col,scan_row,scan_col", open_kwargs=open_kwargs or {})
    scale = scan_scale(ds.calibration.scan_step_nm)
    return with_units([
        (ds.data.transpose(2, 3, 0, 1), {"name": f"{name} (4D)", "metadata": meta,
                                         "visible": False, "scale": (1.0, 1.0, *scale)},
         "image"),
        (navigation, {"name": f"{name} virtual BF", "scale": scale, "colormap": "gray",
                      "metadata": _meta("navigation", source=ds.source, colorbar=True)},
         "image"),
    ], ds.calibration.scan_step_nm)


def prediction_layers(maps, prefix: str = "") -> list[tuple]:
    """Labels (class colours, class names), confidence, anomalies, low-information mask and
    the class legend."""
    from napari.utils.colormaps import DirectLabelColormap

    step_nm = maps.scan_step_nm
    scale = scan_scale(step_nm)
    anomalies = np.argwhere(maps.anomaly_mask) * np.asarray(scale)
    calibrated = maps.extra.get("confidence_calibrated")
    return with_units([
        (maps.labels, {"name": f"{prefix}polarization", "scale": scale,
                       "metadata": _meta("polarization", classes=maps.classes.to_dict()),
                       "features": class_features(maps.classes),
                       "colormap": DirectLabelColormap(color_dict=label_colormap(maps.classes)),
                       "opacity": 0.9}, "labels"),
        (maps.confidence, {"name": f"{prefix}confidence"
                           + (" (probability right)" if calibrated else ""),
                           "scale": scale, "colormap": "viridis", "contrast_limits": (0.0, 1.0),
                           "visible": False, "metadata": _meta("confidence", colorbar=True)},
         "image"),
        (anomalies, {"name": f"{prefix}anomalies", "face_color": "transparent",
                     "border_color": "white", "border_width": 0.15, "size": 1.0 * scale[0],
                     "symbol": "square", "metadata": _meta("anomaly")}, "points"),
        (maps.low_info.astype(np.uint8), {
            "name": f"{prefix}low information", "scale": scale, "visible": False,
            "colormap": DirectLabelColormap(color_dict={None: (0, 0, 0, 0), 0: (0, 0, 0, 0),
                                                        1: (0, 0, 0, 0.55)}),
            "features": {"index": np.array([0, 1]),
                         "information": np.array(["informative", "low information"])},
            "metadata": _meta("low_info")}, "labels"),
    ], step_nm) + [legend_layer("classes", f"{prefix}class legend", maps.labels.shape, step_nm,
                                maps.classes)]


def com_layers(com_maps, every: int = 2, prefix: str = "") -> list[tuple]:
    """CoM magnitude (colour bar), direction (colour wheel RGB with its legend) and a
    subsampled Vectors layer of the shifts (``prefix`` starts every name)."""
    step_nm = com_maps.scan_step_nm
    scale = scan_scale(step_nm)
    mag = com_maps.magnitude
    finite = mag[np.isfinite(mag)]
    top = float(np.percentile(finite, 99)) if finite.size else 1.0
    rgb = angle_to_rgb(com_maps.angle_deg, np.clip(mag / (top or 1.0), 0, 1)).astype(np.float32)
    rows, cols = np.mgrid[0 : mag.shape[0] : every, 0 : mag.shape[1] : every]
    vec = com_maps.shift[rows, cols]
    ok = np.isfinite(vec).all(axis=-1)
    start = np.stack([rows[ok], cols[ok]], -1) * np.asarray(scale)
    length = every * 0.9 * scale[0] / (top or 1.0)
    vectors = np.stack([start, vec[ok] * length], axis=1)
    units = "mrad" if com_maps.mrad_per_px else "px"
    return with_units([
        (mag, {"name": f"{prefix}CoM magnitude ({units})", "scale": scale, "colormap": "magma",
               "metadata": _meta("com_magnitude", colorbar=True)}, "image"),
        (rgb, {"name": f"{prefix}CoM direction", "scale": scale, "rgb": True,
               "metadata": _meta("com_direction")}, "image"),
        (vectors, {"name": f"{prefix}CoM shift vectors", "edge_color": "white",
                   "edge_width": 0.08 * scale[0], "vector_style": "arrow",
                   "metadata": _meta("com_vectors")}, "vectors"),
    ], step_nm) + [legend_layer("wheel", f"{prefix}CoM direction legend", mag.shape, step_nm)]


def probability_layers(maps) -> list[tuple]:
    """One hidden image layer per class, ``P(class)`` in [0, 1], with a colour bar."""
    scale = scan_scale(maps.scan_step_nm)
    return with_units([
        (maps.probs[..., i], {"name": f"P({name})", "scale": scale, "colormap": "viridis",
                              "contrast_limits": (0.0, 1.0), "visible": i == 0,
                              "metadata": _meta("probability", colorbar=True)}, "image")
        for i, name in enumerate(maps.classes.names)], maps.scan_step_nm)
