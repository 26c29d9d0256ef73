from __future__ import annotations

import numpy as np
import pytest

from ferromap.classes import KNN8
from ferromap.pipelines.domains import describe, find_domains, mode_filter


def test_speckle_is_not_a_domain_and_regions_are_connected():
    lab = np.zeros((20, 20), np.uint8)
    lab[:, 10:] = 2
    lab[5, 3] = 6  # one misclassified position
    lab[2:6, 14:18] = 0  # a real island of RM inside MU
    domains = find_domains(lab, KNN8, scan_step_nm=0.1)
    assert len(domains) == 3 and all(d.name != "MD" for d in domains)  # speckle removed
    island = domains[2]  # the mode filter rounds its corners
    assert island.name == "RM" and 9 <= island.n_positions <= 16 and island.centroid[1] > 10
    assert island.area_nm2 == pytest.approx(island.n_positions * 0.01)


def test_describe_majority_or_domains():
    assert describe({"RM": 0.8, "MU": 0.2}, []) == "majority RM (80%)"
    lab = np.zeros((10, 10), np.uint8)
    lab[:, 5:] = 2
    text = describe({"RM": 0.5, "MU": 0.5}, find_domains(lab, KNN8))
    assert text.startswith("2 domains") and "RM 50%" in text and "MU 50%" in text
    lab[:, 4] = 2  # 60 % MU: a majority, but the RM domain is still a domain of the map
    text = describe({"RM": 0.4, "MU": 0.6}, find_domains(lab, KNN8))
    assert text.startswith("2 domains") and "MU 60%" in text and "RM 40%" in text


def test_mode_filter_ignores_invalid_positions():
    lab = np.array([[1, 1, 1], [1, 0, 1], [2, 2, 2]], np.uint8)
    valid = np.ones((3, 3), bool)
    valid[2] = False
    assert mode_filter(lab, valid, 3, 1)[1, 1] == 1


def test_mode_filter_ties_favour_no_class():
    """On a map of random labels, ties neither become the first class nor any other: each
    class keeps about its share, and RM (index 0) is found no more often than the rest."""
    rng = np.random.default_rng(0)
    found = np.zeros(8)
    for _ in range(20):
        lab = rng.integers(0, 8, (32, 48)).astype(np.uint8)
        smooth = mode_filter(lab, np.ones(lab.shape, bool), 8, 1)
        found += np.bincount(smooth[smooth < 8], minlength=8)
    assert found[0] < 1.2 * np.median(found) and found.min() > 0.8 * np.median(found)
    every = np.ones((3, 3), bool)
    tie = np.array([[0, 0, 2], [0, 1, 2], [1, 2, 1]], np.uint8)  # 3 each, the centre RU
    assert mode_filter(tie, every, 3, 1)[1, 1] == 1  # its own label
    tie[1, 1] = 3  # 3 RM, 3 MU, 2 RU and the centre LU: no class wins
    assert mode_filter(tie, every, 4, 1)[1, 1] == 255
