"""Training on labelled positions, and mapping the whole scan with the result.

Only the labelled patterns are read (one read each, after one streaming CoM pass for the crop
window), so labelling a 16 GiB scan never loads it. A network trained from scratch is the
published Conv encoder with a classification head; with ``init_from`` the shipped KNN
conv-proto model (or any model folder) is fine-tuned instead, keeping its crop size, sampling
and input statistics.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np

from ferromap.classes import ClassSet
from ferromap.errors import FerromapError

#: Optimisation steps a labelled set gets, whatever its size (few labels -> more epochs).
TARGET_STEPS = 300
BATCH = 32
#: Fewer labels than this in a class: the map will be unreliable (docs/labelling.md: 50
#: labels over two classes reached 74-76 %, 100 labels 72-82 %).
MIN_LABELS_PER_CLASS = 20


def label_count_warning(labels: dict[tuple[int, int], int], classes: ClassSet,
                        minimum: int = MIN_LABELS_PER_CLASS) -> str | None:
    """A warning when some class has fewer than ``minimum`` labels, else ``None``.

    Examples
    --------
    >>> from ferromap.classes import ClassSet
    >>> text = label_count_warning({(0, 0): 0, (0, 1): 1}, ClassSet.parse("a, b"), minimum=3)
    >>> text.split(":")[0]
    'few labels (a 1, b 1; at least 3 per class are advised)'
    """
    counts = np.bincount(list(labels.values()), minlength=len(classes))
    if counts.min() >= minimum:
        return None
    parts = ", ".join(f"{n} {c}" for n, c in zip(classes.names, counts))
    return (f"few labels ({parts}; at least {minimum} per class are advised): the map will be "
            "unreliable and its confidence is not calibrated")


def labelled_crops(dataset, labels: dict[tuple[int, int], int], classes: ClassSet, *,
                   size: int = 64, model_mrad_per_px: float | None = None):
    """Training data from labelled positions of a dataset (for ``train_model``).

    Parameters
    ----------
    dataset : Dataset4D
        The scan the labels belong to.
    labels : dict
        ``{(row, col): class index}`` from a sampler or a label store.
    classes : ClassSet
        The user's class set.
    size, model_mrad_per_px : int, float
        Crop size and sampling of the model to train.

    Returns
    -------
    ferromap.training.train.LabelledCrops
    """
    from ferromap.training.preprocess import crop_geometry, position_crops
    from ferromap.training.train import LabelledCrops

    if not labels:
        raise FerromapError("no labelled positions")
    geometry = crop_geometry(dataset, size=size, model_mrad_per_px=model_mrad_per_px)
    pos = list(labels)
    y = np.array([labels[p] for p in pos], dtype=np.int64)
    magnitude = np.array([geometry.magnitude[p] for p in pos])
    return LabelledCrops(position_crops(dataset, pos, geometry), y, magnitude, y.copy(),
                         model_mrad_per_px or dataset.calibration.mrad_per_px, classes)


def train_on_labels(
    dataset,
    labels: dict[tuple[int, int], int],
    classes: ClassSet,
    *,
    init_from: str | None = None,
    steps: int | None = None,
    seed: int = 0,
    device: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
):
    """Train a classifier on labelled positions of one scan.

    Parameters
    ----------
    dataset : Dataset4D
        The scan.
    labels : dict
        ``{(row, col): class index}`` (at least two classes, two positions each).
    classes : ClassSet
        Class names; with ``init_from`` they must be the base model's.
    init_from : str, optional
        Fine-tune this model (``"conv-proto"`` or a model folder) instead of training from
        scratch. The fine-tuned model keeps the base model's crystal symmetry (``"d4"`` for
        conv-proto: trained and predicting in all 8 orientations); a model trained from
        scratch assumes none.
    steps : int, optional
        Optimisation steps (batches of 32), whatever the number of labels
        (:data:`TARGET_STEPS` by default).
    seed, device
        Reproducibility and where to train.
    progress : callable, optional
        ``progress(done, total)`` in optimisation steps.
    cancel : threading.Event, optional
        Stops training (:class:`~ferromap.errors.Cancelled`).

    Returns
    -------
    LoadedModel
        Ready for :func:`ferromap.pipelines.predict.predict_dataset`; ``info.training`` records the run.
    """
    from ferromap.training.config import TrainConfig
    from ferromap.training.train import train_model

    counts = np.bincount(list(labels.values()), minlength=len(classes))
    if (counts >= 2).sum() < 2:
        raise FerromapError("label at least two positions of at least two classes before training")
    size, mrad, head, symmetry = 64, None, "classification", "none"
    if init_from:
        from ferromap.models.store import load_model

        base = load_model(init_from, device="cpu", precision="fp32").info
        size, mrad, head = base.crop_size, base.mrad_per_px, base.architecture.get("head", head)
        symmetry = base.symmetry
    data = labelled_crops(dataset, labels, classes, size=size, model_mrad_per_px=mrad)
    steps = steps or TARGET_STEPS
    n_train = max(1, round(0.8 * len(data.labels)))
    epochs = min(400, max(1, math.ceil(steps / math.ceil(n_train / BATCH))))
    config = TrainConfig(train=[], name="labelled", model="conv", head=head, augment=False,
                         filter=False, seed=seed, epochs=epochs, patience=epochs,
                         batch_size=BATCH, val_fraction=0.2, crop_size=size,
                         encoder_kwargs={"projection_rank": 64}, init_from=init_from,
                         device=device, symmetry=symmetry)
    total = epochs * math.ceil(n_train / BATCH)

    def report(d: dict) -> None:
        if progress is not None:
            progress(min(total, d["epoch"] * d["batches"] + d["batch"]), total)

    model, _record = train_model(config, data, progress=report, cancel=cancel)
    model.info.training["labels_of"] = dataset.source
    model.info.training["n_labels"] = int(len(labels))
    return model


def probability_rgb(maps) -> np.ndarray:
    """``(rows, cols, 3)`` float32 RGB of a 3-class map: R, G, B = P(class 0, 1, 2).

    Raises
    ------
    ValueError
        When the map does not have exactly three classes.
    """
    if len(maps.classes) != 3:
        raise ValueError(f"an RGB probability map needs 3 classes, not {len(maps.classes)}")
    rgb = np.clip(np.nan_to_num(maps.probs[..., :3]), 0.0, 1.0).astype(np.float32)
    rgb[maps.labels == 255] = 0.0
    return rgb
