"""Training scans of the scan-context model: the symmetry turns the whole periodic entry with
its label, the scans carry the labels of their domains, and they read like inference."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.classes import KNN8
from ferromap.core.features import RingHarmonics
from ferromap.models.symmetry import class_permutation, group_ops
from ferromap.training.scans import (
    ContextScan,
    EntrySampler,
    ScanGeometry,
    periodic_op,
    resample_labels,
    scan_pool,
    synthesize_scan,
)
from ferromap.training.synthesis import BankEntryData, Nuisances

QUIET = Nuisances(source_fwhm_A=(0.0, 0.0), psf_sigma_px=(0.0, 0.0), p_noise_free=1.0,
                  p_dark=0.0, descan_ramp_px=0.0, descan_shift_px=0.0)


@pytest.fixture(scope="module")
def entries(polar_cell_scan):
    """Toy entries: RM (class 0) and RU (class 1), 2×2 cells of 3.95 Å on a 16×16 grid."""
    return [BankEntryData(polar_cell_scan(45.0 * k, n=16), k, 2 * 3.95 / 16, f"entry-000{k}")
            for k in (0, 1)]


def test_a_symmetry_operation_turns_the_polarization_with_the_label(polar_cell_scan):
    rm = polar_cell_scan(0.0, n=16)
    for op in group_ops("d4"):
        turned = periodic_op(rm, op)
        label = class_permutation(op, KNN8)[0]
        np.testing.assert_allclose(turned, polar_cell_scan(KNN8.angles_deg[label], n=16),
                                   atol=1e-6, err_msg=op.name)


def test_a_scan_is_labelled_by_its_entry_and_reads_like_inference(entries):
    basis = RingHarmonics()
    sampler = EntrySampler(entries)
    rng = np.random.default_rng(0)
    scan = synthesize_scan(sampler, rng, basis, QUIET, ScanGeometry(p_wall=0.0), first=1)
    assert isinstance(scan, ContextScan)
    assert scan.features.shape == (*scan.labels.shape, basis.n_features)
    assert min(scan.labels.shape) >= 8 and 0.2 <= scan.step_A <= 1.1
    assert len(np.unique(scan.labels)) == 1 and KNN8.angles_deg[scan.labels[0, 0]] % 90 == 45
    ring0 = [k for k, c in enumerate(basis.channels()) if c[1] == 0]
    np.testing.assert_allclose(scan.features[..., ring0].sum(-1), 1.0, atol=1e-4)
    assert scan.draw["entries"] == ["entry-0001"]


def test_walls_separate_two_directions(entries):
    sampler = EntrySampler(entries)
    rng = np.random.default_rng(1)
    for _ in range(3):
        scan = synthesize_scan(sampler, rng, RingHarmonics(), QUIET, ScanGeometry(p_wall=1.0))
        classes = np.unique(scan.labels)
        assert len(classes) == 2 and len(scan.draw["entries"]) == 2


def test_scan_pool_uses_every_entry_and_is_reproducible(entries):
    a = scan_pool(entries, 4, np.random.default_rng(3), RingHarmonics(), QUIET)
    b = scan_pool(entries, 4, np.random.default_rng(3), RingHarmonics(), QUIET)
    assert [s.draw["entries"][0] for s in a] == ["entry-0000"] * 2 + ["entry-0001"] * 2
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.features, y.features)
    with pytest.raises(ValueError):
        scan_pool([], 3, np.random.default_rng(0), RingHarmonics())


def test_labels_resample_to_the_nearest_position():
    labels = np.array([[0, 0, 1, 1]] * 2, np.uint8)
    out = resample_labels(labels, step_A=1.0, sampling_A=0.5)
    assert out.shape == (3, 7)
    np.testing.assert_array_equal(out[0], [0, 0, 0, 1, 1, 1, 1])


def test_walls_join_entries_of_one_specimen_when_they_can():
    data = np.zeros((2, 2, 4, 4), np.float32)
    entries = [BankEntryData(data, i % 4, 0.25, f"entry-{i:04d}") for i in range(8)]
    sampler = EntrySampler(entries, group=4)
    assert sampler.partners(1) == [0, 2, 3] and sampler.partners(6) == [4, 5, 7]
    assert EntrySampler(entries).partners(1) == [0, 2, 3, 4, 5, 6, 7]


def test_the_pool_is_the_same_whatever_the_workers(entries):
    one = scan_pool(entries, 3, np.random.default_rng(5), RingHarmonics(), QUIET)
    two = scan_pool(entries, 3, np.random.default_rng(5), RingHarmonics(), QUIET, workers=2)
    assert [s.draw["entries"] for s in one] == [s.draw["entries"] for s in two]
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a.features, b.features)
        np.testing.assert_array_equal(a.labels, b.labels)
