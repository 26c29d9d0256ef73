"""The "Label positions" dock: answer the sampler's proposals, train on the labels, map, save.

It works on the :class:`~ferromap._napari._session.Session` it is given (the dataset, the
selected position, result layers) and has its own background runner, so closing it cancels
its training. The labelling state lives in :class:`ferromap.labelling.LabelSession` (no Qt);
this module wires buttons, number keys and layers to it. Results go to layers of their own
(prefix ``labels:``); the trained model can be saved as a model folder and loaded in the main
dock.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from magicgui.widgets import (
    CheckBox,
    Container,
    FileEdit,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
    SpinBox,
)

from ferromap._napari._layers import label_colormap, prediction_layers, scan_scale, with_units
from ferromap._napari._lifecycle import ScrollDock, disconnect_all, is_unset
from ferromap._napari._runner import Runner, notify_info, notify_warning
from ferromap.classes import KNN8, ClassSet

NUMBER_KEYS = [str(k) for k in range(10)]
LABELS_LAYER = "labelled positions"
PROPOSAL_LAYER = "proposed position"
RGB_LAYER = "labels: class probabilities (RGB)"
PREFIX = "labels: "


class LabellingPanel(ScrollDock):
    """Class set, proposals answered by buttons or number keys, undo, save/load, training."""

    def __init__(self, session, device: Callable[[], str] = lambda: "auto") -> None:
        self.panel = Container(labels=True)
        super().__init__(self.panel.native)
        self.session, self.viewer, self.device = session, session.viewer, device
        self.labels = None  # the LabelSession
        self.model = None  # the last model trained on the labels
        self._build()
        self.runner = Runner(self.progress, self.cancel_button, self.status)
        session.dataset_changed.connect(self._on_dataset)
        session.position_changed.connect(self._on_position)

    def _build(self) -> None:
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
        self.cancel_button = PushButton(text="Cancel")
        self.progress = ProgressBar(label="progress", min=0, max=1000, value=0)
        self.status = Label(label="status", value="")
        self.result = Label(label="result", value="")
        self.model_dir = FileEdit(label="save model to", mode="d")
        self.save_model_button = PushButton(text="Save trained model", enabled=False)
        self.panel.extend([self.classes, self.knn, self.step, self.budget, self.jitter,
                           self.start, self.answers, self.undo_button, self.counter, self.store,
                           self.save_button, self.load_button, self.fine_tune, self.train,
                           self.cancel_button, self.progress, self.status, self.result,
                           self.model_dir, self.save_model_button])
        self.knn.clicked.connect(lambda: setattr(self.classes, "value", ", ".join(KNN8.names)))
        self.start.clicked.connect(self.start_session)
        self.undo_button.clicked.connect(self.undo)
        self.save_button.clicked.connect(self.save)
        self.load_button.clicked.connect(self.load)
        self.train.clicked.connect(self.train_and_map)
        self.budget.changed.connect(self._on_budget)
        self.save_model_button.clicked.connect(self.save_model)

    # -- session --------------------------------------------------------------------------------
    def start_session(self) -> None:
        """Begin labelling the session's dataset with the typed class set."""
        from ferromap.labelling import LabelSession

        ds = self.session.dataset
        try:
            if ds is None:
                raise ValueError("choose a dataset layer or open a file first")
            classes = ClassSet.parse(self.classes.value)
            if len(classes) > len(NUMBER_KEYS):
                raise ValueError(f"at most {len(NUMBER_KEYS)} classes (number keys 0-9)")
        except ValueError as exc:
            self.runner.fail(exc)
            return
        self.labels = LabelSession(ds.scan_shape, classes, step=self.step.value,
                                   budget=self.budget.value, jitter=self.jitter.value)
        self._answer_buttons(classes)
        for key in NUMBER_KEYS:
            self.viewer.bind_key(key, self._key_callback(int(key)), overwrite=True)
        for w in (self.undo_button, self.save_button, self.load_button, self.train):
            w.enabled = True
        self._show_labels()
        self._go_to(self.labels.propose())

    def _on_budget(self, value: int) -> None:
        """More (or fewer) labels wanted during a session: proposals go on from here."""
        if self.labels is None:
            return
        self.labels.budget = int(value)
        self._show_labels()
        if self.labels.current is None:
            self._go_to(self.labels.propose())

    def _answer_buttons(self, classes: ClassSet) -> None:
        self.answers.clear()
        for i, name in enumerate(classes.names):
            button = PushButton(text=f"{i}: {name}")
            button.clicked.connect(lambda *_a, i=i: self.answer(i))
            self.answers.append(button)

    def _key_callback(self, value: int):
        def press(_viewer_or_layer) -> None:
            if self.labels is not None and value < len(self.labels.classes):
                self.answer(value)
        return press

    def _on_position(self, view) -> None:
        """A click (or arrow key) selects the position the next answer labels."""
        if self.labels is not None and view.row >= 0:
            self.labels.select((view.row, view.col))

    def _on_dataset(self, _ds) -> None:
        if self.labels is not None:
            self.end("the dataset changed: start labelling again")

    def answer(self, value: int) -> None:
        """Label the selected position and move to the next proposal."""
        try:
            nxt = self.labels.answer(value)
        except Exception as exc:  # noqa: BLE001
            self.runner.fail(exc)
            return
        self._show_labels()
        self._go_to(nxt)

    def undo(self) -> None:
        """Take back the last label and show that position again."""
        if self.labels is None:
            return
        pos = self.labels.undo()
        self._show_labels()
        if pos is not None:
            self._go_to(pos, proposal=False)

    def _go_to(self, pos, proposal: bool = True) -> None:
        if pos is None:
            self.counter.value = self.labels.counter() + " — done: train, or click to add"
            self._set_proposal(None)
            return
        if proposal:
            self._set_proposal(pos)
        self.session.select(*pos)
        self._activate()

    # -- layers ---------------------------------------------------------------------------------
    def _scale(self):
        return scan_scale(self.session.dataset.calibration.scan_step_nm)

    def _add_or_update(self, data, kwargs: dict, kind: str) -> None:
        name = kwargs["name"]
        if name in self.viewer.layers:
            self.viewer.layers[name].data = data
            return
        step = self.session.dataset.calibration.scan_step_nm
        self.session.show_layers(with_units([(data, kwargs, kind)], step))

    def _show_labels(self) -> None:
        """Update the label layer and make it the active one: napari gives the active layer's
        own shortcuts (e.g. "2" = paint) precedence, so the number keys are bound on this
        layer as well as on the viewer."""
        from napari.utils.colormaps import DirectLabelColormap

        s = self.labels
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

    # -- store ----------------------------------------------------------------------------------
    def _store_path(self) -> Path:
        if not is_unset(self.store.value):
            return Path(str(self.store.value))
        source = Path(self.session.dataset.source or "labels")
        return source.with_name(source.stem + ".labels.json")

    def save(self) -> None:
        """Write the labels beside the dataset (or to the chosen file)."""
        try:
            path = self.labels.save(self._store_path())
        except Exception as exc:  # noqa: BLE001
            self.runner.fail(exc)
            return
        self.status.value = f"labels saved to {path}"

    def load(self) -> None:
        """Add the labels of a saved label file of the same class set."""
        try:
            self.labels.load(self._store_path())
        except Exception as exc:  # noqa: BLE001
            self.runner.fail(exc)
            return
        self._show_labels()
        self._go_to(self.labels.current)

    # -- training -------------------------------------------------------------------------------
    def train_and_map(self) -> None:
        """Train on the labels in the background, then map the whole scan."""
        from ferromap.labelling import label_count_warning, train_on_labels
        from ferromap.pipelines.predict import predict_dataset

        labels, classes = dict(self.labels.labels), self.labels.classes
        base = "conv-proto" if self.fine_tune.value else None
        ds, device = self.session.dataset, self.device()
        warning = label_count_warning(labels, classes)
        if warning:
            notify_warning(warning)

        def job(progress, cancel):
            def stage(weight, offset):
                return lambda done, total: progress(offset + int(weight * done / max(total, 1)),
                                                    1000)

            model = train_on_labels(ds, labels, classes, init_from=base, device=device,
                                    progress=stage(800, 0), cancel=cancel)
            return model, predict_dataset(ds, model, progress=stage(200, 800), cancel=cancel)

        self.runner.start("training on labels", job, self._show_result)

    def _show_result(self, outcome) -> None:
        from ferromap.labelling import probability_rgb

        self.model, maps = outcome
        self.session.maps["labelling"] = maps
        self.session.show_layers(prediction_layers(maps, prefix=PREFIX), group="labelling")
        self.save_model_button.enabled = True
        self.result.value = f"{maps.title()}; validation accuracy " \
                            f"{self.model.info.training.get('val_accuracy', float('nan')):.2f}"
        layers = self.viewer.layers
        if LABELS_LAYER in layers:  # keep the user's labels visible on top of the results
            layers.move(layers.index(LABELS_LAYER), len(layers))
        self._activate()
        if len(maps.classes) == 3:
            r, g, b = maps.classes.names
            self.result.value += f"<br>{RGB_LAYER}: R = P({r}), G = P({g}), B = P({b})"
            self._add_or_update(probability_rgb(maps), {
                "name": RGB_LAYER, "rgb": True, "scale": self._scale(),
                "metadata": {"ferromap": {"role": "probability_rgb"}}}, "image")

    def save_model(self) -> None:
        """Save the model trained on the labels as a model folder (load it in the main dock
        with "model folder…")."""
        from ferromap.models.store import save_model

        try:
            if self.model is None:
                raise ValueError("train on the labels first")
            if is_unset(self.model_dir.value):
                raise ValueError("choose a folder to save the model to")
            net = self.model.net if self.model.info.kind == "pca-knn" else self.model.net.cpu()
            path = save_model(Path(self.model_dir.value), net, self.model.info)
        except Exception as exc:  # noqa: BLE001
            self.runner.fail(exc)
            return
        self.status.value = f"model saved to {path}"
        notify_info(f"model saved to {path}: choose it in the main dock as a model folder")

    # -- ending -----------------------------------------------------------------------------------
    def end(self, reason: str = "not started") -> None:
        """End the labelling (labels of one scan must not train on another) and free the
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
        self.labels = None

    def close_dock(self) -> None:
        """Cancel training, free the number keys and stop following the session."""
        self.runner.close()
        if self.labels is not None:
            self._release()
        disconnect_all([(self.session.dataset_changed, self._on_dataset),
                        (self.session.position_changed, self._on_position)])
