"""Full accuracy at one-pass cost: distil the eight-orientation average into one pass.

The teacher is the trained model predicting every crop in all eight orientations of the
crystal's point group and combining them (:func:`ferromap.models.symmetry.symmetrized_predict`).
The student starts as a copy of it and is trained, one pass per crop, to reproduce the
teacher's averaged probabilities (KL divergence, its inference prototypes fixed), on fresh
experiment-like scans every epoch. The student then needs one forward pass where the teacher
needs eight.
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Callable

import numpy as np

from ferromap.errors import Cancelled


def distill(teacher, epoch_data: Callable[[int], tuple[np.ndarray, np.ndarray]], *,
            epochs: int, lr: float = 1e-4, batch_size: int = 128, seed: int = 0,
            progress: Callable[[dict], None] | None = None,
            cancel: threading.Event | None = None, student=None):
    """A one-pass student of a symmetrized teacher.

    Parameters
    ----------
    teacher : LoadedModel
        A torch prototype model with a point group (``passes > 1``).
    epoch_data : callable
        ``epoch_data(epoch) -> (crops, labels)`` (labels are not used: the targets are the
        teacher's probabilities).
    epochs, lr, batch_size, seed
        Adam settings.
    progress : callable, optional
        Called with ``{"epoch", "epochs", "batch", "batches", "train_loss", "val_loss"}``.
    cancel : threading.Event, optional
        Stops with :class:`~ferromap.errors.Cancelled`.
    student : PolarizationNet, optional
        Continue training this student (e.g. one epoch at a time); a copy of the teacher's
        network by default.

    Returns
    -------
    PolarizationNet
        The student network (on the teacher's device).
    """
    import torch

    if teacher.info.kind != "torch" or teacher.passes < 2:
        raise ValueError("distillation needs a torch teacher that averages over orientations")
    student = (copy.deepcopy(teacher.net) if student is None else student).train()
    device = teacher.device
    opt = torch.optim.Adam([p for n, p in student.named_parameters()
                            if not n.startswith("input_norm")], lr=lr)
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        crops, _ = epoch_data(epoch)
        target = teacher.predict(crops, calibrate=False).probs
        order = rng.permutation(len(crops))
        batches = math.ceil(len(crops) / batch_size)
        for b in range(batches):
            if cancel is not None and cancel.is_set():
                raise Cancelled("distillation cancelled")
            idx = order[b * batch_size : (b + 1) * batch_size]
            x = torch.from_numpy(np.ascontiguousarray(crops[idx]))[:, None].to(device)
            t = torch.from_numpy(target[idx]).to(device)
            loss = _kl_to_teacher(student.head.log_probs(student(x)), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if progress is not None:
                progress({"epoch": epoch, "epochs": epochs, "batch": b + 1, "batches": batches,
                          "train_loss": float(loss.detach()), "val_loss": None})
    return student.eval()


def _kl_to_teacher(log_q, target):
    """KL(target ‖ q) over the classes the student can predict: a class without a prototype
    has log q = -inf and is left out (a clamp instead would stop every gradient there)."""
    import torch
    import torch.nn.functional as F

    finite = torch.isfinite(log_q)
    target = torch.where(finite, target, 0.0)
    target = target / target.sum(dim=1, keepdim=True).clamp(min=1e-12)
    return F.kl_div(torch.where(finite, log_q, 0.0), target, reduction="batchmean")
