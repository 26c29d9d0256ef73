"""The linked diffraction view: the selected pattern (or the mean pattern), on mrad axes.

A matplotlib canvas docked beside the maps, with a colour bar, log/linear display and
contrast limits (percentiles of the pattern), the crop window the model reads (dashed), the
beam centre and the pattern's CoM with the shift between them (drawn 20× longer), and the
prediction text. It listens to the session and draws what the session selects.

A click must redraw within a frame or two, and a full matplotlib draw (layout, ticks, colour
bar) takes far longer. So the pattern and its overlays are *animated* artists blitted onto a
saved background, and the background (axes, ticks, colour bar) is redrawn only when it
changes: the axes limits keep while the frame fits inside them, and the contrast limits of a
clicked pattern keep while its percentiles stay within :data:`CLIM_TOLERANCE` of them, so
that neighbouring patterns share one intensity scale. The colour bar always shows the limits
the image is drawn with.
"""

from __future__ import annotations

import time

import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from qtpy.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ferromap._napari._inspect import PositionView

SHIFT_SCALE = 20.0  # CoM shifts are sub-pixel: drawn this many times longer
OUTLINE = [patheffects.withStroke(linewidth=3, foreground="black")]
# overlays are blitted and never move the layout (a full draw must not differ from a blit)
OVERLAY = {"animated": True, "in_layout": False}
CLIM_TOLERANCE = 0.05  # of the colour-bar span: a clicked pattern keeps the previous limits


