"""The training loop: Adam, early stopping on the validation loss, seeded and deterministic."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ferromap.errors import Cancelled

ProgressFn = Callable[[dict], None]


@dataclass
class History:
    """Per-epoch losses and the epoch whose weights were kept."""

    train_loss: list[float]
    val_loss: list[float]
    best_epoch: int
    seconds: float


def seed_everything(seed: int) -> None:
    """Seed numpy, torch and Python's random; make torch deterministic."""
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - legacy global state some libraries still use
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def _batches(n: int, batch: int, rng: np.random.Generator | None):
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for s in range(0, n, batch):
        yield order[s : s + batch]


def _to_tensor(crops: np.ndarray, device: str):
    import torch

    return torch.from_numpy(np.ascontiguousarray(crops, np.float32))[:, None].to(device)


def _val_loss(net, x: np.ndarray, y: np.ndarray, device: str, batch: int) -> float:
    import torch

    net.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for idx in _batches(len(x), 4 * batch, None):
            loss = net.loss(_to_tensor(x[idx], device), torch.from_numpy(y[idx]).to(device))
            total += float(loss) * len(idx)
            n += len(idx)
    return total / max(n, 1)


def train_network(
    net,
    train: tuple[np.ndarray, np.ndarray] | Callable[[int], tuple[np.ndarray, np.ndarray]],
    val: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int = 20,
    patience: int = 5,
    batch_size: int = 128,
    lr: float = 2e-4,
    weight_decay: float = 1e-4,
    augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    symmetry_ops: list | None = None,
    seed: int = 0,
    device: str = "cpu",
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> History:
    """Train ``net`` (a :class:`~ferromap.models.network.PolarizationNet`) in place.

    Parameters
    ----------
    net : PolarizationNet
        The model; on return it holds the weights of the best validation epoch.
    train : tuple of numpy.ndarray or callable
        ``(crops (n, S, S) float32, labels (n,) int)``, or ``train(epoch)`` returning fresh
        ones every epoch (e.g. experiment-like scans drawn from the simulation bank).
    val : tuple of numpy.ndarray
        ``(crops, labels)``, fixed.
    epochs, patience : int
        At most ``epochs``; stop after ``patience`` epochs without a better validation loss.
    batch_size, lr, weight_decay : int, float, float
        Adam settings (the paper: 128, 2e-4, 1e-4).
    augment : callable, optional
        ``augment(crop, rng)`` applied to training crops only.
    symmetry_ops : list, optional
        ``(SymOp, permutation)`` pairs (:func:`ferromap.models.symmetry.usable_ops`): each
        training crop is shown in a random one of them, with its label mapped.
    seed : int
        Seeds shuffling, augmentation and initialisation.
    device : str
        ``"cpu"`` or ``"cuda"``.
    progress : callable, optional
        Called with ``{"epoch", "epochs", "batch", "batches", "train_loss", "val_loss"}``.
    cancel : threading.Event, optional
        Stops training with :class:`~ferromap.errors.Cancelled`.

    Returns
    -------
    History
    """
    import torch

    from ferromap.models.symmetry import augment_batch

    rng = np.random.default_rng(seed)
    net.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    xv, yv = val
    best, best_state, best_epoch, wait = math.inf, None, -1, 0
    history = History([], [], -1, 0.0)
    start = time.perf_counter()
    for epoch in range(epochs):
        xt, yt = train(epoch) if callable(train) else train
        n_batches = math.ceil(len(xt) / batch_size)
        net.train()
        running = 0.0
        for b, idx in enumerate(_batches(len(xt), batch_size, rng)):
            if cancel is not None and cancel.is_set():
                raise Cancelled("training cancelled")
            x = xt[idx] if augment is None else np.stack([augment(c, rng) for c in xt[idx]])
            y = yt[idx]
            if symmetry_ops:
                x, y = augment_batch(x, y, symmetry_ops, rng)
            loss = net.loss(_to_tensor(x, device), torch.from_numpy(y).to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += float(loss.detach()) * len(idx)
            if progress is not None:
                progress({"epoch": epoch, "epochs": epochs, "batch": b + 1, "batches": n_batches,
                          "train_loss": float(loss.detach()), "val_loss": None})
        history.train_loss.append(running / len(xt))
        history.val_loss.append(_val_loss(net, xv, yv, device, batch_size))
        if progress is not None:
            progress({"epoch": epoch, "epochs": epochs, "batch": n_batches, "batches": n_batches,
                      "train_loss": history.train_loss[-1], "val_loss": history.val_loss[-1]})
        if history.val_loss[-1] < best - 1e-6:
            best, best_epoch, wait = history.val_loss[-1], epoch, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            wait += 1
            if wait >= patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    history.best_epoch = best_epoch
    history.seconds = time.perf_counter() - start
    return history
