"""The linked diffraction view: a matplotlib canvas docked beside the maps, and a text panel.

Shows the selected position's pattern (log or linear), the crop box the model sees, the
pattern's CoM and its shift vector from the global CoM, and the prediction text.
"""

from __future__ import annotations

import time

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from qtpy.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWidget

from ferromap._napari._inspect import PositionView


class DiffractionView(QWidget):
    """Pattern canvas + overlays + text. Call :meth:`show_position` with a PositionView."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure = Figure(figsize=(3.2, 3.2), dpi=100, layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumSize(280, 280)
        self.ax = self.figure.add_subplot()
        self.ax.set(xlabel="k_col (px)", ylabel="k_row (px)")
        self.image = None
        self.box = Rectangle((0, 0), 1, 1, fill=False, color="cyan", lw=1.0, visible=False)
        self.ax.add_patch(self.box)
        (self.marker,) = self.ax.plot([], [], "r+", ms=12, mew=2, label="CoM")
        self.arrow = None
        self.log_scale = QCheckBox("log intensity")
        self.log_scale.setChecked(True)
        self.log_scale.toggled.connect(self._redraw)
        self.text = QLabel("Click a scan position in a map layer.")
        self.text.setWordWrap(True)
        self.text.setStyleSheet("font-family: monospace;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.canvas)
        layout.addWidget(self.log_scale)
        layout.addWidget(self.text)
        self.current: PositionView | None = None
        self.last_update_ms = 0.0

    def _display(self, pattern: np.ndarray) -> np.ndarray:
        p = np.asarray(pattern, dtype=np.float32)
        return np.log1p(np.clip(p, 0, None)) if self.log_scale.isChecked() else p

    def show_position(self, view: PositionView) -> None:
        """Draw a position (pattern, crop box, CoM marker, shift vector, text)."""
        t = time.perf_counter()
        self.current = view
        self._redraw()
        self.last_update_ms = (time.perf_counter() - t) * 1e3

    def _redraw(self, *_args) -> None:
        view = self.current
        if view is None:
            return
        img = self._display(view.pattern)
        if self.image is None or self.image.get_array().shape != img.shape:
            if self.image is not None:
                self.image.remove()
            self.image = self.ax.imshow(img, cmap="inferno", interpolation="nearest")
        else:
            self.image.set_data(img)
        finite = img[np.isfinite(img)]
        self.image.set_clim(float(finite.min()) if finite.size else 0,
                            float(finite.max()) if finite.size else 1)
        self._overlays(view)
        self.ax.set_title(f"row {view.row}, col {view.col}", fontsize=9)
        self.text.setText(view.text)
        self.canvas.draw_idle()

    def _overlays(self, view: PositionView) -> None:
        if view.crop_box is not None:
            r0, c0, size = view.crop_box
            self.box.set_bounds(c0 - 0.5, r0 - 0.5, size, size)
            self.box.set_visible(True)
        self.marker.set_data([view.com[1]], [view.com[0]])
        if self.arrow is not None:
            self.arrow.remove()
            self.arrow = None
        if view.reference is not None and np.isfinite(view.com).all():
            dr, dc = np.subtract(view.com, view.reference)
            scale = 10.0  # shifts are sub-pixel: draw them 10x longer
            self.arrow = self.ax.annotate(
                "", xy=(view.reference[1] + scale * dc, view.reference[0] + scale * dr),
                xytext=(view.reference[1], view.reference[0]),
                arrowprops={"arrowstyle": "->", "color": "lime", "lw": 1.5})
