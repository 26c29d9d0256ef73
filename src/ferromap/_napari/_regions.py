"""The diffraction view's tools: virtual detectors, and the mean (or maximum) pattern of a
region of the scan, a drawn rectangle or every position of one class.

A region is drawn as a rectangle in the ``pattern region`` shapes layer (the button makes it
and selects its rectangle tool); a class region comes from the latest polarization map. Its
mean pattern is read in a worker thread (:func:`ferromap.core.regions.region_patterns`,
only the rows that hold it) and shown in the view, so two domains' mean patterns can be
compared side by side with a click.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QPushButton

from ferromap._napari._detectors import KINDS, Detector, DetectorEditor, VirtualImager
from ferromap._napari._lifecycle import disconnect_all
from ferromap._napari._runner import notify_failure

REGION_LAYER = "pattern region"


class ViewTools:
    """Detector and region controls of a diffraction view, wired to the session."""

    def __init__(self, view, session) -> None:
        self.view, self.session = view, session
        self.detector_kind = QComboBox()
        for key, text in KINDS.items():
            self.detector_kind.addItem(text, key)
        self.region_button = QPushButton("Draw a region")
        self.region_class = QComboBox()
        self.statistic = QComboBox()
        self.statistic.addItems(["mean", "max"])
        self.layout = QFormLayout()
        self.layout.addRow("virtual detector", self.detector_kind)
        row = QHBoxLayout()
        row.addWidget(self.region_button)
        row.addWidget(self.region_class)
        row.addWidget(self.statistic)
        self.layout.addRow("region pattern", row)
        self.editor = DetectorEditor(view, self._detector_changed)
        self.imager = VirtualImager(session)
        self.region = None  # the last region's (mean, max, count, name)
        self.worker = None
        self.detector_kind.currentIndexChanged.connect(self._new_detector)
        self.region_button.clicked.connect(self.draw_region)
        self.region_class.activated.connect(self._class_region)
        self.statistic.currentIndexChanged.connect(self._show_region)
        session.results_changed.connect(self._classes)
        session.dataset_changed.connect(self._on_dataset)
        self._classes()

    # -- detectors ------------------------------------------------------------------------------
    def _new_detector(self, *_args) -> None:
        kind = self.detector_kind.currentData()
        ds = self.session.dataset
        if kind == "none" or ds is None:
            self.editor.set(None)
            return
        from ferromap.core.geometry import plan_detector, sample_patterns

        plan = plan_detector(sample_patterns(ds.data, 16, read_one=ds.pattern))
        detector = Detector.default(kind, plan.bf_centre, plan.bf_radius, min(ds.frame_shape))
        self.editor.set(detector)
        if kind != "mask":
            self._detector_changed(detector, True)

    def set_detector(self, detector: Detector) -> None:
        """Show and use ``detector`` (as if drawn)."""
        self.editor.set(detector)
        self._detector_changed(detector, True)

    def _detector_changed(self, detector: Detector, final: bool) -> None:
        self.imager.request(detector, final)
        mrad = self.session.dataset.calibration.mrad_per_px if self.session.dataset else None
        self.view.text.setText(detector.describe(mrad) + ("" if final else " (preview)"))

    def redraw(self) -> None:
        """Redraw the detector after the view's axes moved (the beam centre changed)."""
        if self.editor.detector is not None and self.editor.detector.kind != "mask" or (
                self.editor.detector is not None and self.editor.detector.vertices):
            self.editor._draw()

    # -- regions --------------------------------------------------------------------------------
    def draw_region(self) -> None:
        """Make (or select) the region layer in rectangle mode: draw the region on the scan."""
        from ferromap._napari._layers import scan_scale

        layers = self.session.viewer.layers
        if REGION_LAYER not in layers:
            ds = self.session.dataset
            units = {"units": ("nm", "nm")} if ds is not None and ds.calibration.scan_step_nm \
                else {}
            layer = self.session.viewer.add_shapes(
                name=REGION_LAYER, edge_color="yellow", face_color="transparent",
                edge_width=0.5 * scan_scale(ds.calibration.scan_step_nm if ds else None)[0],
                metadata={"ferromap": {"role": "region"}}, **units)
            self.session.result_layers.add(REGION_LAYER)
            layer.events.data.connect(self._rectangle_drawn)
        layers.selection.active = layers[REGION_LAYER]
        layers[REGION_LAYER].mode = "add_rectangle"

    def _rectangle_drawn(self, event=None) -> None:
        from ferromap._napari._layers import scan_scale

        layer = self.session.viewer.layers[REGION_LAYER]
        ds = self.session.dataset
        if not len(layer.data) or ds is None:
            return
        step = scan_scale(ds.calibration.scan_step_nm)[0]
        corners = np.asarray(layer.data[-1])[:, -2:] / step
        lo = np.clip(np.floor(corners.min(axis=0) + 0.5), 0, np.array(ds.scan_shape) - 1)
        hi = np.clip(np.floor(corners.max(axis=0) + 0.5), 0, np.array(ds.scan_shape) - 1)
        positions = np.zeros(ds.scan_shape, bool)
        positions[int(lo[0]) : int(hi[0]) + 1, int(lo[1]) : int(hi[1]) + 1] = True
        self.compute_region(positions, f"rows {int(lo[0])}–{int(hi[0])}, cols "
                                       f"{int(lo[1])}–{int(hi[1])}")

    def _classes(self) -> None:
        maps = self.session.maps.get("inference") or self.session.maps.get("labelling")
        self.region_class.clear()
        self.region_class.addItem("class…")
        if maps is not None:
            self.region_class.addItems(list(maps.classes.names))

    def _class_region(self, index: int) -> None:
        maps = self.session.maps.get("inference") or self.session.maps.get("labelling")
        if index <= 0 or maps is None:
            return
        name = maps.classes.names[index - 1]
        positions = (maps.labels == index - 1) & ~maps.low_info
        if not positions.any():
            positions = maps.labels == index - 1
        self.compute_region(positions, f"class {name}")

    def compute_region(self, positions: np.ndarray, name: str) -> None:
        """Read the mean and maximum pattern of ``positions`` in a worker, then show it."""
        from napari.qt.threading import create_worker

        from ferromap.core.regions import region_patterns

        ds = self.session.dataset
        if ds is None or not positions.any():
            return

        def job():
            try:
                return region_patterns(ds.array(), positions), name
            except Exception as exc:  # noqa: BLE001 - shown once, below
                return exc, name

        self.worker = create_worker(job)
        self.worker.returned.connect(self._region_done)
        self.worker.start()

    def _region_done(self, outcome) -> None:
        self.worker = None
        result, name = outcome
        if isinstance(result, Exception):
            notify_failure(result)
            return
        self.region = (*result, name)
        self._show_region()

    def _show_region(self, *_args) -> None:
        if self.region is None or self.session.dataset is None:
            return
        mean, top, n, name = self.region
        which = self.statistic.currentText()
        self.view.show_pattern(mean if which == "mean" else top, f"{which} pattern: {name}",
                               f"{which} of {n} patterns ({name})",
                               self.session.dataset.calibration.mrad_per_px)

    def _on_dataset(self, _ds) -> None:
        self.region = None
        self.detector_kind.setCurrentIndex(0)

    def close(self) -> None:
        """Stop the detector tools and drop results still to come."""
        self.editor.close()
        self.imager.close()
        disconnect_all([(self.session.results_changed, self._classes),
                        (self.session.dataset_changed, self._on_dataset)])
