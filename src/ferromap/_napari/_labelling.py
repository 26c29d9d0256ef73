"""The "Label positions" mode: answer the sampler's proposals, train on the labels, map.

A panel docked by :class:`~ferromap._napari._widget.PolarizationWidget` (which owns the
dataset, the diffraction view and the background runner). The labelling state lives in
:class:`ferromap.labelling.LabelSession` (no Qt); this module only wires buttons, number keys
and layers to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import CheckBox, Container, FileEdit, Label, LineEdit, PushButton, SpinBox

from ferromap._napari._layers import label_colormap, scan_scale, with_units
from ferromap.classes import KNN8, ClassSet

if TYPE_CHECKING:
    from ferromap._napari._widget import PolarizationWidget

NUMBER_KEYS = [str(k) for k in range(10)]
LABELS_LAYER = "labelled positions"
PROPOSAL_LAYER = "proposed position"
RGB_LAYER = "class probabilities (RGB)"


class LabellingPanel(Container):
    """Class set, proposals answered by buttons or number keys, undo, save/load, training."""

    def __init__(self, owner: PolarizationWidget) -> None:
        super().__init__(labels=True)
        self.owner, self.viewer = owner, owner.viewer
        self.session = None
        self.classes = LineEdit(label="classes", value="none, vertical, horizontal")
        self.knn = PushButton(text="Use the 8 KNN directions")
        self.step = SpinBox(label="grid step (px)", min=1, max=4096, value=8)
        self.budget = SpinBox(label="labels wanted", min=2, max=10**6, value=100)
        self.jitter = CheckBox(text="jitter the grid (atomic-resolution scans)", value=True)
        self.start = PushButton(text="Start labelling")
        self.answers = Container(layout="horizontal", labels=False)
        self.undo_button = PushButton(text="Undo last label", enabled=False)
        self.counter = Label(label="labelled", value="not started")
        self.store = FileEdit(label="label file", mode="w", filter="*.json")
        self.save_button = PushButton(text="Save labels", enabled=False)
        self.load_button = PushButton(text="Load labels", enabled=False)
        self.fine_tune = CheckBox(text="fine-tune the shipped conv-proto (8 KNN classes)")
        self.train = PushButton(text="Train on labels and map the scan", enabled=False)
        self.extend([self.classes, self.knn, self.step, self.budget, self.jitter, self.start,
                     self.answers,
                     self.undo_button, self.counter, self.store, self.save_button,
                     self.load_button, self.fine_tune, self.train])
        self.knn.clicked.connect(lambda: setattr(self.classes, "value", ", ".join(KNN8.names)))
        self.start.clicked.connect(self.start_session)
        self.undo_button.clicked.connect(self.undo)
        self.save_button.clicked.connect(self.save)
        self.load_button.clicked.connect(self.load)
        self.train.clicked.connect(self.train_and_map)

    # -- session --------------------------------------------------------------------------------
    def start_session(self) -> None:
        """Begin labelling the owner's dataset with the typed class set."""
        from ferromap.labelling import LabelSession

        ds = self.owner.dataset
        try:
            if ds is None:
                raise ValueError("choose a dataset layer or open a file first")
            classes = ClassSet.parse(self.classes.value)
            if len(classes) > len(NUMBER_KEYS):
                raise ValueError(f"at most {len(NUMBER_KEYS)} classes (number keys 0-9)")
        except ValueError as exc:
            self.owner._fail(exc)
            return
        self.session = LabelSession(ds.scan_shape, classes, step=self.step.value,
                                    budget=self.budget.value, jitter=self.jitter.value)
        self._answer_buttons(classes)
        for key in NUMBER_KEYS:
            self.viewer.bind_key(key, self._key_callback(int(key)), overwrite=True)
        for w in (self.undo_button, self.save_button, self.load_button, self.train):
            w.enabled = True
        self._show_labels()
        self._go_to(self.session.propose())

    def _answer_buttons(self, classes: ClassSet) -> None:
        self.answers.clear()
        for i, name in enumerate(classes.names):
            button = PushButton(text=f"{i}: {name}")
            button.clicked.connect(lambda *_a, i=i: self.answer(i))
            self.answers.append(button)

    def _key_callback(self, value: int):
        def press(_viewer_or_layer) -> None:
            if self.session is not None and value < len(self.session.classes):
                self.answer(value)
        return press

    def on_select(self, row: int, col: int) -> None:
        """A click (or arrow key) on a map selects the position the next answer labels."""
        if self.session is not None:
            self.session.select((row, col))

    def answer(self, value: int) -> None:
        """Label the selected position and move to the next proposal."""
        try:
            nxt = self.session.answer(value)
        except Exception as exc:  # noqa: BLE001
            self.owner._fail(exc)
            return
        self._show_labels()
        self._go_to(nxt)

    def undo(self) -> None:
        """Take back the last label and show that position again."""
        if self.session is None:
            return
        pos = self.session.undo()
        self._show_labels()
        if pos is not None:
            self._go_to(pos, proposal=False)

    def _go_to(self, pos, proposal: bool = True) -> None:
        if pos is None:
            self.counter.value = self.session.counter() + " — done: train, or click to add"
            self._set_proposal(None)
            return
        if proposal:
            self._set_proposal(pos)
        self.owner.select(*pos)
        self._activate()  # the marker layer may just have been added (and made active)

    # -- layers -----------------------------------------------------------------------------------
    def _scale(self):
        return scan_scale(self.owner.dataset.calibration.scan_step_nm)

    def _add_or_update(self, data, kwargs: dict, kind: str) -> None:
        name = kwargs["name"]
        if name in self.viewer.layers:
            self.viewer.layers[name].data = data
            return
        step = self.owner.dataset.calibration.scan_step_nm
        data, kwargs, kind = with_units([(data, kwargs, kind)], step)[0]
        getattr(self.viewer, f"add_{kind}")(data, **kwargs)

    def _show_labels(self) -> None:
        """Update the label layer (re-created for a new class set) and make it the active
        layer: napari gives the active layer's own shortcuts (e.g. "2" = paint) precedence,
        so the number keys are bound on this layer as well as on the viewer."""
        from napari.utils.colormaps import DirectLabelColormap

        s = self.session
        self.counter.value = s.counter()
        layers = self.viewer.layers
        meta = {"ferromap": {"role": "labelled", "classes": s.classes.to_dict()}}
        if LABELS_LAYER in layers and layers[LABELS_LAYER].metadata.get("ferromap") != meta[
                "ferromap"]:
            layers.remove(LABELS_LAYER)
        if LABELS_LAYER not in layers:
            self._add_or_update(s.label_map(), {
                "name": LABELS_LAYER, "scale": self._scale(), "metadata": meta,
                "colormap": DirectLabelColormap(color_dict=label_colormap(s.classes))},
                "labels")
            for key in NUMBER_KEYS:
                layers[LABELS_LAYER].bind_key(key, self._key_callback(int(key)), overwrite=True)
        else:
            layers[LABELS_LAYER].data = s.label_map()
        self._activate()

    def _activate(self) -> None:
        layers = self.viewer.layers
        if LABELS_LAYER in layers:
            layers.selection.active = layers[LABELS_LAYER]

    def _set_proposal(self, pos) -> None:
        scale = np.asarray(self._scale())
        data = np.empty((0, 2)) if pos is None else np.array([pos]) * scale
        self._add_or_update(data, {
            "name": PROPOSAL_LAYER, "symbol": "square", "size": 1.6 * scale[0],
            "face_color": "transparent", "border_color": "yellow", "border_width": 0.2,
            "metadata": {"ferromap": {"role": "proposal"}}}, "points")

    # -- store ------------------------------------------------------------------------------------
    def _store_path(self) -> Path:
        path = Path(str(self.store.value or ""))
        if str(path) in ("", "."):
            source = Path(self.owner.dataset.source or "labels")
            path = source.with_name(source.stem + ".labels.json")
        return path

    def save(self) -> None:
        """Write the labels beside the dataset (or to the chosen file)."""
        try:
            path = self.session.save(self._store_path())
        except Exception as exc:  # noqa: BLE001
            self.owner._fail(exc)
            return
        self.owner.status.value = f"labels saved to {path}"

    def load(self) -> None:
        """Add the labels of a saved label file of the same class set."""
        try:
            self.session.load(self._store_path())
        except Exception as exc:  # noqa: BLE001
            self.owner._fail(exc)
            return
        self._show_labels()
        self._go_to(self.session.current)

    # -- training -------------------------------------------------------------------------------
    def train_and_map(self) -> None:
        """Train on the labels in the background, then map the whole scan."""
        from ferromap.labelling import train_on_labels
        from ferromap.pipelines.predict import predict_dataset

        labels, classes = dict(self.session.labels), self.session.classes
        base = "conv-proto" if self.fine_tune.value else None
        ds, device = self.owner.dataset, self.owner.device.value

        def job(progress, cancel):
            def stage(weight, offset):
                return lambda done, total: progress(offset + int(weight * done / max(total, 1)),
                                                    1000)

            model = train_on_labels(ds, labels, classes, init_from=base, device=device,
                                    progress=stage(800, 0), cancel=cancel)
            return predict_dataset(ds, model, progress=stage(200, 800), cancel=cancel)

        self.owner._start(job, self._show_result, "training on labels")

    def _show_result(self, maps) -> None:
        from ferromap.labelling import probability_rgb

        self.owner._show_maps(maps)
        layers = self.viewer.layers
        if LABELS_LAYER in layers:  # keep the user's labels visible on top of the results
            layers.move(layers.index(LABELS_LAYER), len(layers))
        self._activate()
        if len(maps.classes) == 3:
            r, g, b = maps.classes.names
            self.owner.legend.value += (f"<br>{RGB_LAYER}: R = P({r}), G = P({g}), "
                                        f"B = P({b})")
            self._add_or_update(probability_rgb(maps), {
                "name": RGB_LAYER, "rgb": True, "scale": self._scale(),
                "metadata": {"ferromap": {"role": "probability_rgb"}}}, "image")

    def end(self, reason: str = "not started") -> None:
        """End the session (labels of one scan must not train on another) and free the
        number keys; save the labels first to keep them."""
        self._release()
        self.counter.value = reason
        for w in (self.undo_button, self.save_button, self.load_button, self.train):
            w.enabled = False

    def _release(self) -> None:
        for key in NUMBER_KEYS:
            self.viewer.bind_key(key, None, overwrite=True)
            if LABELS_LAYER in self.viewer.layers:
                self.viewer.layers[LABELS_LAYER].bind_key(key, None, overwrite=True)
        self.session = None

    def close(self) -> None:
        """Remove the number-key bindings (viewer and label layer) and end the session,
        without touching the dock's Qt widgets: when the viewer closes they are already gone."""
        self._release()
