from __future__ import annotations

import numpy as np
import pytest

from ferromap.labelling import (
    AdaptiveSampler,
    boundary_midpoints,
    grid_positions,
    random_positions,
    run_sampling,
)


def wall_truth(r, c):
    return int(c >= 17)  # a vertical domain wall between columns 16 and 17


def test_grid_covers_a_scan_not_divisible_by_the_step():
    g = grid_positions((10, 13), 4)
    assert all(0 <= r < 10 and 0 <= c < 13 for r, c in g) and len(set(g)) == len(g)
    assert max(r for r, _ in g) >= 10 - 4 and max(c for _, c in g) == 12
    with pytest.raises(ValueError):
        grid_positions((4, 4), 0)


def test_midpoints_only_between_different_labels():
    labels = {(0, 0): 0, (0, 4): 1, (4, 0): 0}
    assert boundary_midpoints(labels, 4 * np.sqrt(2)) == [(0, 2), (2, 2)]


def test_sampling_concentrates_on_the_wall_and_never_repeats():
    sampler = AdaptiveSampler((32, 40), step=8)
    labels = run_sampling(sampler, wall_truth, budget=60)
    assert len(labels) == 60
    cols = np.array([c for _, c in labels])
    grid = len(grid_positions((32, 40), 8))
    near_wall = np.abs(cols[grid:] - 16.5) <= 6
    assert near_wall.mean() > 0.9  # after the grid, sampling sits on the wall


def test_stops_cleanly_when_no_boundary_is_left():
    sampler = AdaptiveSampler((16, 16), step=4)
    labels = run_sampling(sampler, lambda r, c: 0, budget=1000)
    assert len(labels) == len(grid_positions((16, 16), 4)) and sampler.next() is None


def test_undo_and_clicked_labels():
    sampler = AdaptiveSampler((8, 8), step=4)
    p = sampler.next()
    sampler.label(p, 1)
    sampler.label((7, 7), 0)  # a clicked position, not proposed
    sampler.undo(p)
    assert p not in sampler.labels and (7, 7) in sampler.labels
    with pytest.raises(ValueError):
        sampler.label((8, 0), 1)


def test_random_baseline_is_distinct_positions():
    rnd = random_positions((10, 10), 30, seed=1)
    assert len(set(rnd)) == 30 and all(0 <= r < 10 and 0 <= c < 10 for r, c in rnd)


def test_jittered_grid_stays_in_its_cells_and_breaks_the_lattice_phase():
    exact = grid_positions((48, 48), 8)
    assert {(r % 8, c % 8) for r, c in exact} == {(3, 3)}  # one position in an 8-px cell
    moved = grid_positions((48, 48), 8, np.random.default_rng(0))
    assert len(moved) == len(exact) == len(set(moved))
    assert all(abs(r - r0) <= 4 and abs(c - c0) <= 4 for (r, c), (r0, c0) in zip(moved, exact))
    assert len({(r % 8, c % 8) for r, c in moved}) > 20
    sampler = AdaptiveSampler((48, 48), step=8, jitter=True, seed=1)
    labels = run_sampling(sampler, lambda r, c: int(c >= 20), budget=60)
    assert len(labels) == 60 and all(v == int(c >= 20) for (_, c), v in labels.items())


def test_a_budget_smaller_than_the_grid_still_covers_the_whole_scan():
    """Step 4 on 32×48 is a grid of 96 points; the first 20 proposals reach every quarter
    of the scan (in row-major order they would all sit in its top four rows)."""
    sampler = AdaptiveSampler((32, 48), step=4)
    for _ in range(20):
        sampler.label(sampler.next(), 0)
    rows, cols = np.array(list(sampler.labels)).T
    assert len(sampler.labels) == 20  # never the same position twice
    assert rows.min() <= 8 and rows.max() >= 24 and cols.min() <= 12 and cols.max() >= 36


def test_spread_order_is_a_permutation_spread_first_then_in_order():
    from ferromap.labelling.sampler import spread_order

    points = grid_positions((32, 32), 4)
    order = spread_order(points, first=5)
    assert sorted(order) == sorted(points)  # every point once
    rest = [p for p in points if p not in order[:5]]
    assert order[5:] == rest  # beyond the first five, the grid's own order
    assert len({r for r, _ in order[:5]}) >= 3  # the five spread over the rows
