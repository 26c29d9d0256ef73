"""Angular sampling of the model crop: how many detector pixels a model's window covers."""

from __future__ import annotations


def window_span(size: int, data_mrad_per_px: float | None, model_mrad_per_px: float | None) -> float:
    """Detector pixels that cover the angles of a ``size`` crop at the model's sampling.

    Parameters
    ----------
    size : int
        Model crop side in pixels.
    data_mrad_per_px, model_mrad_per_px : float or None
        Angular sampling of the data and of the model. Unknown (``None``) means "the same as
        the model": the span is ``size``.

    Returns
    -------
    float
        ``size × model_mrad_per_px / data_mrad_per_px`` (not rounded: the crop resamples by
        area weighting, :func:`ferromap.core.crop.extract_crops`).

    Examples
    --------
    >>> window_span(64, 2.0, 3.0)
    96.0
    """
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if not data_mrad_per_px or not model_mrad_per_px:
        return float(size)
    return float(size * model_mrad_per_px / data_mrad_per_px)
