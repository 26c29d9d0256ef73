from __future__ import annotations

import numpy as np
import pytest

from ferromap.errors import FerromapError
from ferromap.labelling import LabelSession

from .conftest import THREE


def wall(r, c):
    return int(c >= 10)


def test_answering_proposals_labels_the_wall_region():
    s = LabelSession((16, 20), THREE, step=4, budget=30)
    pos = s.propose()
    while pos is not None:
        pos = s.answer(wall(*pos))
    assert len(s.labels) == 30 and s.propose() is None
    assert all(v == wall(*p) for p, v in s.labels.items())
    cols = np.array([c for _, c in s.labels])
    assert np.mean(np.abs(cols - 9.5) <= 2) > 0.3  # refinement went to the wall
    lm = s.label_map()
    assert (lm != 255).sum() == 30 and lm[next(iter(s.labels))] == s.labels[next(iter(s.labels))]
    assert s.counter().startswith("30 / 30 labelled (none ")


def test_clicked_position_keeps_the_proposal_pending_and_undo_restores():
    s = LabelSession((16, 20), THREE, step=4, budget=10)
    proposal = s.propose()
    s.select((15, 19))
    assert s.answer(2) == proposal  # the proposal comes back after the clicked label
    assert s.labels == {(15, 19): 2}
    s.answer(1)
    s.select((15, 19))
    s.answer(0)  # relabel
    assert s.labels[(15, 19)] == 0
    assert s.undo() == (15, 19) and s.labels[(15, 19)] == 2  # previous value restored
    assert s.undo() == proposal and proposal not in s.labels
    assert s.current == proposal
    assert s.undo() == (15, 19) and s.labels == {}
    assert s.undo() is None


def test_bad_answers_and_positions_are_refused():
    s = LabelSession((8, 8), THREE, step=4, budget=5)
    with pytest.raises(FerromapError, match="no position selected"):
        s.answer(0)
    s.propose()
    with pytest.raises(FerromapError, match="class 3 does not exist"):
        s.answer(3)
    with pytest.raises(FerromapError, match="outside"):
        s.select((8, 0))


def test_save_and_load(tmp_path):
    s = LabelSession((16, 20), THREE, step=4, budget=10)
    for _ in range(5):
        s.answer(wall(*s.propose()))
    s.save(tmp_path / "labels.json")
    t = LabelSession((16, 20), THREE, step=4, budget=10)
    t.load(tmp_path / "labels.json")
    assert t.labels == s.labels and t.current not in t.labels
    other = LabelSession((16, 20), THREE.parse("a, b"), step=4)
    with pytest.raises(FerromapError, match="uses a, b"):
        other.load(tmp_path / "labels.json")
    small = LabelSession((4, 4), THREE, step=2)
    with pytest.raises(FerromapError, match="outside"):
        small.load(tmp_path / "labels.json")
