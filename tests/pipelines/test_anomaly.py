from __future__ import annotations

import numpy as np
import pytest

from ferromap.pipelines.anomaly import (
    AnomalySettings,
    anomaly_score,
    local_majority,
    low_information_mask,
)


def test_isolated_misclassification_is_flagged():
    labels = np.full((9, 9), 3)
    labels[4, 4] = 7
    low = np.zeros((9, 9), bool)
    dist = np.full((9, 9), np.nan)
    score, mask = anomaly_score(labels, low, dist, 8)
    assert mask[4, 4] and mask.sum() == 1
    assert score[4, 4] == np.float32(0.7)  # local 0.5 + global 0.2


def test_pristine_map_and_low_information_are_never_flagged():
    labels = np.full((6, 6), 2)
    low = np.zeros((6, 6), bool)
    low[::2] = True
    labels[0, 0] = 5  # a wrong label at a low-information position
    score, mask = anomaly_score(labels, low, np.zeros((6, 6)), 8, ood_q99=1.0)
    assert not mask.any() and score[low].max() == 0


def test_a_domain_wall_is_not_an_anomaly_but_ood_is():
    labels = np.zeros((8, 8), int)
    labels[:, 4:] = 2
    dist = np.ones((8, 8))
    dist[2, 2] = 5.0  # far outside what validation data showed
    score, mask = anomaly_score(labels, np.zeros((8, 8), bool), dist, 8, ood_q99=1.0)
    assert mask[2, 2]
    assert not mask[:, 4:].any()  # a whole minority domain: global 0.2 only
    strict = AnomalySettings(threshold=0.95)
    assert not anomaly_score(labels, np.zeros((8, 8), bool), dist, 8, ood_q99=1.0,
                             settings=strict)[1].any()


def test_local_majority_ignores_invalid_neighbours():
    labels = np.array([[1, 1, 1], [1, 0, 1], [2, 2, 2]])
    valid = np.ones((3, 3), bool)
    valid[2] = False
    assert local_majority(labels, valid, 3, 1)[1, 1] == 1
    assert low_information_mask(np.array([[0.7]])).tolist() == [[False]]  # nothing to rank
    assert low_information_mask(np.array([0.7, 0.7, np.nan])).tolist() == [False, False, True]
    assert low_information_mask(np.array([0.0, 1.0, 10.0, np.nan])).tolist() == [True, True,
                                                                                   False, True]


def test_lattice_residual_flags_on_its_own_even_where_predictions_are_unreliable():
    labels = np.zeros((6, 6), np.uint8)
    low_info = np.zeros((6, 6), bool)
    low_info[0, 0] = True
    z = np.zeros((6, 6), np.float32)
    z[0, 0], z[3, 3], z[4, 4] = 9.0, 6.0, 4.5
    score, mask = anomaly_score(labels, low_info, np.full((6, 6), np.nan), 8, periodic_z=z)
    assert mask[0, 0] and mask[3, 3] and not mask[4, 4]
    assert mask.sum() == 2 and score[4, 4] == pytest.approx(0.25)


def test_an_unsure_disagreement_is_noise_a_confident_one_a_finding():
    labels = np.full((9, 9), 3)
    labels[4, 4] = 7
    low = np.zeros((9, 9), bool)
    dist = np.full((9, 9), np.nan)
    unsure = np.full((9, 9), 0.9)
    unsure[4, 4] = 0.55
    assert not anomaly_score(labels, low, dist, 8, confidence=unsure)[1].any()
    sure = np.full((9, 9), 0.9)
    sure[4, 4] = 0.98
    assert anomaly_score(labels, low, dist, 8, confidence=sure)[1][4, 4]


def test_calibrated_confidence_decides_low_information_and_shapes_are_checked():
    conf = np.array([[0.3, 0.6], [0.49, 0.95]])
    mask = low_information_mask(np.zeros((2, 2)), conf, 0.5)
    assert mask.tolist() == [[True, False], [True, False]]
    with pytest.raises(ValueError, match="periodic_z has shape"):
        anomaly_score(np.zeros((6, 6), int), np.zeros((6, 6), bool), np.zeros((6, 6)), 8,
                      periodic_z=np.zeros(6))
    with pytest.raises(ValueError, match="low_info has shape"):
        anomaly_score(np.zeros((6, 6), int), np.zeros((5, 6), bool), np.zeros((6, 6)), 8)


def test_a_second_domain_is_not_an_anomaly():
    """On the bundled two-domain sample (MU | RM) each pattern is compared with its lattice
    equivalents of its own domain, on the cell the model knows (3.95 Å at 0.494 Å: 8
    positions; the wall moves the Fourier peaks to 7.96 and 7.79): the domains' interiors
    stay unflagged (the first release outlined a quarter of the map)."""
    from ferromap.data import load_sample
    from ferromap.models import load_model
    from ferromap.pipelines.predict import predict_dataset

    ds, truth = load_sample("two-domain")
    maps = predict_dataset(ds, load_model("context", device="cpu"))
    assert maps.extra["lattice"]["domains_compared_apart"] == [0, 2]  # RM and MU
    assert maps.extra["lattice"]["periods_px"] == [8.0, 8.0]
    interior = np.zeros(truth.shape, bool)
    interior[:, :12] = interior[:, 34:] = True  # more than 0.5 nm from the wall at col 24
    assert maps.anomaly_mask[interior].mean() < 0.02
    assert maps.anomaly_mask.mean() < 0.05
