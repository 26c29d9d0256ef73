"""Plugin-menu commands: one-shot CoM maps and inference on a dataset layer.

Each is a small dock that napari builds from the menu (its ``__init__`` takes the viewer):
choose the layer and the settings, press the button; the work runs in a worker thread with a
progress bar and Cancel, through the same pipelines as the CLI and the main dock, and the
result layers are added when it ends, named after the model (or the CoM reference) so that
they neither replace the main dock's layers nor another model's. Closing the dock cancels
the work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    Label,
    ProgressBar,
    PushButton,
)

from ferromap._napari._lifecycle import ScrollDock, disconnect_all
from ferromap._napari._runner import Runner, notify_info
from ferromap._napari._session import is_dataset_layer, show_colorbar, symmetrize_default
from ferromap.models.store import DEVICES, SHIPPED

if TYPE_CHECKING:
    import napari


class _Command(ScrollDock):
    """A dataset chooser, settings, a run button, progress, Cancel and a status line."""

    title = ""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        self.viewer = viewer
        self.panel = Container(labels=True)
        super().__init__(self.panel.native)
        self.dataset = ComboBox(label="dataset layer", choices=self._dataset_layers)
        self.run_button = PushButton(text=self.title)
        self.cancel_button = PushButton(text="Cancel")
        self.progress = ProgressBar(label="progress", min=0, max=1000, value=0)
        self.status = Label(label="status", value="")
        self.panel.extend([self.dataset, *self.settings(), self.run_button, self.cancel_button,
                           self.progress, self.status])
        self.runner = Runner(self.progress, self.cancel_button, self.status)
        self.run_button.clicked.connect(self.run)
        viewer.layers.events.inserted.connect(self._refresh)
        viewer.layers.events.removed.connect(self._refresh)

    def settings(self) -> list:
        return []

    def _dataset_layers(self, *_args) -> list:
        return [(layer.name, layer) for layer in self.viewer.layers if is_dataset_layer(layer)]

    def _refresh(self, *_args) -> None:
        self.dataset.reset_choices()

    def run(self) -> None:
        """Start the command on the chosen dataset layer."""
        from ferromap._napari._session import dataset_from_layer

        layer = self.dataset.value
        if layer is None:
            self.runner.fail(ValueError("open a 4D-STEM dataset first (File > Open)"))
            return
        try:
            ds = dataset_from_layer(layer)
        except Exception as exc:  # noqa: BLE001
            self.runner.fail(exc)
            return
        self.runner.start(self.title, self.job(ds), self._add_layers)

    def job(self, ds):
        raise NotImplementedError

    def _add_layers(self, outcome: tuple[list[tuple], str | None]) -> None:
        tuples, note = outcome
        if note:
            notify_info(note)
        active = self.viewer.layers.selection.active
        for data, kwargs, kind in tuples:
            if kwargs["name"] in self.viewer.layers:
                self.viewer.layers.remove(kwargs["name"])
            show_colorbar(getattr(self.viewer, f"add_{kind}")(data, **kwargs))
        if active is not None and active in self.viewer.layers:
            self.viewer.layers.selection.active = active

    def close_dock(self) -> None:
        """Cancel the running work and stop listening to the viewer."""
        self.runner.close()
        disconnect_all([(self.viewer.layers.events.inserted, self._refresh),
                        (self.viewer.layers.events.removed, self._refresh)])


class ComMapsCommand(_Command):
    """*Plugins > ferromap > Compute CoM maps*: magnitude, direction, shift vectors."""

    title = "Compute CoM maps"

    def settings(self) -> list:
        self.reference = ComboBox(label="reference", choices=["mean", "plane", "quadratic"])
        self.rotation = FloatSpinBox(label="rotation (°)", min=-360.0, max=360.0)
        self.auto_rotation = CheckBox(text="estimate the rotation (curl)")
        self.flip = CheckBox(text="flip detector rows")
        return [self.reference, self.rotation, self.auto_rotation, self.flip]

    def job(self, ds):
        from ferromap._napari._layers import com_layers
        from ferromap.pipelines.com import compute_com_maps

        ref, flip = self.reference.value, self.flip.value
        rot = "auto" if self.auto_rotation.value else self.rotation.value

        def work(progress, cancel):
            maps = compute_com_maps(ds, reference=ref, rotation_deg=rot, flip=flip,
                                    progress=progress, cancel=cancel)
            return com_layers(maps, prefix=f"{ref} reference: "), None

        return work


class InferenceCommand(_Command):
    """*Plugins > ferromap > Run polarization inference*: the map of a dataset layer."""

    title = "Run polarization inference"

    def settings(self) -> list:
        self.model = ComboBox(label="model", choices=list(SHIPPED))
        self.device = ComboBox(label="device", choices=list(DEVICES))
        self.symmetrize = CheckBox(text="average over crystal symmetry",
                                   value=symmetrize_default(SHIPPED[0]))
        self.model.changed.connect(lambda name: setattr(self.symmetrize, "value",
                                                        symmetrize_default(name)))
        return [self.model, self.device, self.symmetrize]

    def job(self, ds):
        from ferromap._napari._layers import prediction_layers
        from ferromap.pipelines.predict import run_predict

        model, device, symmetrize = self.model.value, self.device.value, self.symmetrize.value

        def work(progress, cancel):
            maps = run_predict(ds, model, device=device, symmetrize=symmetrize,
                               progress=progress, cancel=cancel)
            note = None if maps.calibration is None else maps.calibration.message()
            return prediction_layers(maps, prefix=f"{model}: "), note

        return work
