"""Fitting the scan-context model (:mod:`ferromap.models.context`) on the simulation bank.

``ferromap train`` with ``model = "context"``: a pool of experiment-like training scans is
drawn from the bank's training entries (:mod:`ferromap.training.scans`), and the network
learns on random windows of their feature maps, resampled to its scan grid, each window in a
random orientation of the square lattice with its labels mapped. Scans of the held-out
entries give the validation loss (early stopping) and a first confidence calibration;
``scripts/calibrate_weights.py`` refits the calibration on the calibration sets.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ferromap.classes import KNN8
from ferromap.core.features import RingHarmonics
from ferromap.errors import Cancelled
from ferromap.training.config import TrainConfig
from ferromap.training.scans import ContextScan, ScanGeometry, resample_labels, scan_pool

#: The model's scan grid (Å per pixel): a twelfth of the pseudo-cubic cell.
SAMPLING_A = 0.33
#: Scan steps the model accepts. It trains on 0.2–1.1 Å, but at four positions per cell or
#: fewer a commensurate scan can be misread (``benchmarks/bench_scan_step.py``).
STEP_RANGE_A = (0.15, 0.8)
IGNORE = -100


@dataclass
class GridScan:
    """A training scan on the model grid."""

    features: np.ndarray  # (h, w, K)
    labels: np.ndarray  # (h, w) int64
    log_step: float


@dataclass
class ContextHistory:
    """Loss per epoch."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0


#: Training scans are read at a step up to this fraction off the true one, as a scan
#: calibration (or the lattice estimate of the step) may be.
STEP_ERROR = 0.05


def to_grid(scans: list[ContextScan], sampling_A: float, step_error: float = 0.0,
            rng: np.random.Generator | None = None) -> list[GridScan]:
    """Training scans resampled to the model grid, each read at its step times
    ``1 + U(-step_error, step_error)``."""
    from ferromap.models.context import to_model_grid

    out = []
    for s in scans:
        step = s.step_A * (1 + (rng.uniform(-step_error, step_error) if step_error else 0.0))
        out.append(GridScan(to_model_grid(s.features, step, sampling_A),
                            resample_labels(s.labels, step, sampling_A), float(np.log(step))))
    return out


def window_batch(scans: list[GridScan], order: np.ndarray, ops, window: int,
                 rng: np.random.Generator):
    """Tensors ``(x, y, log_step)`` of one window per scan in ``order``, each in a random
    orientation (features, positions and labels turned together); scans smaller than the
    window are padded with their edge, and the padding is left out of the loss."""
    import torch

    from ferromap.models.context import scan_op

    xs, ys, steps = [], [], []
    for i in order:
        s = scans[i]
        op, t, perm, _ = ops[rng.integers(len(ops))]
        f, lab = scan_op(s.features @ t, op), perm[scan_op(s.labels, op)]
        h, w = min(window, f.shape[0]), min(window, f.shape[1])
        r, c = rng.integers(f.shape[0] - h + 1), rng.integers(f.shape[1] - w + 1)
        f, lab = f[r : r + h, c : c + w], lab[r : r + h, c : c + w]
        pad = ((0, window - h), (0, window - w))
        xs.append(np.pad(f, (*pad, (0, 0)), mode="edge"))
        ys.append(np.pad(lab, pad, constant_values=IGNORE))
        steps.append(s.log_step)
    x = torch.from_numpy(np.ascontiguousarray(np.stack(xs).transpose(0, 3, 1, 2)))
    return x, torch.from_numpy(np.stack(ys)), torch.tensor(steps, dtype=torch.float32)


