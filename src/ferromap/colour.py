"""The one colour wheel of ferromap: hue = direction, so neighbouring angles look alike."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import hsv_to_rgb

from ferromap.classes import ClassSet

NO_DIRECTION_RGB = (0.55, 0.55, 0.55)


def angle_to_rgb(angle_deg: np.ndarray, value: np.ndarray | float = 1.0) -> np.ndarray:
    """RGB in [0, 1] with hue = angle / 360° and brightness = ``value``.

    Parameters
    ----------
    angle_deg : numpy.ndarray
        Angles in degrees (CCW from +col); NaN gives black.
    value : numpy.ndarray or float, optional
        Brightness in [0, 1], e.g. a normalised magnitude.

    Returns
    -------
    numpy.ndarray
        ``angle_deg.shape + (3,)`` float RGB.
    """
    angle = np.asarray(angle_deg, dtype=np.float64)
    ok = np.isfinite(angle)
    val = np.clip(np.broadcast_to(np.nan_to_num(value), angle.shape), 0, 1)
    hsv = np.stack([np.where(ok, angle, 0.0) % 360 / 360, np.ones_like(angle),
                    np.where(ok, val, 0.0)], axis=-1)
    return hsv_to_rgb(hsv)


#: Colours of classes without a direction, in order: red, green, blue as in the boracite
#: paper's RGB probability maps, then further distinct colours.
CATEGORICAL_RGB = ((0.85, 0.15, 0.15), (0.15, 0.7, 0.2), (0.2, 0.35, 0.9), (0.9, 0.75, 0.1),
                   (0.6, 0.25, 0.75), (0.1, 0.75, 0.75), (0.95, 0.5, 0.1), (0.55, 0.55, 0.55))


def class_colours(classes: ClassSet) -> np.ndarray:
    """``(n_classes, 3)`` RGB.

    Directions take their colour-wheel colour. In a set that mixes directed and undirected
    classes the undirected ones (e.g. "none") are grey; a set with no directions at all (e.g.
    none / vertical / horizontal) gets distinct colours, red, green and blue first, so a
    3-class label map matches the RGB probability map.
    """
    angles = classes.angles_deg
    if all(a is None for a in angles):
        return np.array([CATEGORICAL_RGB[i % len(CATEGORICAL_RGB)] for i in range(len(angles))],
                        dtype=np.float64)
    return np.array([angle_to_rgb(np.array(a)) if a is not None else NO_DIRECTION_RGB
                     for a in angles], dtype=np.float64)
