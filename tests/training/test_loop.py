from __future__ import annotations

import pytest
import torch

from ferromap.classes import KNN8
from ferromap.errors import Cancelled
from ferromap.models.network import PolarizationNet
from ferromap.training.loop import seed_everything, train_network


def fit(toy, head="prototype", seed=1, epochs=6, lr=3e-3, **kw):
    seed_everything(seed)
    net = PolarizationNet("conv", head, KNN8, {"size": 16})
    x, y = toy
    hist = train_network(net, (x, y), (x[::4], y[::4]), epochs=epochs, batch_size=32, lr=lr,
                         seed=seed, **kw)
    return net, hist


@pytest.mark.parametrize("head", ["prototype", "classification", "regression"])
def test_learns_a_separable_toy_problem(toy, head):
    net, hist = fit(toy, head)
    x, y = toy
    if head == "prototype":
        with torch.no_grad():
            net.head.set_prototypes(net(torch.from_numpy(x)[:, None]), torch.from_numpy(y))
    net.eval()
    probs, _ = net.predict_tensor(torch.from_numpy(x)[:, None])
    assert (probs.argmax(1).numpy() == y).mean() > 0.9
    assert hist.val_loss[hist.best_epoch] == min(hist.val_loss)


def test_seeded_runs_are_identical(toy):
    a, _ = fit(toy, epochs=2)
    b, _ = fit(toy, epochs=2)
    for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        torch.testing.assert_close(va, vb, rtol=0, atol=0, equal_nan=True, msg=ka)


def test_progress_early_stopping_and_cancel(toy):
    import threading

    seen = []
    _, hist = fit(toy, epochs=30, patience=1, lr=0.0, progress=seen.append)
    assert len(hist.val_loss) == 2  # lr=0: no improvement after the first epoch
    assert any(p["val_loss"] is not None for p in seen)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        fit(toy, cancel=stop)


def test_augment_is_used_only_on_training_crops(toy):
    calls = []

    def augment(c, rng):
        calls.append(1)
        return c

    x, _ = toy
    fit(toy, epochs=1, augment=augment)
    assert len(calls) == len(x)
