"""Train a model from a :class:`~ferromap.training.config.TrainConfig` and save it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ferromap.classes import KNN8, ClassSet
from ferromap.errors import FerromapError
from ferromap.training.config import TrainConfig
from ferromap.training.filtering import filter_per_scan
from ferromap.training.preprocess import dataset_crops


@dataclass
class LabelledCrops:
    """Crops of one or more labelled datasets, with what filtering needs."""

    crops: np.ndarray
    labels: np.ndarray
    magnitude: np.ndarray  # per pattern
    scan_id: np.ndarray  # which scan (one of the scans stacked in the datasets) it came from
    mrad_per_px: float | None
    classes: ClassSet


def load_labelled(paths: list[str], *, size: int = 64, model_mrad_per_px: float | None = None,
                  progress: Callable[[int, int], None] | None = None) -> LabelledCrops:
    """Crops and labels of datasets saved with labels (e.g. by ``ferromap simulate``).

    Each of the scans stacked in a dataset (:meth:`ferromap.io.Dataset4D.scans`) gets its own
    geometry (beam centres, descan), as ``ferromap predict`` would on that scan alone.
    """
    from ferromap.io import open_4dstem
    from ferromap.io.sidecar import read_label_map

    parts, mrad, classes = [], None, KNN8
    for p in paths:
        ds = open_4dstem(p)
        labels = read_label_map(p)
        if ds.metadata.get("classes"):
            classes = ClassSet.from_dict(ds.metadata["classes"])
        mrad = model_mrad_per_px or mrad or ds.calibration.mrad_per_px
        for rows, cols in ds.scans():
            c = dataset_crops(ds.subscan(rows, cols), size=size, model_mrad_per_px=mrad,
                              progress=progress)
            flat = labels[rows, cols].ravel()
            keep = flat != 255
            scan = np.full(int(keep.sum()), len(parts), np.int64)
            parts.append((c.crops[keep], flat[keep].astype(np.int64),
                          c.magnitude.ravel()[keep], scan))
    if not parts:
        raise FerromapError("no training data given")
    cat = [np.concatenate(x) for x in zip(*parts)]
    return LabelledCrops(*cat, mrad, classes)


def split_indices(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified random split into (train, validation) index arrays."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = max(1, int(round(val_fraction * len(idx)))) if len(idx) > 1 else 0
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def _cap(idx: np.ndarray, labels: np.ndarray, cap: int | None, seed: int) -> np.ndarray:
    if cap is None or len(idx) <= cap:
        return idx
    rng = np.random.default_rng(seed + 1)
    per = {c: rng.permutation(idx[labels[idx] == c]) for c in np.unique(labels[idx])}
    take = max(1, cap // len(per))
    return np.sort(np.concatenate([v[:take] for v in per.values()]))


def train_model(config: TrainConfig, data: LabelledCrops | None = None, *,
                progress: Callable[[dict], None] | None = None,
                cancel: threading.Event | None = None):
    """Train, evaluate on the validation split, and return ``(LoadedModel, record)``.

    The model is saved to ``config.out`` when it is set.
    """
    from ferromap.models.store import LoadedModel, ModelInfo, resolve_device, save_model
    from ferromap.models.symmetry import usable_ops

    if config.model in ("context", "context-pca-knn"):
        if not config.bank:
            raise FerromapError(f"model {config.model} trains on a simulation bank: set 'bank'")
        from ferromap.training.context import train_context, train_context_knn

        fit = train_context if config.model == "context" else train_context_knn
        return fit(config, progress=progress, cancel=cancel)
    if config.bank and data is None:
        return train_from_bank(config, progress=progress, cancel=cancel)
    data = data or load_labelled(config.train, size=config.crop_size)
    tr, va = split_indices(data.labels, config.val_fraction, config.seed)
    if config.filter:
        keep = filter_per_scan(data.magnitude, data.scan_id)
        tr = tr[keep[tr]]
    tr = _cap(tr, data.labels, config.max_train, config.seed)
    if len(tr) == 0 or len(va) == 0:
        raise FerromapError("not enough labelled patterns to train and validate")
    record = {"config": asdict(config), "n_train": int(len(tr)), "n_val": int(len(va))}
    info = ModelInfo(config.name, "torch" if config.model != "pca-knn" else "pca-knn",
                     data.classes, config.crop_size, data.mrad_per_px, symmetry=config.symmetry)
    if config.model == "pca-knn":
        net = _fit_pca(config, data, tr, usable_ops(config.symmetry, data.classes))
        model = LoadedModel(info, net)
    else:
        device = resolve_device(config.device)
        net, history = _fit_torch(config, data, tr, va, device, progress, cancel)
        info.architecture = net.config
        record["history"] = asdict(history)
        model = LoadedModel(info, net, device)
    pred = model.predict(data.crops[va])
    record["val_accuracy"] = float((pred.labels == data.labels[va]).mean())
    finite = np.isfinite(pred.distance)
    if finite.any():
        q = np.quantile(pred.distance[finite], [0.5, 0.95, 0.99])
        info.ood = {"nearest_distance_quantiles": {"0.5": float(q[0]), "0.95": float(q[1]),
                                                   "0.99": float(q[2])}}
    info.training = record
    if config.out:
        save_model(config.out, model.net if info.kind == "pca-knn" else model.net.cpu(), info)
        model.net = model.net if info.kind == "pca-knn" else model.net.to(model.device)
    return model, record


def _augmenter(config: TrainConfig):
    if not config.augment:
        return None
    from ferromap.training.augment import AugmentConfig, Augmenter

    try:
        params = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v
                                  for k, v in config.augment_params.items()})
    except TypeError as exc:
        raise FerromapError(f"bad augment_params: {exc}") from None
    return Augmenter(params)


def _fit_pca(config: TrainConfig, data: LabelledCrops, tr: np.ndarray, ops: list):
    from ferromap.models.pca_knn import PcaKnn
    from ferromap.models.symmetry import augment_batch

    x, y = data.crops[tr], data.labels[tr]
    aug = _augmenter(config)
    rng = np.random.default_rng(config.seed)
    if aug is not None:
        x = np.stack([aug(c, rng) for c in x])
    if len(ops) > 1:
        x, y = augment_batch(x, y, ops, rng)
    return PcaKnn.fit(x, y, len(data.classes), seed=config.seed)


def _fit_torch(config, data, tr, va, device, progress, cancel):
    import torch

    from ferromap.models.network import PolarizationNet
    from ferromap.models.symmetry import augment_batch, usable_ops
    from ferromap.training.loop import seed_everything, train_network

    seed_everything(config.seed)
    augment = _augmenter(config)
    if config.init_from:
        net = _initial_network(config, data)
    else:
        kwargs = dict(config.encoder_kwargs)
        if config.model == "conv":
            kwargs.setdefault("size", config.crop_size)
        net = PolarizationNet(config.model, config.head, data.classes, kwargs, config.input_norm,
                              config.crop_size)
    ops = usable_ops(config.symmetry, data.classes)  # after init_from's class-set check
    if config.input_norm != "none" and not config.init_from:
        pick = tr[:: max(1, len(tr) // 4000)]
        sample, rng = data.crops[pick], np.random.default_rng(config.seed)
        if augment is not None:
            sample = np.stack([augment(c, rng) for c in sample])
        if len(ops) > 1:
            sample = augment_batch(sample, data.labels[pick], ops, rng)[0]
        net.input_norm.fit(torch.from_numpy(sample)[:, None])
    history = train_network(
        net, (data.crops[tr], data.labels[tr]), (data.crops[va], data.labels[va]),
        epochs=config.epochs, patience=config.patience, batch_size=config.batch_size,
        lr=config.lr, weight_decay=config.weight_decay, augment=augment,
        symmetry_ops=ops if len(ops) > 1 else None, seed=config.seed,
        device=device, progress=progress, cancel=cancel)
    if config.head == "prototype":
        net.eval()
        with torch.no_grad():
            x = torch.from_numpy(data.crops[va])[:, None].to(device)
            emb = torch.cat([net(x[s : s + 512]) for s in range(0, len(x), 512)])
        net.head.set_prototypes(emb, torch.from_numpy(data.labels[va]).to(device))
    return net, history


def _initial_network(config: TrainConfig, data: LabelledCrops):
    """The network of ``config.init_from`` (its input statistics are kept), checked against
    the data's classes and the config's crop size."""
    from ferromap.models.store import load_model

    base = load_model(config.init_from, device="cpu", precision="fp32")
    if base.info.kind != "torch":
        raise FerromapError(f"init_from={config.init_from}: only torch models can be fine-tuned")
    if base.info.classes.names != data.classes.names:
        raise FerromapError(f"init_from model predicts {', '.join(base.info.classes.names)}; the "
                            f"data is labelled {', '.join(data.classes.names)}")
    if base.info.crop_size != config.crop_size:
        raise FerromapError(f"init_from model uses {base.info.crop_size}-px crops, the config "
                            f"{config.crop_size}")
    net = base.net.train()
    net.config = dict(net.config)
    return net


def default_out(config: TrainConfig) -> Path:
    """Where a config without ``out`` saves: ``models/NAME``."""
    return Path("models") / config.name


def held_out(index: int, every: int, group: int = 1) -> bool:
    """Whether bank entry ``index`` is a validation entry: of a bank of single entries, the
    last two of every ``every`` (one of each of its two directions); of a bank of groups of
    ``group`` entries (one specimen and microscope in several polarizations), the last
    group of every ``every`` groups."""
    if group > 1:
        return (index // group) % every == every - 1
    return index % every >= every - 2


def check_bank_group(entries, group: int) -> None:
    """Refuse a ``bank_group`` that splits the entries of one specimen (the same crystal and
    microscope, :class:`ferromap.simulate.bank.BankSpread`) across groups: its validation
    group would share crystals with the training set.

    Parameters
    ----------
    entries : list of BankEntryData
        The bank's entries (those without a recorded specimen are not checked).
    group : int
        Consecutive entries per group (``TrainConfig.bank_group``).

    Raises
    ------
    FerromapError
    """
    groups: dict[int, set[int]] = {}
    for e in entries:
        if e.specimen is not None:
            groups.setdefault(e.specimen, set()).add(int(e.name.split("-")[1]) // max(group, 1))
    if any(len(g) > 1 for g in groups.values()):
        size = max(sum(e.specimen == s for e in entries) for s in groups)
        raise FerromapError(f"the bank's entries share a crystal in groups of {size}, but "
                            f"bank_group is {group}: set bank_group = {size}")


class BankEntries:
    """The bank's entries, split once into training and validation (of every
    ``bank_val_every`` consecutive indices the last two are held out: the bank alternates its
    two polarization directions, so the held-out entries hold both); entries the bank gains
    later (its simulation may still be running) join the training set at the next epoch,
    never the validation set."""

    def __init__(self, config: TrainConfig) -> None:
        from ferromap.training.synthesis import load_bank

        self.config = config
        self.every = max(3, config.bank_val_every)
        entries = load_bank(config.bank)
        check_bank_group(entries, config.bank_group)
        self.val = [e for e in entries if self._held_out(e)]
        self.train = {e.name: e for e in entries if not self._held_out(e)}
        if not self.train or not self.val:
            raise FerromapError(f"the bank in {config.bank} has {len(entries)} entries: too few "
                                f"to hold every {self.every}th out for validation")

    def _held_out(self, entry) -> bool:
        return held_out(int(entry.name.split("-")[1]), self.every, self.config.bank_group)

    def validation(self) -> list:
        """Every held-out entry the bank has now (the calibration uses them all)."""
        from ferromap.training.synthesis import load_bank

        entries = load_bank(self.config.bank)
        return [e for e in entries if self._held_out(e)]

    def training(self) -> list:
        """The training entries, with any the bank gained since the last call."""
        from pathlib import Path

        from ferromap.training.synthesis import load_bank

        have = set(self.train)
        new = [p for p in sorted(Path(self.config.bank).glob("entry-*.zarr"))
               if p.stem not in have and not held_out(int(p.stem.split("-")[1]), self.every,
                                                       self.config.bank_group)]
        if new:
            indices = [int(p.stem.split("-")[1]) for p in new]
            self.train.update({e.name: e for e in load_bank(self.config.bank, indices)})
        return list(self.train.values())


def train_from_bank(config: TrainConfig, *, progress: Callable[[dict], None] | None = None,
                    cancel: threading.Event | None = None):
    """Train on fresh experiment-like scans of the simulation bank every epoch.

    Validation (early stopping, prototypes, the confidence temperatures and the
    out-of-distribution quantiles) uses fixed scans of held-out bank entries, drawn with the
    same nuisances. Returns ``(LoadedModel, record)`` and saves to ``config.out``.
    """

    from ferromap.classes import KNN8
    from ferromap.models.calibration import fit_calibration
    from ferromap.models.store import LoadedModel, ModelInfo, resolve_device, save_model
    from ferromap.models.symmetry import augment_batch, usable_ops
    from ferromap.simulate.fourdstem import DEFAULT_MRAD_PER_PX
    from ferromap.training.loop import seed_everything
    from ferromap.training.synthesis import nuisances_from_dict, synthesize

    seed_everything(config.seed)
    nuisances = nuisances_from_dict(config.nuisances)
    bank = BankEntries(config)
    val_entries = bank.val
    size = config.crop_size
    xv, yv, _ = synthesize(val_entries, np.random.default_rng(config.seed + 10_000), size=size,
                           positions=config.bank_positions, repeats=config.bank_repeats,
                           nuisances=nuisances)
    ops = usable_ops(config.symmetry, KNN8)
    if len(ops) > 1:  # the bank holds two directions; its symmetry images give all eight
        xv, yv = augment_batch(xv, yv, ops, np.random.default_rng(config.seed + 20_000))

    def epoch_data(epoch: int):
        return synthesize(bank.training(), np.random.default_rng([config.seed, epoch]),
                          size=size, positions=config.bank_positions,
                          repeats=config.bank_repeats, nuisances=nuisances)[:2]

    device = resolve_device(config.device)
    if config.model == "pca-knn":
        net, history, n_train = _fit_bank_pca(config, epoch_data, ops), None, None
    else:
        data = LabelledCrops(xv, yv, np.zeros(len(yv)), np.zeros(len(yv), np.int64),
                             DEFAULT_MRAD_PER_PX, KNN8)
        net, history, n_train = _fit_bank_torch(config, data, epoch_data, ops, device, progress,
                                                cancel)
    if config.distill_epochs and kind_of(config) == "torch" and len(ops) > 1:
        _set_prototypes(net, xv, yv, device)  # the teacher predicts with fixed prototypes
        net = _distilled(config, net, epoch_data, device, progress, cancel, size)
    val_entries = bank.validation()  # more crystals than at the start, when the bank grew
    xv, yv, _ = synthesize(val_entries, np.random.default_rng(config.seed + 30_000), size=size,
                           positions=config.bank_positions, repeats=config.bank_val_repeats,
                           nuisances=nuisances)
    if len(ops) > 1:
        xv, yv = augment_batch(xv, yv, ops, np.random.default_rng(config.seed + 40_000))
    if config.model != "pca-knn" and config.head == "prototype":
        _set_prototypes(net, xv, yv, device)
    kind = "pca-knn" if config.model == "pca-knn" else "torch"
    info = ModelInfo(config.name, kind, KNN8, size, DEFAULT_MRAD_PER_PX,
                     architecture={} if kind == "pca-knn" else net.config,
                     symmetry=config.symmetry,
                     symmetrize_default=not (config.distill_epochs and kind == "torch"))
    record = {"config": asdict(config), "n_train_per_epoch": n_train, "n_val": int(len(yv)),
              "history": None if history is None else asdict(history),
              "bank_entries": {"train": len(bank.train), "validation": len(val_entries)},
              "nuisances": asdict(nuisances)}
    temperatures, confidence = {}, {}
    for sym in (False, True):
        model = LoadedModel(info, net, device if kind == "torch" else "cpu", symmetrize=sym)
        pred = model.predict(xv, calibrate=False)
        record[f"val_accuracy_{model.passes}_pass"] = float((pred.labels == yv).mean())
        if config.calibrate:
            t, confidence[str(model.passes)] = fit_calibration(pred, yv)
            temperatures[str(model.passes)] = round(t, 5)
    info.calibration = {"temperature": temperatures, "confidence": confidence,
                        "fitted_on": "validation bank scans"} if temperatures else {}
    model = LoadedModel(info, net, device if kind == "torch" else "cpu")
    pred = model.predict(xv)
    record["val_accuracy"] = float((pred.labels == yv).mean())
    q = np.quantile(pred.distance[np.isfinite(pred.distance)], [0.5, 0.95, 0.99])
    info.ood = {"nearest_distance_quantiles": {"0.5": float(q[0]), "0.95": float(q[1]),
                                               "0.99": float(q[2])}}
    info.training = record
    if config.out:
        save_model(config.out, model.net if kind == "pca-knn" else model.net.cpu(), info)
        if kind == "torch":
            model.net = model.net.to(model.device)
    return model, record


def kind_of(config: TrainConfig) -> str:
    """``"pca-knn"`` or ``"torch"``."""
    return "pca-knn" if config.model == "pca-knn" else "torch"


def _distilled(config, net, epoch_data, device, progress, cancel, size):
    """The network, distilled to reproduce its own eight-orientation average in one pass."""
    from ferromap.classes import KNN8
    from ferromap.models.store import LoadedModel, ModelInfo
    from ferromap.training.distill import distill

    info = ModelInfo(config.name, "torch", KNN8, size, None, architecture=net.config,
                     symmetry=config.symmetry)
    teacher = LoadedModel(info, net, device, symmetrize=True)
    return distill(teacher, lambda e: epoch_data(1000 + e), epochs=config.distill_epochs,
                   lr=config.lr / 2, batch_size=config.batch_size, seed=config.seed,
                   progress=progress, cancel=cancel)


def _fit_bank_torch(config, data, epoch_data, ops, device, progress, cancel):
    """The network trained on fresh bank scans every epoch: ``(net, history, n_per_epoch)``."""
    import torch

    from ferromap.classes import KNN8
    from ferromap.models.network import PolarizationNet
    from ferromap.models.symmetry import augment_batch
    from ferromap.training.loop import train_network

    size = config.crop_size
    if config.init_from:
        net = _initial_network(config, data)
    else:
        kwargs = {"size": size, **config.encoder_kwargs} if config.model == "conv" \
            else dict(config.encoder_kwargs)
        net = PolarizationNet(config.model, config.head, KNN8, kwargs, config.input_norm, size)
    first = epoch_data(0)
    if config.input_norm != "none" and not config.init_from:
        pick = slice(None, None, max(1, len(first[0]) // 4000))
        sample = augment_batch(first[0][pick], first[1][pick], ops,
                               np.random.default_rng(config.seed))[0]
        net.input_norm.fit(torch.from_numpy(sample)[:, None])
    history = train_network(
        net, lambda e: first if e == 0 else epoch_data(e), (data.crops, data.labels),
        epochs=config.epochs, patience=config.patience, batch_size=config.batch_size,
        lr=config.lr, weight_decay=config.weight_decay,
        symmetry_ops=ops if len(ops) > 1 else None, seed=config.seed, device=device,
        progress=progress, cancel=cancel)
    return net, history, int(len(first[1]))


def _set_prototypes(net, crops: np.ndarray, labels: np.ndarray, device: str) -> None:
    """Fix the prototype head's inference prototypes: class means of these embeddings."""
    import torch

    missing = sorted(set(range(net.head.n_classes)) - set(np.unique(labels).tolist()))
    if missing:  # a missing class would get no prototype, and could never be predicted
        raise FerromapError(f"the validation crops hold no example of class(es) {missing}: "
                            "cannot place their prototypes")

    net.eval()
    with torch.no_grad():
        x = torch.from_numpy(crops)[:, None].to(device)
        emb = torch.cat([net(x[s : s + 512]) for s in range(0, len(x), 512)])
    net.head.set_prototypes(emb, torch.from_numpy(labels).to(device))


def _fit_bank_pca(config, epoch_data, ops):
    """PCA + kNN fitted on ``config.epochs`` rounds of bank scans, each crop in a random
    orientation of the crystal's point group (with its label mapped)."""
    from ferromap.models.pca_knn import PcaKnn
    from ferromap.models.symmetry import augment_batch

    parts = [epoch_data(e) for e in range(max(1, config.epochs))]
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    if len(ops) > 1:
        x, y = augment_batch(x, y, ops, np.random.default_rng(config.seed))
    kwargs = {k: v for k, v in config.encoder_kwargs.items() if k in ("n_components", "k")}
    return PcaKnn.fit(x, y, 8, seed=config.seed, **kwargs)

