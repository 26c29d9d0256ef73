"""Virtual detectors drawn on the diffraction view, and the navigation image they make.

A :class:`Detector` is a disk (bright field, or the CoM detector), an annulus (annular bright
or dark field) or a free-hand polygon, in detector pixels. :class:`DetectorEditor` draws it
on the diffraction view's axes (mrad when calibrated) and lets the user drag it (grab inside)
or resize it (grab an edge). :class:`VirtualImager` turns every change into a navigation
image layer in a worker thread, the latest request winning: while dragging it reads a
subsampled scan (at most 64×64 positions), exactly on release. The sums are
:func:`ferromap.core.virtual.virtual_image`, the streaming kernel of the CoM maps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from matplotlib.patches import Circle

from ferromap._napari._diffraction import OVERLAY

KINDS = {"none": "no detector", "bf": "bright field (disk)", "abf": "annular bright field",
         "adf": "annular dark field", "com": "CoM detector (disk)", "mask": "free-hand mask"}
PREVIEW_POSITIONS = 64 * 64
THROTTLE_S = 0.08


@dataclass(frozen=True)
class Detector:
    """A virtual detector in detector pixels (row down)."""

    kind: str
    centre: tuple[float, float]
    outer: float
    inner: float = 0.0
    vertices: tuple[tuple[float, float], ...] = ()

    @classmethod
    def default(cls, kind: str, centre, bf_radius: float, frame: int) -> Detector:
        """Sensible radii from the bright-field disk radius."""
        r = max(bf_radius, 1.0)
        outer, inner = {"bf": (r, 0.0), "com": (1.2 * r, 0.0), "abf": (r, 0.5 * r),
                        "adf": (min(3 * r, frame / 2), 1.5 * r)}.get(kind, (r, 0.0))
        return cls(kind, tuple(float(v) for v in centre), float(outer), float(inner))

    def mask(self, frame_shape: tuple[int, int]) -> np.ndarray:
        """Boolean detector mask."""
        from ferromap.core.regions import polygon_mask
        from ferromap.core.virtual import annulus_mask

        if self.kind == "mask":
            return polygon_mask(frame_shape, np.asarray(self.vertices))
        return annulus_mask(frame_shape, self.centre, self.outer, self.inner)

    def describe(self, mrad_per_px: float | None) -> str:
        """Its size in words (mrad when calibrated)."""
        if self.kind == "mask":
            return f"free-hand mask of {len(self.vertices)} corners"
        k, unit = (mrad_per_px, "mrad") if mrad_per_px else (1.0, "px")
        inner = f"{self.inner * k:.1f}–" if self.inner else ""
        return f"{KINDS[self.kind]}: {inner}{self.outer * k:.1f} {unit}"


class DetectorEditor:
    """Draw a detector on a :class:`~ferromap._napari._diffraction.DiffractionView` and let the
    user move or resize it with the mouse; ``on_change(detector, final)`` follows."""

    def __init__(self, view, on_change: Callable[[Detector, bool], None]) -> None:
        self.view, self.on_change = view, on_change
        self.detector: Detector | None = None
        self.patches: list = []
        self.grab: str | None = None
        self._last = 0.0
        self.lasso = None
        canvas = view.canvas
        self._cids = [canvas.mpl_connect("button_press_event", self._press),
                      canvas.mpl_connect("motion_notify_event", self._motion),
                      canvas.mpl_connect("button_release_event", self._release)]

    # -- drawing --------------------------------------------------------------------------------
    def set(self, detector: Detector | None) -> None:
        """Show ``detector`` (``None``: remove it)."""
        self.detector = detector
        for p in self.patches:
            p.remove()
        self.patches = []
        self._drop_lasso()
        if detector is not None and detector.kind == "mask" and not detector.vertices:
            from matplotlib.widgets import LassoSelector

            self.lasso = LassoSelector(self.view.ax, self._lassoed)
        elif detector is not None:
            self._draw()
        self.view.refresh()

    def _draw(self) -> None:
        d, view = self.detector, self.view
        for p in self.patches:
            p.remove()
        self.patches = []
        if d.kind == "mask":
            from matplotlib.patches import Polygon

            pts = [view.axes_from_px(v) for v in d.vertices]
            self.patches.append(view.ax.add_patch(Polygon(pts, fill=False, color="deepskyblue",
                                                          lw=1.5, **OVERLAY)))
            return
        x, y = view.axes_from_px(d.centre)
        k = view.scale()
        for radius in (d.outer, d.inner):
            if radius > 0:
                self.patches.append(view.ax.add_patch(Circle((x, y), radius * k, fill=False,
                                                             color="deepskyblue", lw=1.5,
                                                             **OVERLAY)))

    # -- mouse ------------------------------------------------------------------------------------
    def _press(self, event) -> None:
        d = self.detector
        if d is None or d.kind == "mask" or event.inaxes is not self.view.ax:
            return
        r, c = self.view.px_from_axes(event.xdata, event.ydata)
        dist = float(np.hypot(r - d.centre[0], c - d.centre[1]))
        tol = max(1.0, 0.12 * d.outer)
        if abs(dist - d.outer) < tol:
            self.grab = "outer"
        elif d.inner and abs(dist - d.inner) < tol:
            self.grab = "inner"
        elif dist < d.outer:
            self.grab = "move"
            self._offset = (d.centre[0] - r, d.centre[1] - c)

    def _motion(self, event) -> None:
        if self.grab is None or event.inaxes is not self.view.ax or event.xdata is None:
            return
        r, c = self.view.px_from_axes(event.xdata, event.ydata)
        d = self.detector
        if self.grab == "move":
            d = replace(d, centre=(r + self._offset[0], c + self._offset[1]))
        else:
            dist = float(np.hypot(r - d.centre[0], c - d.centre[1]))
            if self.grab == "outer":
                d = replace(d, outer=max(dist, d.inner + 0.5))
            else:
                d = replace(d, inner=float(np.clip(dist, 0.0, d.outer - 0.5)))
        self.detector = d
        self._draw()
        self.view.refresh()
        now = time.monotonic()
        if now - self._last > THROTTLE_S:
            self._last = now
            self.on_change(d, False)

    def _release(self, event) -> None:
        if self.grab is not None:
            self.grab = None
            self.on_change(self.detector, True)

    def _lassoed(self, points) -> None:
        vertices = tuple(self.view.px_from_axes(x, y) for x, y in points)
        if len(vertices) >= 3:
            self.detector = replace(self.detector, vertices=vertices)
            self._drop_lasso()
            self._draw()
            self.view.refresh()
            self.on_change(self.detector, True)

    def _drop_lasso(self) -> None:
        """Stop the lasso and take its stroke off the axes (it would be blitted again)."""
        if self.lasso is None:
            return
        self.lasso.disconnect_events()
        for artist in self.lasso.artists:
            if artist.axes is not None:
                artist.remove()
        self.lasso = None

    def close(self) -> None:
        """Stop listening to the canvas."""
        for cid in self._cids:
            self.view.canvas.mpl_disconnect(cid)
        self.set(None)


class VirtualImager:
    """Navigation images of a detector in a worker thread; the latest request wins.

    Parameters
    ----------
    session : Session
        Gives the dataset and shows the layer.
    """

    LAYER = "virtual detector"

    def __init__(self, session) -> None:
        self.session = session
        self.worker = None
        self.pending: tuple[Detector, bool] | None = None
        self.last: dict | None = None
        self.closed = False

    def request(self, detector: Detector, final: bool) -> None:
        """Compute the image of ``detector`` (subsampled unless ``final``)."""
        if self.closed or self.session.dataset is None:
            return
        if self.worker is not None:
            self.pending = (detector, final)
            return
        self._start(detector, final)

    def _start(self, detector: Detector, final: bool) -> None:
        from napari.qt.threading import create_worker

        from ferromap.core.virtual import virtual_image

        ds = self.session.dataset
        rows, cols = ds.scan_shape
        step = 1 if final else max(1, int(np.ceil(np.sqrt(rows * cols / PREVIEW_POSITIONS))))
        mask = detector.mask(ds.frame_shape)

        def job():
            t = time.perf_counter()
            try:
                image = virtual_image(ds.array()[::step, ::step], mask)
            except Exception as exc:  # noqa: BLE001 - shown once, below
                return exc, step, 0.0
            return image, step, time.perf_counter() - t

        self.worker = create_worker(job)
        self.worker.returned.connect(lambda out: self._done(detector, final, *out))
        self.worker.start()

    def _done(self, detector: Detector, final: bool, image, step: int, seconds: float) -> None:
        self.worker = None
        if self.closed:
            return
        if isinstance(image, Exception):
            from ferromap._napari._runner import notify_failure

            notify_failure(image)
        else:
            self._show(detector, image, step)
            self.last = {"detector": detector, "step": step, "final": final,
                         "seconds": seconds, "image": image}
        if self.pending is not None:
            detector, final = self.pending
            self.pending = None
            self._start(detector, final)

    def _show(self, detector: Detector, image: np.ndarray, step: int) -> None:
        from ferromap._napari._layers import scan_scale

        ds = self.session.dataset
        scale = np.asarray(scan_scale(ds.calibration.scan_step_nm)) * step
        layers = self.session.viewer.layers
        name = self.LAYER
        if name in layers:  # each change redraws the canvas: only what changed
            layer = layers[name]
            if not np.allclose(layer.scale, scale):
                layer.scale = scale
            layer.data = image
            layer.reset_contrast_limits()
            return
        units = {"units": ("nm", "nm")} if ds.calibration.scan_step_nm else {}
        self.session.show_layers([(image, {
            "name": name, "scale": tuple(scale), "colormap": "gray",
            "metadata": {"ferromap": {"role": "navigation_virtual", "colorbar": True}},
            **units}, "image")])

    def close(self) -> None:
        """Drop pending work and results still to come."""
        self.closed = True
        self.pending = None
