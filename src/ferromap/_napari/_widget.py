"""The "Polarization mapping" dock widget and the two plugin-menu commands.

The widget holds its own state (no global singleton). Long work runs through
:func:`ferromap._napari._worker.run_task`; every failure becomes a notification.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    ProgressBar,
    PushButton,
    SpinBox,
)

from ferromap._napari._callbacks import add_mouse_callback, remove_mouse_callback, select_on_click
from ferromap._napari._inspect import inspect_position
from ferromap._napari._layers import com_layers, prediction_layers
from ferromap._napari._legend import fractions_html, legend_html

if TYPE_CHECKING:
    import napari

MAP_ROLES = {"navigation", "polarization", "confidence", "low_info", "com_magnitude",
             "com_direction", "labelled", "probability_rgb"}
ARROW_KEYS = {"Up": (-1, 0), "Down": (1, 0), "Left": (0, -1), "Right": (0, 1)}


def _notify_error(message: str) -> None:
    from napari.utils.notifications import show_error

    show_error(message)


def _notify_info(message: str) -> None:
    from napari.utils.notifications import show_info

    show_info(message)


def dataset_from_layer(layer):
    """The Dataset4D behind a 4-D image layer (re-opened from its file for fast reads)."""
    from ferromap.io import Calibration, Dataset4D, open_4dstem

    meta = layer.metadata.get("ferromap", {})
    data = layer.data
    if meta.get("axes") == "k_row,k_col,scan_row,scan_col":
        data = data.transpose(2, 3, 0, 1)
    source = meta.get("source")
    if source and Path(source).exists():
        ds = open_4dstem(source)
        if ds.data.shape == data.shape:
            return ds
    return Dataset4D(data, Calibration(**meta.get("calibration", {})), source or layer.name)


class PolarizationWidget(Container):
    """Dataset, CoM maps, inference, export, and the linked diffraction view."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(labels=True)
        self.viewer = viewer
        self.dataset = None
        self.maps = None
        self.com_maps = None
        self.position: tuple[int, int] | None = None
        self.cancel = threading.Event()
        self.worker = None
        self._build()
        viewer.layers.events.inserted.connect(self._on_layer_inserted)
        for layer in viewer.layers:
            self._link(layer)
        for key, step in ARROW_KEYS.items():
            viewer.bind_key(key, self._step_callback(step), overwrite=True)
        self.native.destroyed.connect(self.close_links)
        self.refresh_layers()

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        from ferromap._napari._diffraction import DiffractionView
        from ferromap._napari._labelling import LabellingPanel

        self.layer_choice = ComboBox(label="dataset layer", choices=self._dataset_layers)
        self.open_file = FileEdit(label="or open file", mode="r")
        self.scan_rows = SpinBox(label="scan rows (stacks)", min=0, max=100000, value=0)
        self.scan_cols = SpinBox(label="scan cols (stacks)", min=0, max=100000, value=0)
        self.info = Label(label="data", value="no dataset")
        self.mrad = FloatSpinBox(label="mrad / px", min=0.0, max=1000.0, step=0.01, value=0.0)
        self.reference = ComboBox(label="CoM reference", choices=["mean", "plane"])
        self.rotation = FloatSpinBox(label="rotation (°)", min=-360, max=360, step=0.1)
        self.flip = CheckBox(text="flip detector rows")
        self.estimate = PushButton(text="Estimate rotation (curl)")
        self.com_button = PushButton(text="Compute CoM maps")
        self.model = ComboBox(label="model", choices=["conv-proto", "pca-knn", "from file"])
        self.model_file = FileEdit(label="model folder", mode="d")
        self.device = ComboBox(label="device", choices=["auto", "cpu", "cuda"])
        self.gpu = Label(label="GPU", value=_gpu_name())
        self.symmetrize = CheckBox(text="average over crystal symmetry (8× slower, more accurate)",
                                   value=True)
        self.run_button = PushButton(text="Run polarization inference")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(label="progress", min=0, max=1000, value=0)
        self.results = Label(label="result", value="")
        self.legend = Label(label="legend", value="")
        self.export_dir = FileEdit(label="export folder", mode="d")
        self.export_button = PushButton(text="Export maps", enabled=False)
        self.status = Label(label="status", value="")
        self.extend([self.layer_choice, self.open_file, self.scan_rows, self.scan_cols, self.info,
                     self.mrad, self.reference, self.rotation, self.flip, self.estimate,
                     self.com_button, self.model, self.model_file, self.device, self.gpu,
                     self.symmetrize, self.run_button, self.cancel_button, self.progress, self.results,
                     self.legend, self.export_dir, self.export_button, self.status])
        self.diffraction = DiffractionView()
        self.labelling = LabellingPanel(self)
        self._docks = []
        window = getattr(self.viewer, "window", None)
        if window is not None and hasattr(window, "add_dock_widget"):
            self._docks = [
                window.add_dock_widget(self.diffraction, name="ferromap diffraction view",
                                       area="left"),
                window.add_dock_widget(self.labelling, name="ferromap label positions",
                                       area="right")]
        self.layer_choice.changed.connect(self._on_layer_chosen)
        self.open_file.changed.connect(self._on_open_file)
        self.com_button.clicked.connect(lambda: self.compute_com(auto_rotation=False))
        self.estimate.clicked.connect(lambda: self.compute_com(auto_rotation=True))
        self.run_button.clicked.connect(self.run_inference)
        self.cancel_button.clicked.connect(self.cancel.set)
        self.export_button.clicked.connect(self.export)
        self.mrad.changed.connect(self._on_mrad)

    def _dataset_layers(self, *_args) -> list:
        return [(layer.name, layer) for layer in self.viewer.layers
                if getattr(layer.data, "ndim", 0) == 4]

    def refresh_layers(self) -> None:
        """Update the dataset chooser (and pick the first 4-D layer)."""
        self.layer_choice.reset_choices()
        if self.dataset is None and self.layer_choice.value is not None:
            self._on_layer_chosen(self.layer_choice.value)

    # -- dataset --------------------------------------------------------------------------------
    def set_dataset(self, ds) -> None:
        """Use ``ds`` for CoM, inference, labelling and the diffraction view."""
        previous, self.dataset = self.dataset, ds
        cal = ds.calibration
        self.info.value = (f"{ds.data.shape} {ds.data.dtype}; "
                           f"{cal.mrad_per_px or '?'} mrad/px; step {cal.scan_step_nm or '?'} nm")
        with self.mrad.changed.blocked():
            self.mrad.value = cal.mrad_per_px or 0.0
        self.maps = None
        self.export_button.enabled = False
        if self.labelling.session is not None and ds is not previous:
            self.labelling.end("the dataset changed: start labelling again")

    def _on_layer_chosen(self, layer) -> None:
        if layer is None:
            return
        try:
            self.set_dataset(dataset_from_layer(layer))
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)

    def _on_open_file(self, path) -> None:
        from ferromap._napari._reader import read_dataset_layers
        from ferromap.io import open_4dstem

        if not path or not Path(path).exists() or Path(path) == Path("."):
            return
        shape = (self.scan_rows.value, self.scan_cols.value) if self.scan_rows.value else None
        try:
            ds = open_4dstem(path, scan_shape=shape)
            for data, kwargs, kind in read_dataset_layers(ds, Path(path).name):
                getattr(self.viewer, f"add_{kind}")(data, **kwargs)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return
        self.refresh_layers()
        self.set_dataset(ds)

    def _on_mrad(self, value: float) -> None:
        if self.dataset is not None:
            self.dataset = self.dataset.with_calibration(mrad_per_px=value or None)

    # -- long work ------------------------------------------------------------------------------
    def _start(self, fn, on_done, label: str) -> None:
        from ferromap._napari._worker import run_task

        if self.dataset is None:
            self._fail(ValueError("choose a dataset layer or open a file first"))
            return
        if self.worker is not None:
            self._fail(ValueError("a computation is already running; cancel it first"))
            return
        self.cancel.clear()
        self.cancel_button.enabled = True
        self.status.value = f"{label}…"
        self.progress.value = 0

        def done(result):
            self._finish()
            try:
                on_done(result)
                self.status.value = f"{label}: done"
            except Exception as exc:  # noqa: BLE001
                self._fail(exc)

        def error(exc):
            self._finish()
            self._fail(exc)

        self.worker = run_task(fn, on_done=done, on_error=error, on_progress=self._on_progress,
                               cancel=self.cancel)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.value = int(1000 * done / max(total, 1))

    def _finish(self) -> None:
        self.worker = None
        self.cancel_button.enabled = False

    def _fail(self, exc: Exception) -> None:
        message = str(exc) or type(exc).__name__
        self.status.value = f"error: {message}"
        _notify_error(f"ferromap: {message}")

    def compute_com(self, auto_rotation: bool = False) -> None:
        """CoM magnitude, direction and shift vectors (estimating the rotation if asked)."""
        from ferromap.com_maps import compute_com_maps

        ds, ref = self.dataset, self.reference.value
        rot = "auto" if auto_rotation else self.rotation.value
        flip = self.flip.value

        def job(progress, cancel):
            return compute_com_maps(ds, reference=ref, rotation_deg=rot, flip=flip,
                                    progress=progress, cancel=cancel)

        self._start(job, self._show_com, "CoM maps")

    def _show_com(self, com_maps) -> None:
        self.com_maps = com_maps
        with self.rotation.changed.blocked(), self.flip.changed.blocked():
            self.rotation.value = round(com_maps.rotation_deg, 2)
            self.flip.value = com_maps.flip
        self._replace_layers(com_layers(com_maps, self.dataset.calibration.scan_step_nm))

    def _model_name(self) -> str:
        if self.model.value == "from file":
            folder = self.model_file.value
            if not folder or str(folder) in ("", ".") or not Path(folder).is_dir():
                raise ValueError("choose a model folder")
            return str(self.model_file.value)
        return self.model.value

    def run_inference(self) -> None:
        """Run the chosen model over the dataset in the background."""
        from ferromap.inference import predict_dataset
        from ferromap.models.store import load_model

        try:
            name, device = self._model_name(), self.device.value
            symmetrize = self.symmetrize.value
        except ValueError as exc:
            self._fail(exc)
            return
        ds = self.dataset

        def job(progress, cancel):
            from ferromap.inference import check_model_fits

            model = load_model(name, device=device, symmetrize=symmetrize)
            check_model_fits(ds, model)
            return predict_dataset(ds, model, progress=progress, cancel=cancel)

        self._start(job, self._show_maps, "inference")

    def _show_maps(self, maps) -> None:
        self.maps = maps
        self._replace_layers(prediction_layers(maps, self.dataset.calibration.scan_step_nm))
        self.results.value = fractions_html(maps.class_fractions(), maps.majority_class(),
                                            maps.classes)
        self.legend.value = legend_html(maps.classes)
        self.export_button.enabled = True
        if self.position is not None:
            self.select(*self.position)

    def export(self) -> None:
        """Write the ``ferromap predict`` files to the chosen folder."""
        from ferromap.export import export_maps

        if self.maps is None:
            self._fail(ValueError("run the inference first"))
            return
        out = Path(self.export_dir.value or ".")
        try:
            export_maps(self.maps, out, source=self.dataset.source,
                        scan_step_nm=self.dataset.calibration.scan_step_nm)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return
        self.status.value = f"maps written to {out.resolve()}"
        _notify_info(f"ferromap: maps written to {out.resolve()}")

    # -- layers and linked view -----------------------------------------------------------------
    def _replace_layers(self, tuples: list[tuple]) -> None:
        for data, kwargs, kind in tuples:
            name = kwargs["name"]
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)
            getattr(self.viewer, f"add_{kind}")(data, **kwargs)

    def _link(self, layer) -> None:
        role = layer.metadata.get("ferromap", {}).get("role")
        if role in MAP_ROLES:
            add_mouse_callback(layer, select_on_click, self)

    def _on_layer_inserted(self, event) -> None:
        self._link(event.value)
        if getattr(event.value.data, "ndim", 0) == 4:
            self.refresh_layers()

    def select(self, row: int, col: int) -> None:
        """Show position (row, col): diffraction view, text panel and the map marker."""
        if self.dataset is None:
            return
        rows, cols = self.dataset.scan_shape
        row, col = int(np.clip(row, 0, rows - 1)), int(np.clip(col, 0, cols - 1))
        self.position = (row, col)
        try:
            global_com = self.com_maps.global_com if self.com_maps is not None else None
            view = inspect_position(self.dataset, row, col, self.maps, global_com)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return
        self.diffraction.show_position(view)
        self._move_marker(row, col)
        self.labelling.on_select(row, col)

    def _move_marker(self, row: int, col: int) -> None:
        step = self.dataset.calibration.scan_step_nm or 1.0
        point = np.array([[row * step, col * step]])
        name = "selected position"
        if name in self.viewer.layers:
            self.viewer.layers[name].data = point
        else:
            units = {"units": ("nm", "nm")} if self.dataset.calibration.scan_step_nm else {}
            self.viewer.add_points(point, name=name, symbol="cross", size=1.2 * step,
                                   face_color="white", border_color="black",
                                   metadata={"ferromap": {"role": "marker"}}, **units)

    def _step_callback(self, step: tuple[int, int]):
        def move(viewer) -> None:
            if self.position is not None:
                self.select(self.position[0] + step[0], self.position[1] + step[1])
        return move

    def close_links(self, *_args) -> None:
        """Remove every callback and key binding this widget added (called on close)."""
        try:
            self.viewer.layers.events.inserted.disconnect(self._on_layer_inserted)
        except (TypeError, ValueError, RuntimeError):
            pass
        for layer in list(self.viewer.layers):
            if layer.metadata.get("ferromap_controller") is self:
                remove_mouse_callback(layer, select_on_click)
        for key in ARROW_KEYS:
            self.viewer.bind_key(key, None, overwrite=True)
        self.labelling.close()
        for dock in self._docks:
            try:
                self.viewer.window.remove_dock_widget(dock)
            except (RuntimeError, AttributeError, KeyError, ValueError):
                pass
        self._docks = []
        self.cancel.set()


def _gpu_name() -> str:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU)"
    except Exception:  # noqa: BLE001
        return "unknown"


def polarization_widget(viewer: napari.viewer.Viewer) -> PolarizationWidget:
    """npe2 widget contribution: the main dock."""
    return PolarizationWidget(viewer)