class DiffractionView(QWidget):
    """Pattern canvas + overlays + text; :meth:`show_position` draws a PositionView."""

    MIN_CANVAS_PX = 420

    def __init__(self, session=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.figure = Figure(figsize=(4.4, 4.2), dpi=100, layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumSize(self.MIN_CANVAS_PX, self.MIN_CANVAS_PX)
        self.ax = self.figure.add_subplot()
        self.image = self.colorbar = self.arrow = None
        self._background = self._background_key = self._limits = None
        self._background_size = self._shown_key = None
        self.full_draw_pending = False  # a full draw (background changed) is still to come
        self.canvas.mpl_connect("draw_event", self._on_draw)
        self.canvas.mpl_connect("resize_event",
                                lambda _e: self.figure.set_layout_engine("constrained"))
        self.box = Rectangle((0, 0), 1, 1, fill=False, color="cyan", lw=1.6, ls="--",
                             visible=False, label="model crop", **OVERLAY)
        self.ax.add_patch(self.box)
        (self.beam_marker,) = self.ax.plot([], [], "o", ms=7, mfc="none", mec="white", mew=1.5,
                                           label="beam centre", **OVERLAY)
        (self.com_marker,) = self.ax.plot([], [], "+", color="red", ms=12, mew=2, label="CoM",
                                          **OVERLAY)
        self.heading = QLabel()
        self.heading.setStyleSheet("font-weight: bold;")
        self.key = QLabel(f"white ○ beam centre · red + CoM · lime → CoM shift ×{SHIFT_SCALE:g}"
                          " · cyan ┅ model crop")
        self.key.setStyleSheet("font-size: 8pt;")
        self.log_scale = QCheckBox("log intensity")
        self.log_scale.setChecked(True)
        self.low = self._percent_box(0.5)
        self.high = self._percent_box(99.9)
        for w in (self.log_scale,):
            w.toggled.connect(self._redraw)
        for w in (self.low, self.high):
            w.valueChanged.connect(self._redraw)
        self.text = QLabel("Click a scan position in the viewer to see its pattern.")
        self.text.setWordWrap(True)
        self.text.setStyleSheet("font-family: monospace;")
        limits = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.low)
        row.addWidget(QLabel("to"))
        row.addWidget(self.high)
        limits.addRow("contrast (percentiles)", row)
        layout = QVBoxLayout(self._scrolled())
        layout.addWidget(self.heading)
        layout.addWidget(self.canvas)
        layout.addWidget(self.key)
        layout.addWidget(self.text)  # the prediction, right under its pattern
        layout.addWidget(self.log_scale)
        layout.addLayout(limits)
        self.current: PositionView | None = None
        self.title = ""
        self.last_update_ms = 0.0
        self.tools = None
        if session is not None:
            from ferromap._napari._regions import ViewTools

            self.tools = ViewTools(self, session)
            layout.addLayout(self.tools.layout)

    def _scrolled(self) -> QWidget:
        """The widget that holds the view's contents, in a scroll area filling the dock (a
        dock shorter than the contents scrolls them instead of squeezing them together)."""
        inner = QWidget()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.setMinimumHeight(self.MIN_CANVAS_PX + 240)  # the pattern and its description
        return inner


    @staticmethod
    def _percent_box(value: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(0.0, 100.0)
        box.setDecimals(1)
        box.setSingleStep(0.5)
        box.setSuffix(" %")
        box.setValue(value)
        return box

    # -- what to draw -----------------------------------------------------------------------------
    def show_position(self, view: PositionView) -> None:
        """Draw a position (pattern, crop box, beam, CoM, shift, text)."""
        t = time.perf_counter()
        self.current, self.title = view, f"row {view.row}, col {view.col}"
        self._redraw(sticky=True)
        self.last_update_ms = (time.perf_counter() - t) * 1e3

    def show_mean(self, pattern: np.ndarray, mrad_per_px: float | None,
                  beam: tuple[float, float] | None) -> None:
        """Draw the dataset's mean pattern (before any position is selected)."""
        com = beam if beam is not None else (np.nan, np.nan)
        self.current = PositionView(-1, -1, pattern, com, beam, None, mrad_per_px,
                                    "Mean pattern of the scan. Click a scan position to see "
                                    "its own pattern and prediction.")
        self.title = "mean pattern"
        self._redraw()

    def show_pattern(self, pattern: np.ndarray, title: str, text: str,
                     mrad_per_px: float | None, beam=None) -> None:
        """Draw any pattern (e.g. a region's mean) with a title and a text line."""
        com = beam if beam is not None else (np.nan, np.nan)
        self.current = PositionView(-1, -1, pattern, com, beam, None, mrad_per_px, text)
        self.title = title
        self._redraw()

    # -- coordinates between the axes (mrad about the beam) and detector pixels -----------------
    def scale(self) -> float:
        """Axes units per detector pixel (mrad/px when calibrated, else 1)."""
        return (self.current.mrad_per_px if self.current is not None else None) or 1.0

    def _origin(self) -> tuple[float, float]:
        view = self.current
        if view is not None and view.beam is not None:
            return view.beam
        shape = view.pattern.shape if view is not None else (1, 1)
        return ((shape[0] - 1) / 2, (shape[1] - 1) / 2)

    def axes_from_px(self, point) -> tuple[float, float]:
        """``(x, y)`` axes coordinates of a detector ``(row, col)``."""
        origin, k = self._origin(), self.scale()
        return ((point[1] - origin[1]) * k, (point[0] - origin[0]) * k)

    def px_from_axes(self, x: float, y: float) -> tuple[float, float]:
        """Detector ``(row, col)`` of axes coordinates."""
        origin, k = self._origin(), self.scale()
        return (y / k + origin[0], x / k + origin[1])

    def clear(self) -> None:
        """Forget the pattern (no dataset)."""
        self.current = None
        if self.image is not None:
            self.image.set_visible(False)
        self.text.setText("Open a 4D-STEM dataset to see its patterns.")
        self.canvas.draw_idle()

    # -- drawing ----------------------------------------------------------------------------------
    def _display(self, pattern: np.ndarray) -> np.ndarray:
        p = np.asarray(pattern, dtype=np.float32)
        return np.log1p(np.clip(p, 0, None)) if self.log_scale.isChecked() else p

    def _extent(self, view: PositionView, shape) -> tuple[list[float], float, tuple, str]:
        """Axes extent centred on the beam, in mrad when calibrated (else detector px)."""
        origin = view.beam if view.beam is not None else ((shape[0] - 1) / 2, (shape[1] - 1) / 2)
        k = view.mrad_per_px or 1.0
        unit = "mrad" if view.mrad_per_px else "px"
        extent = [(-0.5 - origin[1]) * k, (shape[1] - 0.5 - origin[1]) * k,
                  (shape[0] - 0.5 - origin[0]) * k, (-0.5 - origin[0]) * k]
        return extent, k, origin, unit

    def _redraw(self, *_args, sticky: bool = False) -> None:
        """Show :attr:`current`: blitted when only the animated artists changed, else a full
        draw. ``sticky``: keep the contrast limits if they still fit (a clicked pattern)."""
        view = self.current
        if view is None:
            return
        img = self._display(view.pattern)
        extent, k, origin, unit = self._extent(view, img.shape)
        if self.image is None:
            self.image = self.ax.imshow(img, cmap="inferno", interpolation="nearest",
                                        extent=extent, animated=True)
            self.colorbar = self.figure.colorbar(self.image, ax=self.ax, shrink=0.85)
        else:
            self.image.set_data(img)
            self.image.set_extent(extent)
            self.image.set_visible(True)
        background = (self._contrast(img, sticky), self._fit_limits(extent), unit,
                      "log(1 + counts)" if self.log_scale.isChecked() else "counts")
        stale = background != self._background_key  # what the saved background shows
        self._shown_key = background
        self.image.set_clim(*background[0])
        self.colorbar.set_label(background[3])
        self._overlays(view, k, origin)
        self.ax.set_xlim(*background[1][:2])
        self.ax.set_ylim(*background[1][2:])
        self.ax.set(xlabel=f"k_col ({unit})", ylabel=f"k_row ({unit})")
        self.heading.setText(self.title)
        self.text.setText(view.text)
        if self.tools is not None:
            self.tools.redraw()
        if stale:
            self._full_draw()
        else:
            self.refresh()

    def _contrast(self, img: np.ndarray, sticky: bool) -> tuple[float, float]:
        """Percentile contrast limits of ``img``; with ``sticky``, the current ones while the
        new ones lie within :data:`CLIM_TOLERANCE` of the current span."""
        finite = img[np.isfinite(img)]
        lo, hi = (np.percentile(finite, [self.low.value(), max(self.high.value(),
                                                               self.low.value() + 0.1)])
                  if finite.size else (0.0, 1.0))
        lo, hi = float(lo), float(hi if hi > lo else lo + 1e-6)
        if sticky and self._background_key is not None:
            old = tuple(float(v) for v in self.image.get_clim())
            if max(abs(lo - old[0]), abs(hi - old[1])) <= CLIM_TOLERANCE * (old[1] - old[0]):
                return old
        return lo, hi

    def _fit_limits(self, extent) -> tuple[float, float, float, float]:
        """Axes limits ``(x0, x1, y0, y1)`` showing the whole frame with a margin (so a crop
        box as large as the frame shows): the current ones while the frame fits in them."""
        pad = 0.04 * (extent[1] - extent[0])
        want = (extent[0] - pad, extent[1] + pad, extent[2] + pad, extent[3] - pad)
        cur = self._limits
        if cur is not None and np.isclose(cur[1] - cur[0], want[1] - want[0]) and \
                np.isclose(cur[2] - cur[3], want[2] - want[3]) and \
                cur[0] <= extent[0] and extent[1] <= cur[1] and \
                cur[2] >= extent[2] and extent[3] >= cur[3]:
            return cur
        self._limits = want
        return want

    # -- blitting ---------------------------------------------------------------------------------
    def _full_draw(self) -> None:
        """Lay out and draw everything (soon): the background changed."""
        self.full_draw_pending = True
        self.figure.set_layout_engine("constrained")
        self.canvas.draw_idle()

    def _on_draw(self, _event) -> None:
        """After a full draw: save the background, then draw the animated artists on it. The
        layout is kept until the background changes (a constrained layout moves by a fraction
        of a pixel at every draw, and costs most of one)."""
        self.full_draw_pending = False
        self.figure.set_layout_engine("none")
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._background_size = self.figure.bbox.bounds
        self._background_key = self._shown_key
        self._draw_animated()

    def _draw_animated(self) -> None:
        ax = self.ax
        artists = [*ax.images, *ax.patches, *ax.lines, *ax.texts]
        for artist in sorted(artists, key=lambda a: a.get_zorder()):
            if artist.get_animated() and artist.get_visible():
                ax.draw_artist(artist)

    def refresh(self) -> None:
        """Redraw the pattern and overlays (animated artists, e.g. a moved detector) on the
        saved background; a full draw when there is none yet."""
        if self._background is None or self._background_size != self.figure.bbox.bounds:
            self._full_draw()  # none yet, or the canvas was resized since
            return
        self.canvas.restore_region(self._background)
        self._draw_animated()
        self.canvas.blit(self.figure.bbox)

    def _to_axes(self, point, k, origin) -> tuple[float, float]:
        return ((point[1] - origin[1]) * k, (point[0] - origin[0]) * k)

    def _overlays(self, view: PositionView, k: float, origin) -> None:
        if view.crop_box is not None:
            r0, c0, span = view.crop_box
            x0, y0 = self._to_axes((r0, c0), k, origin)
            self.box.set_bounds(x0, y0, span * k, span * k)
            self.box.set_visible(True)
        else:
            self.box.set_visible(False)
        if view.beam is not None:
            self.beam_marker.set_data([0.0], [0.0])
        else:
            self.beam_marker.set_data([], [])
        if self.arrow is not None:
            self.arrow.remove()
            self.arrow = None
        if not np.isfinite(view.com).all() or view.row < 0:
            self.com_marker.set_data([], [])
            return
        x, y = self._to_axes(view.com, k, origin)
        self.com_marker.set_data([x], [y])
        if view.beam is not None:
            self.arrow = self.ax.annotate(
                "", xy=(SHIFT_SCALE * x, SHIFT_SCALE * y), xytext=(0.0, 0.0), **OVERLAY,
                arrowprops={"arrowstyle": "-|>", "color": "lime", "lw": 2.0,
                            "path_effects": OUTLINE})
