from __future__ import annotations

import numpy as np
import pytest

from ferromap.classes import KNN8, ClassSet
from ferromap.colour import angle_to_rgb, class_colours


def test_knn_classes_follow_conventions():
    assert KNN8.names == ("RM", "RU", "MU", "LU", "LM", "LD", "MD", "RD")
    np.testing.assert_allclose(KNN8.unit_vector(KNN8.index("MU")), [-1, 0], atol=1e-12)
    np.testing.assert_allclose(KNN8.unit_vector(KNN8.index("RD")), [np.sqrt(.5), np.sqrt(.5)])
    assert ClassSet.from_dict(KNN8.to_dict()) == KNN8
    with pytest.raises(ValueError, match="unknown class"):
        KNN8.index("XX")


def test_colour_wheel_neighbours_are_close_and_opposites_far():
    colours = class_colours(KNN8)
    step = np.linalg.norm(colours - np.roll(colours, 1, axis=0), axis=1)
    opposite = np.linalg.norm(colours - np.roll(colours, 4, axis=0), axis=1)
    assert step.max() < opposite.min()
    assert angle_to_rgb(np.array(np.nan)).tolist() == [0, 0, 0]
    boracite = ClassSet(("none", "vertical", "horizontal"), (None, 90.0, 0.0))
    assert class_colours(boracite).shape == (3, 3)


def test_user_class_sets_parse_and_get_distinct_colours():
    three = ClassSet.parse("none, vertical ,horizontal")
    assert three.names == ("none", "vertical", "horizontal")
    assert ClassSet.parse(", ".join(KNN8.names)) is KNN8
    colours = class_colours(three)
    assert colours.argmax(axis=1).tolist() == [0, 1, 2]  # red, green, blue as the RGB map
    with pytest.raises(ValueError, match="at least two"):
        ClassSet.parse("none")
    with pytest.raises(ValueError, match="unique"):
        ClassSet.parse("a, a")