def fit_network(net, train: list[GridScan], val: list[GridScan], ops, *, epochs: int,
                batch_size: int, lr: float, weight_decay: float, window: int = 24,
                patience: int = 5, seed: int = 0, device: str = "cpu",
                progress: Callable[[dict], None] | None = None,
                cancel: threading.Event | None = None) -> ContextHistory:
    """Train ``net`` (one epoch: one window of every training scan); keep the weights of
    the epoch with the lowest validation loss."""
    import torch

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    net.to(device)
    steps = epochs * max(1, len(train) // batch_size)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=max(steps, 1))
    val_rng = np.random.default_rng(seed + 1)
    val_batches = [window_batch(val, np.arange(i, min(i + batch_size, len(val))), ops, window,
                                val_rng) for i in range(0, len(val), batch_size)]
    history, best, since, start = ContextHistory(), None, 0, time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order, losses = rng.permutation(len(train)), []
        n_batches = max(1, len(train) // batch_size)
        for b in range(n_batches):
            if cancel is not None and cancel.is_set():
                raise Cancelled("training cancelled")
            x, y, s = window_batch(train, order[b * batch_size : (b + 1) * batch_size], ops,
                                   window, rng)
            loss = _loss(net(x.to(device), s.to(device)), y.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            if progress is not None:
                progress({"epoch": epoch, "epochs": epochs, "batch": b + 1,
                          "batches": n_batches, "train_loss": losses[-1], "val_loss": None})
        val_loss, val_acc = _evaluate(net, val_batches, device)
        history.train_loss.append(float(np.mean(losses)))
        history.val_loss.append(val_loss)
        history.val_accuracy.append(val_acc)
        if best is None or val_loss < min(history.val_loss[:-1], default=np.inf):
            best, since = {k: v.detach().clone() for k, v in net.state_dict().items()}, 0
            history.best_epoch = epoch
        else:
            since += 1
        if progress is not None:  # the shape of ferromap.training.loop's reports
            progress({"epoch": epoch, "epochs": epochs, "batch": n_batches,
                      "batches": n_batches, "train_loss": history.train_loss[-1],
                      "val_loss": val_loss, "val_accuracy": val_acc})
        if since >= patience:
            break
    net.load_state_dict(best)
    history.seconds = round(time.perf_counter() - start, 1)
    return history


def _loss(logits, labels):
    import torch

    return torch.nn.functional.cross_entropy(logits, labels, ignore_index=IGNORE,
                                             label_smoothing=0.05)


def _evaluate(net, batches, device) -> tuple[float, float]:
    import torch

    net.eval()
    losses, right, total = [], 0, 0
    with torch.no_grad():
        for x, y, s in batches:
            logits = net(x.to(device), s.to(device))
            y = y.to(device)
            losses.append(float(_loss(logits, y)))
            keep = y != IGNORE
            right += int((logits.argmax(1)[keep] == y[keep]).sum())
            total += int(keep.sum())
    return float(np.mean(losses)), right / max(total, 1)


def _scans(entries, n, seed, basis, nuisances, geometry, progress, what, group=1):
    """Training scans, drawn by up to two processes (before torch starts threads here)."""
    def report(done, total):
        if progress is not None:
            progress({"stage": what, "done": done, "total": total})

    workers = 2 if (os.cpu_count() or 1) >= 2 and "torch" not in sys.modules else 1
    return scan_pool(entries, n, np.random.default_rng(seed), basis, nuisances, geometry,
                     group=group, workers=workers, progress=report)


def train_context(config: TrainConfig, *, progress: Callable[[dict], None] | None = None,
                  cancel: threading.Event | None = None):
    """Train a scan-context model on the bank; returns ``(LoadedModel, record)`` and saves
    to ``config.out``.

    ``config.bank_scans`` training scans are drawn once (of every bank training entry about
    equally often) and ``config.bank_val_repeats`` scans per held-out entry; the
    architecture comes from ``config.encoder_kwargs`` (``width``, ``dilations``,
    ``window``).
    """
    from ferromap.simulate.fourdstem import DEFAULT_MRAD_PER_PX
    from ferromap.training.synthesis import nuisances_from_dict
    from ferromap.training.train import BankEntries

    bank = BankEntries(config)
    basis, nuisances, geometry = RingHarmonics(), nuisances_from_dict(config.nuisances), \
        ScanGeometry()
    kw = {"width": 48, "dilations": [1, 2, 4, 4], "window": 24, **config.encoder_kwargs}
    train_entries, val_entries = bank.training(), bank.validation()
    pool = _scans(train_entries, config.bank_scans, config.seed, basis, nuisances, geometry,
                  progress, "training scans", config.bank_group)
    val = _scans(val_entries, config.bank_val_repeats * len(val_entries), config.seed + 7,
                 basis, nuisances, geometry, progress, "validation scans", config.bank_group)
    from ferromap.models.calibration import fit_calibration
    from ferromap.models.context import ContextNet, feature_ops
    from ferromap.models.store import LoadedModel, ModelInfo, resolve_device, save_model
    from ferromap.training.loop import seed_everything

    seed_everything(config.seed)
    net = ContextNet(basis.n_features, len(KNN8), int(kw["width"]), tuple(kw["dilations"]))
    net.fit_standardisation(np.concatenate([s.features.reshape(-1, basis.n_features)
                                            for s in pool]), basis)
    ops = feature_ops(basis, config.symmetry, KNN8)
    device = resolve_device(config.device)
    grid = to_grid(pool, SAMPLING_A, STEP_ERROR, np.random.default_rng(config.seed + 3))
    history = fit_network(net, grid, to_grid(val, SAMPLING_A), ops,
                          epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                          weight_decay=config.weight_decay, window=int(kw["window"]),
                          patience=config.patience, seed=config.seed, device=device,
                          progress=progress, cancel=cancel)
    arch = {**net.config, "features": basis.to_dict(), "sampling_A": SAMPLING_A,
            "window": int(kw["window"]), "scan_step_range_A": list(STEP_RANGE_A),
            "lattice_A": 3.95}
    info = ModelInfo(config.name, "context", KNN8, basis.size, DEFAULT_MRAD_PER_PX,
                     normalisation="ring-harmonics", architecture=arch, symmetry=config.symmetry)
    record = {"config": asdict(config), "history": asdict(history),
              "n_train_scans": len(pool), "n_val_scans": len(val),
              "bank_entries": {"train": len(train_entries), "validation": len(val_entries)},
              "nuisances": asdict(nuisances), "scan_geometry": asdict(geometry),
              "step_error": STEP_ERROR}
    from ferromap.models.prediction import Prediction

    temperatures, confidence = {}, {}
    for sym in (False, True):
        model = LoadedModel(info, net, device, symmetrize=sym)
        preds = [model.predict_map(s.features, s.step_A, calibrate=False) for s in val]
        pred = Prediction.concat(preds)
        labels = np.concatenate([s.labels.ravel() for s in val])
        record[f"val_accuracy_{model.passes}_pass"] = float((pred.labels == labels).mean())
        record["val_accuracy"], record["n_val"] = record[f"val_accuracy_{model.passes}_pass"], \
            int(len(labels))  # the last: the default, averaged over the orientations
        if config.calibrate:
            t, confidence[str(model.passes)] = fit_calibration(pred, labels)
            temperatures[str(model.passes)] = round(t, 5)
    if temperatures:
        info.calibration = {"temperature": temperatures, "confidence": confidence,
                            "fitted_on": "validation bank scans"}
    info.training = record
    model = LoadedModel(info, net, device)
    if config.out:
        save_model(config.out, net.cpu(), info)
        model.net = net.to(device)
    return model, record


def train_context_knn(config: TrainConfig, *, progress: Callable[[dict], None] | None = None,
                      cancel: threading.Event | None = None):
    """PCA + kNN of the polar statistics of feature maps (``model = "context-pca-knn"``).

    The paper's PCA(20) + kNN(5), reading for every position the translation-invariant
    covariances of ring intensities and deflections around it
    (:func:`ferromap.core.features.polar_statistics`) instead of one crop: ``bank_scans``
    training scans, each in every orientation of the square lattice, ``bank_positions``
    positions drawn from each. Returns ``(LoadedModel, record)`` and saves to ``config.out``.
    """
    from ferromap.core.features import polar_statistics
    from ferromap.models.context import scan_op
    from ferromap.models.pca_knn import PcaKnn
    from ferromap.models.store import LoadedModel, ModelInfo, save_model
    from ferromap.simulate.fourdstem import DEFAULT_MRAD_PER_PX
    from ferromap.training.synthesis import nuisances_from_dict
    from ferromap.training.train import BankEntries

    bank = BankEntries(config)
    basis, nuisances = RingHarmonics(), nuisances_from_dict(config.nuisances)
    window = int(config.encoder_kwargs.get("window_px", 19))
    pool = _scans(bank.training(), config.bank_scans, config.seed, basis, nuisances,
                  ScanGeometry(), progress, "training scans", config.bank_group)
    from ferromap.models.context import feature_ops

    rng, xs, ys, ops = np.random.default_rng(config.seed), [], [], feature_ops(basis, "d4", KNN8)
    for scan in to_grid(pool, SAMPLING_A):
        for op, t, perm, _ in ops:
            if cancel is not None and cancel.is_set():
                raise Cancelled("training cancelled")
            stats = polar_statistics(scan_op(scan.features @ t, op), basis, window)
            labels = perm[scan_op(scan.labels, op)].ravel()
            pick = rng.choice(len(labels), min(config.bank_positions, len(labels)), replace=False)
            xs.append(stats.reshape(-1, stats.shape[-1])[pick])
            ys.append(labels[pick])
    x, y = np.concatenate(xs), np.concatenate(ys)
    kw = {k: v for k, v in config.encoder_kwargs.items() if k in ("n_components", "k")}
    knn = PcaKnn.fit(x, y, len(KNN8), seed=config.seed, **kw)
    arch = {"reads": "scans", "features": basis.to_dict(), "sampling_A": SAMPLING_A,
            "window_px": window, "scan_step_range_A": list(STEP_RANGE_A), "lattice_A": 3.95,
            "statistics": "polar covariances of ring intensity and deflection"}
    info = ModelInfo(config.name, "pca-knn", KNN8, basis.size, DEFAULT_MRAD_PER_PX,
                     normalisation="ring-harmonics", architecture=arch, symmetry="none",
                     symmetrize_default=False)
    info.training = {"config": asdict(config), "n_train_scans": len(pool),
                     "n_examples": int(len(y)), "trained_symmetry": "d4",
                     "nuisances": asdict(nuisances)}
    model = LoadedModel(info, knn)
    if config.out:
        save_model(config.out, knn, info)
    return model, info.training


