"""What the ferromap docks of one viewer share: the dataset, its results, the selected position.

One :class:`Session` per main dock (no global state). It follows the data (choosing another
dataset layer, *File > Open* or the file box switches it and removes the old results), turns
a click anywhere on the scan, whichever layer is active, into a selected position (a
viewer-level mouse callback, so a marker or helper layer never takes the mouse), and removes
every callback and key binding it added when its dock closes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from psygnal import Signal

from ferromap._napari._inspect import PositionView, inspect_position
from ferromap._napari._layers import scan_scale
from ferromap._napari._lifecycle import disconnect_all

ARROW_KEYS = {"Up": (-1, 0), "Down": (1, 0), "Left": (0, -1), "Right": (0, 1)}
MARKER = "selected position"


def layer_role(layer) -> str | None:
    """The ferromap role of a layer (``dataset``, ``navigation``, ``polarization``, ...)."""
    return (getattr(layer, "metadata", None) or {}).get("ferromap", {}).get("role")


def is_dataset_layer(layer) -> bool:
    """A 4-D dataset: opened by ferromap, or a 4-D greyscale image layer without a ferromap
    role (napari's own reader, ``viewer.add_image``); not an RGB stack or 4-D labels."""
    from napari.layers import Image

    role = layer_role(layer)
    return role == "dataset" or (role is None and isinstance(layer, Image)
                                 and not layer.rgb and getattr(layer.data, "ndim", 0) == 4)


def dataset_key(layer):
    """What identifies a dataset layer's data: its file, else the layer itself."""
    return (getattr(layer, "metadata", None) or {}).get("ferromap", {}).get("source") or id(layer)


def dataset_from_layer(layer):
    """The Dataset4D behind a 4-D image layer (re-opened from its file for fast reads)."""
    from ferromap.io import Calibration, Dataset4D, open_4dstem

    meta = layer.metadata.get("ferromap", {})
    data = layer.data
    if meta.get("axes") == "k_row,k_col,scan_row,scan_col":
        data = data.transpose(2, 3, 0, 1)
    source = meta.get("source")
    if source and Path(source).exists():
        ds = open_4dstem(source, **meta.get("open_kwargs", {}))
        if ds.data.shape == data.shape:
            return ds.with_calibration(**meta.get("calibration", {}))
    return Dataset4D(data, Calibration.from_dict(meta.get("calibration")), source or layer.name)


def status_text(maps, row: int, col: int) -> str:
    """``"(row, col) MU  p 0.93 | MU 0.93 RU 0.04 LU 0.01"``."""
    names = maps.classes.names
    lab = int(maps.labels[row, col])
    if lab >= len(names):
        return f"({row}, {col}) not classified"
    probs = maps.probs[row, col]
    top = np.argsort(probs)[::-1][:3]
    what = "p right" if maps.extra.get("confidence_calibrated") else "p"
    return (f"({row}, {col}) {names[lab]}  {what} {maps.confidence[row, col]:.2f} | "
            + " ".join(f"{names[i]} {probs[i]:.2f}" for i in top))


def symmetrize_default(model: str) -> bool:
    """Whether a model averages over its symmetry orientations unless told otherwise."""
    from ferromap.models.store import read_model_info

    try:
        info = read_model_info(model)
    except Exception:  # noqa: BLE001 - an unreadable model is reported when it is run
        return True
    return info.symmetrize_default and info.symmetry != "none"


def show_colorbar(layer) -> None:
    """Show the colour bar of a ferromap image layer that asks for one."""
    if (getattr(layer, "metadata", None) or {}).get("ferromap", {}).get("colorbar"):
        layer.colorbar.visible = True


def scale_bar(viewer):
    """The viewer's scale-bar overlay (napari >= 0.9: ``viewer.canvas.overlays``)."""
    canvas = getattr(viewer, "canvas", None)
    overlays = getattr(canvas, "overlays", None)
    return overlays["scale_bar"] if overlays is not None else viewer.scale_bar


def hide_idle_activity_spinner() -> None:
    """Stop napari's status-bar activity spinner when no progress bar is visible.

    napari 0.9 starts the spinner for every progress bar (*File > Open* makes one) and stops
    it only when a bar is destroyed, which a finished bar is not: the spinner then animates
    for good. Each of its frames repaints the window, about 30 ms of the GUI thread 26 times
    a second under software OpenGL, which starves the workers and delays every click. napari's
    own check (any progress bar still visible) decides; a napari without it is left alone.
    The dialog is found among the application's widgets (the viewer's window is private).
    """
    from qtpy.QtWidgets import QApplication

    for widget in QApplication.allWidgets():
        if type(widget).__name__ == "QtActivityDialog":
            hide = getattr(widget, "maybe_hide_progress_indicator", None)
            if callable(hide):
                hide()


class Session:
    """The dataset, the results, the selected position and the viewer hooks of one dock set."""

    dataset_changed = Signal(object)
    position_changed = Signal(object)
    results_changed = Signal()
    layers_changed = Signal()  # a layer was added or removed

    def __init__(self, viewer) -> None:
        self.viewer = viewer
        self.dataset = None
        self.dataset_key = None
        self.com_maps = None
        self.maps: dict[str, object] = {}  # "inference", "labelling" -> PolarizationMaps
        self.position: tuple[int, int] | None = None
        self.result_layers: set[str] = set()
        self._groups: dict[str, set[str]] = {}  # show_layers' groups
        self.closed = False
        self._marker_queued = False
        viewer.mouse_drag_callbacks.append(self._on_mouse)
        viewer.cursor.events.position.connect(self._status, position="last")
        viewer.layers.selection.events.active.connect(self._on_active)
        viewer.layers.events.inserted.connect(self._on_inserted)
        viewer.layers.events.removed.connect(self._on_removed)
        for layer in viewer.layers:
            show_colorbar(layer)
        for key, step in ARROW_KEYS.items():
            viewer.bind_key(key, self._step(step), overwrite=True)
        hide_idle_activity_spinner()

    # -- data -----------------------------------------------------------------------------------
    def set_dataset(self, dataset, key=None) -> None:
        """Use ``dataset``; the results of the previous one are removed."""
        if key is not None and key == self.dataset_key and self.dataset is not None:
            return
        self.clear_results()
        self.dataset, self.dataset_key = dataset, key
        self.position = None
        if dataset is not None and dataset.calibration.scan_step_nm:
            scale_bar(self.viewer).visible = True
        self.dataset_changed.emit(dataset)

    def update_calibration(self, **changes) -> None:
        """Change the current dataset's calibration (results computed with the old one go)."""
        if self.dataset is None:
            return
        self.clear_results()
        self.dataset = self.dataset.with_calibration(**changes)
        self._remember_calibration()
        if "scan_step_nm" in changes:
            self._rescale_scan_layers(self.dataset.calibration.scan_step_nm)
        self.dataset_changed.emit(self.dataset)

    def _remember_calibration(self) -> None:
        """Keep the calibration in the dataset's layer, so that coming back to it (from
        another dataset) finds the user's values, not the file's."""
        for layer in self.viewer.layers:
            if is_dataset_layer(layer) and dataset_key(layer) == self.dataset_key:
                meta = layer.metadata.setdefault("ferromap", {})
                meta["calibration"] = self.dataset.calibration.to_dict()

    def _rescale_scan_layers(self, step_nm: float | None) -> None:
        """Put this dataset's layers on the new scan step (nm, or scan pixels when unknown),
        so that results, the marker and the navigation images stay in register."""
        scale, unit = scan_scale(step_nm), "nm" if step_nm else "pixel"
        for layer in self.viewer.layers:
            meta = (getattr(layer, "metadata", None) or {}).get("ferromap", {})
            if meta.get("source") is None or meta.get("source") != self.dataset_key:
                continue
            layer.scale = (*layer.scale[:-2], *scale)
            layer.units = (*layer.units[:-2], unit, unit)
        scale_bar(self.viewer).visible = bool(step_nm)

    def use_layer(self, layer) -> None:
        """Switch to the dataset of a ``dataset`` or ``navigation`` layer."""
        if layer_role(layer) == "navigation":
            layer = self._dataset_layer_of(layer)
            if layer is None:
                return
        elif not is_dataset_layer(layer):
            return
        key = dataset_key(layer)
        if key != self.dataset_key:
            self.set_dataset(dataset_from_layer(layer), key)

    def _dataset_layer_of(self, nav):
        source = nav.metadata["ferromap"].get("source")
        for layer in self.viewer.layers:
            if layer_role(layer) == "dataset" and layer.metadata["ferromap"].get("source") == source:
                return layer
        return None

    def _on_active(self, event) -> None:
        if event.value is not None and not self.closed:
            self.use_layer(event.value)

    def _on_inserted(self, event) -> None:
        if self.closed:
            return
        from qtpy.QtCore import QTimer

        QTimer.singleShot(0, self._hide_spinner)  # after the open that inserted the layer
        show_colorbar(event.value)
        # a file ferromap opened becomes the dataset; another 4-D layer only when none is
        # in use (it is listed, and chosen like any other)
        if layer_role(event.value) == "dataset" or (self.dataset is None
                                                    and is_dataset_layer(event.value)):
            self.use_layer(event.value)
        self.layers_changed.emit()

    def _on_removed(self, event) -> None:
        if not self.closed:
            self.layers_changed.emit()

    def _hide_spinner(self) -> None:
        if not self.closed:
            try:
                hide_idle_activity_spinner()
            except RuntimeError:  # the window went meanwhile
                pass

    # -- results --------------------------------------------------------------------------------
    def show_layers(self, tuples: list[tuple], group: str | None = None,
                    replace_group: bool = True) -> None:
        """Add (or replace) result layers without changing which layer is active.

        ``group`` names what the layers show (``"inference"``, ``"com"``): the group's
        earlier layers that these do not replace are removed (a confidence layer named for
        another model, say), unless ``replace_group`` is False (these join the group)."""
        layers = self.viewer.layers
        active = layers.selection.active
        first = not self.result_layers
        if group is not None:
            names = {kwargs["name"] for _, kwargs, _ in tuples}
            old = self._groups.setdefault(group, set())
            for name in old - names if replace_group else ():
                if name in layers:
                    layers.remove(name)
                self.result_layers.discard(name)
            self._groups[group] = (old if not replace_group else set()) | names
        for data, kwargs, kind in tuples:
            name = kwargs["name"]
            if name in layers:
                layers.remove(name)
            getattr(self.viewer, f"add_{kind}")(data, **kwargs)
            self.result_layers.add(name)
        if active is not None and active in layers:
            layers.selection.active = active
        if first:
            self.viewer.reset_view()  # the legends beside the scan come into view
        self.results_changed.emit()

    def clear_results(self) -> None:
        """Remove the result layers and results of the current dataset."""
        self.com_maps, self.maps = None, {}
        for name in list(self.result_layers) + [MARKER]:
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)
        self.result_layers.clear()
        self._groups.clear()
        self.results_changed.emit()

    # -- the selected position ------------------------------------------------------------------
    def scan_position(self, world) -> tuple[int, int] | None:
        """``(row, col)`` of a world coordinate inside the scan, else ``None``."""
        if self.dataset is None:
            return None
        step = scan_scale(self.dataset.calibration.scan_step_nm)[0]
        row, col = (int(round(v / step)) for v in world[-2:])
        rows, cols = self.dataset.scan_shape
        return (row, col) if 0 <= row < rows and 0 <= col < cols else None

    def _status(self, event=None) -> None:
        """The status bar names the class and the probabilities under the cursor (after
        napari's own status, which this replaces when the cursor is on a mapped position)."""
        maps = self.maps.get("inference") or self.maps.get("labelling")
        if self.closed or maps is None:
            return
        pos = self.scan_position(self.viewer.cursor.position)
        if pos is None:
            return
        self.viewer.status = status_text(maps, *pos)

    def _on_mouse(self, viewer, event):
        if self.closed or getattr(event, "button", 1) != 1:
            return
        pos = self.scan_position(event.position)
        if pos is not None:
            self.select(*pos)

    def select(self, row: int, col: int) -> PositionView | None:
        """Show position ``(row, col)``: every linked view and the marker follow."""
        if self.dataset is None or self.closed:
            return None
        rows, cols = self.dataset.scan_shape
        row, col = int(np.clip(row, 0, rows - 1)), int(np.clip(col, 0, cols - 1))
        self.position = (row, col)
        view = inspect_position(self.dataset, row, col, self.maps, self.com_maps)
        self.position_changed.emit(view)  # the pattern first: the marker follows
        self._queue_marker()
        return view

    def _queue_marker(self) -> None:
        """Move the marker at the next turn of the event loop, after the pattern is painted
        (setting a Points layer's data costs about as much as painting the pattern); clicks or
        arrow keys faster than that move it once, to the latest position."""
        from qtpy.QtCore import QTimer

        if not self._marker_queued:
            self._marker_queued = True
            QTimer.singleShot(0, self._flush_marker)

    def _flush_marker(self) -> None:
        self._marker_queued = False
        if not self.closed and self.dataset is not None and self.position is not None:
            self._move_marker(*self.position)

    def _move_marker(self, row: int, col: int) -> None:
        step = scan_scale(self.dataset.calibration.scan_step_nm)[0]
        point = np.array([[row * step, col * step]])
        layers = self.viewer.layers
        if MARKER in layers:
            layers[MARKER].data = point
            return
        active = layers.selection.active
        units = {"units": ("nm", "nm")} if self.dataset.calibration.scan_step_nm else {}
        self.viewer.add_points(point, name=MARKER, symbol="cross", size=1.2 * step,
                               face_color="white", border_color="black",
                               metadata={"ferromap": {"role": "marker"}}, **units)
        if active is not None and active in layers:
            layers.selection.active = active

    def _step(self, step: tuple[int, int]):
        def move(_viewer) -> None:
            if self.position is not None:
                self.select(self.position[0] + step[0], self.position[1] + step[1])
        return move

    # -- cleanup --------------------------------------------------------------------------------
    def close(self) -> None:
        """Remove the mouse callback, key bindings and viewer listeners (the layers stay)."""
        if self.closed:
            return
        self.closed = True
        viewer = self.viewer
        while self._on_mouse in viewer.mouse_drag_callbacks:
            viewer.mouse_drag_callbacks.remove(self._on_mouse)
        disconnect_all([(viewer.layers.selection.events.active, self._on_active),
                        (viewer.layers.events.inserted, self._on_inserted),
                        (viewer.layers.events.removed, self._on_removed),
                        (viewer.cursor.events.position, self._status)])
        for key in ARROW_KEYS:
            viewer.bind_key(key, None, overwrite=True)
