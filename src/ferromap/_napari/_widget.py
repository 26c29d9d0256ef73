"""The "Polarization mapping" dock: dataset and calibration, CoM maps, inference, export.

napari builds it from the plugin menu (its ``__init__`` takes the viewer). It opens two
companion docks, the diffraction view and the labelling panel, and closes them, cancels its
work and removes its callbacks when it is closed. Long work runs in a worker thread
(:class:`~ferromap._napari._runner.Runner`); every failure is one notification in the GUI's
words. Compute code is called through :mod:`ferromap.pipelines`, as the CLI calls it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
    SpinBox,
)
from qtpy.QtCore import Qt, QTimer

from ferromap._napari._layers import com_layers, prediction_layers
from ferromap._napari._legend import fractions_html, legend_html
from ferromap._napari._lifecycle import ScrollDock, is_unset
from ferromap._napari._runner import Runner, notify_info
from ferromap._napari._session import (
    Session,
    dataset_key,
    is_dataset_layer,
    symmetrize_default,
)
from ferromap.models.store import DEVICES, SHIPPED
from ferromap.pipelines.calibration import DEFAULT_SEMIANGLE_MRAD

if TYPE_CHECKING:
    import napari

FROM_FILE = "model folder…"
DIFFRACTION_DOCK = "ferromap diffraction view"
LABELLING_DOCK = "ferromap label positions"


class PolarizationWidget(ScrollDock):
    """Dataset, calibration, CoM maps, inference, export; opens the linked diffraction view."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        self.viewer = viewer
        self.panel = Container(labels=True)
        super().__init__(self.panel.native)
        self.session = Session(viewer)
        self._build()
        self.runner = Runner(self.progress, self.cancel_button, self.status)
        self.session.dataset_changed.connect(self._on_dataset)
        self.session.results_changed.connect(self._on_results)
        self.session.layers_changed.connect(self.refresh_layers)
        self.docks: dict[str, object] = {}
        self.diffraction = self.labelling = None
        self.closed = False
        self.refresh_layers()
        # the companions are docked once napari has docked this widget, so that they can be
        # arranged around it: the diffraction view above, the labelling panel in a tab
        QTimer.singleShot(0, self._open_companions)

    def _open_companions(self) -> None:
        if self.closed:
            return
        self.show_diffraction()
        self.show_labelling()
        self._arrange()

    def _arrange(self) -> None:
        """Diffraction view above this dock, labelling tabbed with it, all within 1080 px."""
        from qtpy.QtWidgets import QMainWindow

        main, window = self.parent(), self.window()
        view, label = (getattr(self.docks.get(n), "parent", lambda: None)()
                       for n in (DIFFRACTION_DOCK, LABELLING_DOCK))
        if not isinstance(window, QMainWindow) or main is None or view is None:
            return
        window.splitDockWidget(view, main, Qt.Orientation.Vertical)
        if label is not None:
            window.tabifyDockWidget(main, label)
        main.raise_()
        window.resizeDocks([view, main], [580, 420], Qt.Orientation.Vertical)

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        self.layer_choice = ComboBox(label="dataset layer", choices=self._dataset_layers)
        self.open_file = FileEdit(label="or open file", mode="r")
        self.scan_rows = SpinBox(label="scan rows (stacks)", min=0, max=100000, value=0)
        self.scan_cols = SpinBox(label="scan cols (stacks)", min=0, max=100000, value=0)
        self.dataset_index = LineEdit(label="dataset (files with several)", value="")
        self.dataset_index.tooltip = "an index, or an HDF5 path such as /data/4d"
        self.info = Label(label="data", value="no dataset")
        self.mrad = FloatSpinBox(label="mrad / px", min=0.0, max=1000.0, step=0.01, value=0.0)
        self.semiangle = FloatSpinBox(label="semi-angle (mrad)", min=0.1, max=200.0, step=0.5,
                                      value=DEFAULT_SEMIANGLE_MRAD)
        self.estimate_mrad = PushButton(text="Estimate mrad/px from the disk")
        self.step = FloatSpinBox(label="scan step (nm)", min=0.0, max=1e4, step=0.0001,
                                 value=0.0)
        self.step.native.setKeyboardTracking(False)  # a step acts once typed, not per key
        self.calibration_note = Label(label="calibration", value="")
        self.reference = ComboBox(label="CoM reference", choices=["mean", "plane", "quadratic"])
        self.rotation = FloatSpinBox(label="rotation (°)", min=-360, max=360, step=0.1)
        self.flip = CheckBox(text="flip detector rows")
        self.estimate = PushButton(text="Estimate rotation (curl)")
        self.com_button = PushButton(text="Compute CoM maps")
        self.model = ComboBox(label="model", choices=[*SHIPPED, FROM_FILE])
        self.model_file = FileEdit(label="model folder", mode="d")
        self.device = ComboBox(label="device", choices=list(DEVICES))
        self.gpu = Label(label="GPU", value=_gpu_name())
        self.symmetrize = CheckBox(text="average over the crystal's 8 symmetry orientations "
                                        "(8 passes)", value=symmetrize_default(SHIPPED[0]))
        self.run_button = PushButton(text="Run polarization inference")
        self.cancel_button = PushButton(text="Cancel")
        self.progress = ProgressBar(label="progress", min=0, max=1000, value=0)
        self.status = Label(label="status", value="")
        self.results = Label(label="result", value="")
        self.legend = Label(label="legend", value="")
        self.probability_layers = PushButton(text="Show one layer per class probability",
                                             enabled=False)
        self.export_dir = FileEdit(label="export folder", mode="d")
        self.replace = CheckBox(text="replace earlier results in that folder")
        self.export_button = PushButton(text="Export maps", enabled=False)
        self.show_view = PushButton(text="Show diffraction view")
        self.show_label_panel = PushButton(text="Label positions…")
        self.panel.extend([
            self.layer_choice, self.open_file, self.scan_rows, self.scan_cols,
            self.dataset_index, self.info,
            self.mrad, self.semiangle, self.estimate_mrad, self.step, self.calibration_note,
            self.reference, self.rotation, self.flip, self.estimate, self.com_button,
            self.model, self.model_file, self.device, self.gpu, self.symmetrize,
            self.run_button, self.cancel_button, self.progress, self.status, self.results,
            self.legend, self.probability_layers, self.export_dir, self.replace,
            self.export_button, self.show_view,
            self.show_label_panel])
        for text in (self.info, self.calibration_note, self.status, self.results, self.legend):
            text.native.setWordWrap(True)  # a long note wraps instead of widening the dock
        self.layer_choice.changed.connect(self._on_layer_chosen)
        self.open_file.changed.connect(self._on_open_file)
        self.mrad.changed.connect(self._on_mrad)
        self.step.changed.connect(self._on_step)
        self.estimate_mrad.clicked.connect(self.estimate_calibration)
        self.com_button.clicked.connect(lambda: self.compute_com(auto_rotation=False))
        self.estimate.clicked.connect(lambda: self.compute_com(auto_rotation=True))
        self.run_button.clicked.connect(self.run_inference)
        self.export_button.clicked.connect(self.export)
        self.probability_layers.clicked.connect(self.show_probabilities)
        self.show_view.clicked.connect(self.show_diffraction)
        self.show_label_panel.clicked.connect(self.show_labelling)
        self.model.changed.connect(self._model_default)
        self.model_file.changed.connect(self._model_default)

    def _add_dock(self, name: str, widget, area: str) -> None:
        window = getattr(self.viewer, "window", None)
        if window is None or not hasattr(window, "add_dock_widget"):
            return
        window.add_dock_widget(widget, name=name, area=area)
        self.docks[name] = widget  # the inner widget: its parent() is the QDockWidget

    def show_diffraction(self) -> None:
        """Open the diffraction view (again, if it was closed)."""
        from ferromap._napari._diffraction import DiffractionView

        if self.diffraction is not None and DIFFRACTION_DOCK in self.docks:
            return
        self.diffraction = DiffractionView(self.session)
        self.session.position_changed.connect(self.diffraction.show_position)
        self._add_dock(DIFFRACTION_DOCK, self.diffraction, "right")
        _watch_removal(self.diffraction, lambda: self._companion_closed(DIFFRACTION_DOCK))
        self._show_mean()

    def show_labelling(self) -> None:
        """Open the labelling panel (again, if it was closed)."""
        from ferromap._napari._labelling import LabellingPanel

        if self.labelling is not None and LABELLING_DOCK in self.docks:
            return
        self.labelling = LabellingPanel(self.session, device=lambda: self.device.value)
        self._add_dock(LABELLING_DOCK, self.labelling, "right")
        _watch_removal(self.labelling, lambda: self._companion_closed(LABELLING_DOCK))

    def _companion_closed(self, name: str) -> None:
        self.docks.pop(name, None)
        if name == DIFFRACTION_DOCK and self.diffraction is not None:
            self.session.position_changed.disconnect(self.diffraction.show_position)
            self.diffraction.tools.close()
            self.diffraction = None
        elif name == LABELLING_DOCK and self.labelling is not None:
            self.labelling.close_dock()
            self.labelling = None

    def _dataset_layers(self, *_args) -> list:
        return [(layer.name, layer) for layer in self.viewer.layers if is_dataset_layer(layer)]

    def refresh_layers(self) -> None:
        """Update the dataset chooser (and use the first 4-D layer if none is in use, or if
        the layer of the one in use was removed)."""
        in_use = self.session.dataset_key
        if self.session.dataset is not None and not any(
                dataset_key(layer) == in_use for _name, layer in self._dataset_layers()):
            self.session.set_dataset(None)  # its layer is gone: nothing runs on hidden data
        self._show_layers()
        if self.session.dataset is None and self.layer_choice.value is not None:
            self._on_layer_chosen(self.layer_choice.value)

    def _show_layers(self) -> None:
        """List the 4-D layers, the one in use chosen."""
        with self.layer_choice.changed.blocked():
            self.layer_choice.reset_choices()
            for _name, layer in self._dataset_layers():
                if self.session.dataset_key == dataset_key(layer):
                    self.layer_choice.value = layer

    # -- dataset and calibration ----------------------------------------------------------------
    def _on_layer_chosen(self, layer) -> None:
        if layer is None:
            return
        try:
            self.session.use_layer(layer)
        except Exception as exc:  # noqa: BLE001
            self.runner.fail(exc)

    def _on_open_file(self, path) -> None:
        from ferromap._napari._reader import read_dataset_layers
        from ferromap.io import open_4dstem

        if is_unset(path) or not Path(path).exists():
            return
        shape = (self.scan_rows.value, self.scan_cols.value) if self.scan_rows.value else None
        which = self.dataset_index.value.strip() or None  # an index or an HDF5 path
        try:
            ds = open_4dstem(path, scan_shape=shape, dataset=which)
            kwargs = {"scan_shape": list(shape)} if shape else {}
            if which is not None:
                kwargs["dataset"] = which
            for data, layer_kwargs, kind in read_dataset_layers(ds, Path(path).name, kwargs):
                getattr(self.viewer, f"add_{kind}")(data, **layer_kwargs)
        except Exception as exc:  # noqa: BLE001
            self.runner.fail(exc)

    def _on_dataset(self, ds) -> None:
        self._show_layers()
        if ds is None:
            self.info.value = "no dataset"
            return
        cal = ds.calibration
        self.info.value = (f"{ds.data.shape} {ds.data.dtype}; step "
                           f"{cal.scan_step_nm or '?'} nm")
        with self.mrad.changed.blocked():
            self.mrad.value = cal.mrad_per_px or 0.0
        with self.step.changed.blocked():  # a step the field cannot hold is left unknown
            step = cal.scan_step_nm or 0.0
            self.step.value = step if 0.0 < step <= self.step.max else 0.0
        if cal.semiangle_mrad:
            self.semiangle.value = cal.semiangle_mrad
        self.calibration_note.value = {
            "file": "mrad/px from the file", "user": "mrad/px as you entered it",
            "estimated": self.calibration_note.value}.get(cal.mrad_per_px_source, "")
        if not cal.mrad_per_px:
            self.estimate_calibration()
        self._show_mean()

    def estimate_calibration(self) -> None:
        """Estimate mrad/px from the bright-field disk and the semi-angle, for the user to
        check (recorded as ``estimated`` in the results)."""
        from ferromap.core.geometry import plan_detector, sample_patterns
        from ferromap.pipelines.calibration import resolve_calibration

        ds = self.session.dataset
        if ds is None:
            return
        try:
            plan = plan_detector(sample_patterns(ds.data, 32, read_one=ds.pattern))
            blind = ds.with_calibration(mrad_per_px=None, mrad_per_px_source=None)
            _, est = resolve_calibration(blind, plan, self.semiangle.value)
        except Exception as exc:  # noqa: BLE001
            self.runner.fail(exc)
            return
        self.calibration_note.value = est.message().replace("mrad/px is not in the file: ",
                                                            "") + ": check it"
        with self.mrad.changed.blocked():
            self.mrad.value = round(est.mrad_per_px, 4)
        self.session.update_calibration(mrad_per_px=est.mrad_per_px, mrad_per_px_source="estimated",
                                        semiangle_mrad=est.semiangle_mrad)
        notify_info(self.calibration_note.value)

    def _on_mrad(self, value: float) -> None:
        self.calibration_note.value = "mrad/px as you entered it" if value else ""
        self.session.update_calibration(mrad_per_px=value or None,
                                        mrad_per_px_source="user" if value else None)

    def _on_step(self, value: float) -> None:
        self.session.update_calibration(scan_step_nm=value or None)

    def _show_mean(self) -> None:
        from ferromap.core.geometry import sample_patterns

        ds = self.session.dataset
        if self.diffraction is None:
            return
        if ds is None:
            self.diffraction.clear()
            return
        try:
            mean = sample_patterns(ds.data, 32, read_one=ds.pattern).mean(axis=0)
        except Exception:  # noqa: BLE001 - an unreadable dataset is reported when used
            return
        self.diffraction.show_mean(mean, ds.calibration.mrad_per_px, None)

    # -- CoM and inference ----------------------------------------------------------------------
    def compute_com(self, auto_rotation: bool = False) -> None:
        """CoM magnitude, direction and shift vectors (estimating the rotation if asked)."""
        from ferromap.pipelines.com import compute_com_maps

        ds = self.session.dataset
        if ds is None:
            self.runner.fail(ValueError("choose a dataset layer or open a file first"))
            return
        ref, flip = self.reference.value, self.flip.value
        rot = "auto" if auto_rotation else self.rotation.value

        def job(progress, cancel):
            return compute_com_maps(ds, reference=ref, rotation_deg=rot, flip=flip,
                                    progress=progress, cancel=cancel)

        self.runner.start("CoM maps", job, self._show_com)

    def _show_com(self, com_maps) -> None:
        self.session.com_maps = com_maps
        with self.rotation.changed.blocked(), self.flip.changed.blocked():
            # the same rotation nearest 0 (-0.1°, not 359.9°)
            self.rotation.value = round((com_maps.rotation_deg + 180.0) % 360.0 - 180.0, 2)
            self.flip.value = com_maps.flip
        self.session.show_layers(com_layers(com_maps), group="com")

    def _model_default(self, *_args) -> None:
        try:
            self.symmetrize.value = symmetrize_default(self._model_name())
        except ValueError:
            pass  # no folder chosen yet

    def _model_name(self) -> str:
        if self.model.value == FROM_FILE:
            folder = self.model_file.value
            if is_unset(folder) or not Path(folder).is_dir():
                raise ValueError("choose a model folder")
            return str(folder)
        return self.model.value

    def run_inference(self) -> None:
        """Run the chosen model over the dataset in the background."""
        from ferromap.pipelines.predict import run_predict

        ds = self.session.dataset
        try:
            if ds is None:
                raise ValueError("choose a dataset layer or open a file first")
            name = self._model_name()
        except ValueError as exc:
            self.runner.fail(exc)
            return
        device, symmetrize = self.device.value, self.symmetrize.value

        def job(progress, cancel):
            return run_predict(ds, name, device=device, symmetrize=symmetrize,
                               progress=progress, cancel=cancel)

        self.runner.start("inference", job, lambda maps: self._show_maps(maps, ds))

    def _show_maps(self, maps, dataset) -> None:
        if dataset is not self.session.dataset:  # another dataset, or a new calibration
            notify_info("the data or its calibration changed during the run: its maps were "
                        "not shown; run again")
            return
        self.session.maps["inference"] = maps
        self.session.show_layers(prediction_layers(maps), group="inference")
        estimate = maps.extra.get("scan_step_estimate")
        if estimate:  # the model read the scan at a step the user has not given: say so
            notify_info(f"{estimate['message']}; enter the scan step if you know it")
        if self.session.position is not None:
            self.session.select(*self.session.position)

    def _on_results(self) -> None:
        maps = self.session.maps.get("inference")
        self.export_button.enabled = self.probability_layers.enabled = maps is not None
        if maps is None:
            self.results.value = self.legend.value = ""
            return
        self.results.value = fractions_html(maps.class_fractions(), maps.title(), maps.classes)
        self.legend.value = legend_html(maps.classes)

    def show_probabilities(self) -> None:
        """One image layer per class: the probability of that class at every position."""
        from ferromap._napari._layers import probability_layers

        maps = self.session.maps.get("inference")
        if maps is not None:
            self.session.show_layers(probability_layers(maps), group="inference",
                                     replace_group=False)

    def export(self) -> None:
        """Write the ``ferromap predict`` files to the chosen folder."""
        from ferromap.pipelines.export import export_maps

        maps = self.session.maps.get("inference")
        try:
            if maps is None:
                raise ValueError("run the inference first")
            if is_unset(self.export_dir.value):
                raise ValueError("choose an export folder first")
            out = Path(self.export_dir.value)
            export_maps(maps, out, force=self.replace.value, source=self.session.dataset.source)
        except Exception as exc:  # noqa: BLE001
            self.runner.fail(exc)
            return
        self.status.value = f"maps written to {out.resolve()}"
        notify_info(f"maps written to {out.resolve()}")

    # -- closing --------------------------------------------------------------------------------
    def close_dock(self) -> None:
        """Cancel running work, remove callbacks and the companion docks."""
        if self.closed:
            return
        self.closed = True
        self.runner.close()
        if self.labelling is not None:
            self.labelling.close_dock()
        if self.diffraction is not None:
            self.diffraction.tools.close()
        self.session.close()
        window = getattr(self.viewer, "window", None)
        for name, inner in list(self.docks.items()):
            self.docks.pop(name, None)
            try:
                window.remove_dock_widget(inner)
            except (RuntimeError, AttributeError, KeyError, ValueError, LookupError):
                pass
        self.diffraction = self.labelling = None


def _watch_removal(inner, callback) -> None:
    """Call ``callback`` when napari removes the dock of ``inner`` (it loses its parent)."""
    from ferromap._napari._lifecycle import _RemovalWatcher

    if inner.parent() is None:
        return  # not docked (no window)
    watcher = _RemovalWatcher(inner, callback)
    watcher.docked = True
    inner.installEventFilter(watcher)
    inner._ferromap_watcher = watcher


def _gpu_name() -> str:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU)"
    except Exception:  # noqa: BLE001
        return "unknown"

