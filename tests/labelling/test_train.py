from __future__ import annotations

import numpy as np
import pytest

from ferromap.classes import KNN8
from ferromap.errors import FerromapError
from ferromap.labelling import (
    AdaptiveSampler,
    labelled_crops,
    probability_rgb,
    run_sampling,
    train_on_labels,
)
from ferromap.pipelines.predict import predict_dataset
from ferromap.training.preprocess import dataset_crops

from .conftest import THREE


def test_labelled_positions_become_training_data_without_a_full_crop_pass():
    from ferromap.data import load_sample

    ds, truth = load_sample("two-domain")
    sampler = AdaptiveSampler(ds.scan_shape, step=8)
    labels = run_sampling(sampler, lambda r, c: int(truth[r, c]), budget=40)
    data = labelled_crops(ds, labels, KNN8)
    assert data.crops.shape == (40, 64, 64) and set(data.labels) == {2, 0}
    full = dataset_crops(ds).crops.reshape(*ds.scan_shape, 64, 64)
    for i, (r, c) in enumerate(labels):
        np.testing.assert_allclose(data.crops[i], full[r, c], atol=1e-6)
        assert data.labels[i] == truth[r, c]


def test_a_few_labels_map_the_whole_scan(stripes):
    ds, truth = stripes
    sampler = AdaptiveSampler(ds.scan_shape, step=4)
    labels = run_sampling(sampler, lambda r, c: int(truth[r, c]), budget=36)
    seen = []
    model = train_on_labels(ds, labels, THREE, steps=60, seed=0,
                            progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] and model.info.classes == THREE
    maps = predict_dataset(ds, model)
    held_out = np.ones(ds.scan_shape, bool)
    held_out[tuple(np.array(list(labels)).T)] = False
    assert (maps.labels == truth)[held_out].mean() > 0.9
    rgb = probability_rgb(maps)
    assert rgb.shape == (*ds.scan_shape, 3)
    for k in range(3):  # red where class 0 is, green for 1, blue for 2
        assert rgb[truth == k].mean(axis=0).argmax() == k


def test_training_needs_two_classes(stripes):
    ds, truth = stripes
    with pytest.raises(FerromapError, match="at least two classes"):
        train_on_labels(ds, {(0, 0): 0, (1, 0): 0, (2, 0): 0}, THREE)


def test_fine_tuning_starts_from_the_shipped_model():
    from ferromap.data import load_sample
    from ferromap.models.store import load_model

    ds, truth = load_sample("two-domain")
    labels = run_sampling(AdaptiveSampler(ds.scan_shape, step=8),
                          lambda r, c: int(truth[r, c]), budget=30)
    with pytest.raises(FerromapError, match="data is labelled none"):
        train_on_labels(ds, labels, THREE, init_from="conv-proto", steps=2)
    base = load_model("conv-proto", device="cpu", precision="fp32")
    tuned = train_on_labels(ds, labels, KNN8, init_from="conv-proto", steps=20)
    assert tuned.info.crop_size == base.info.crop_size
    assert tuned.info.mrad_per_px == base.info.mrad_per_px
    assert tuned.info.symmetry == base.info.symmetry == "d4"
    data = labelled_crops(ds, labels, KNN8, model_mrad_per_px=base.info.mrad_per_px)
    before = (base.predict(data.crops).labels == data.labels).mean()
    after = (tuned.predict(data.crops).labels == data.labels).mean()
    assert after > before, (before, after)  # it learnt the user's labels
