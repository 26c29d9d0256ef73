"""Point-group symmetry of a material's projection, used to augment training and to average
predictions.

Pseudo-cubic KNN seen down [001] has the square's symmetry (``"d4"``): rotating the crystal,
and with it the probe positions and the diffraction pattern, by 90° rotates the polarization
by 90°; a mirror mirrors it. A model for such a material can therefore

* train on every pattern in all 8 orientations, each with its mapped label, and
* predict a pattern in all 8 orientations and combine the answers, mapped back
  (:func:`symmetrized_predict`).

The operations act on crops about the point where the crop rule puts the beam centre:
pixel ``size / 2`` (:func:`ferromap.core.crop.extract_crops`, docs/conventions.md). Flipping
about the array's middle ``(size - 1) / 2`` instead moves the beam by one pixel, which is as
large as the polarization signal and costs ~30 points of accuracy
(``tests/models/test_symmetry.py``).

Materials of lower symmetry use ``"none"`` (or a subgroup: ``"c2"``, ``"mm2"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ferromap.classes import ClassSet
from ferromap.errors import FerromapError
from ferromap.models.prediction import Prediction, probabilities


@dataclass(frozen=True)
class SymOp:
    """One operation: ``matrix`` acts on in-plane directions ``(x right, y up)``."""

    name: str
    matrix: tuple[tuple[int, int], tuple[int, int]]

    def apply(self, crops):
        """The operation on ``(..., S, S)`` crops (numpy or torch), about pixel ``S/2`` in
        each axis."""
        (a, b), (c, d) = self.matrix
        out = crops
        if a == 0:  # x and y swap: the image transposes (about the row = col diagonal)
            out = out.swapaxes(-1, -2)
            a, d = -b, -c  # the transpose is (x, y) -> (-y, -x); mirrors do the rest
        if a == -1:
            out = self.flip(out, -1)
        if d == -1:
            out = self.flip(out, -2)
        return out

    @staticmethod
    def flip(a, axis: int):
        """Mirror pixel ``i`` to ``(S - i) mod S``: about ``S/2``, not the array's middle."""
        if isinstance(a, np.ndarray):
            return np.roll(np.flip(a, axis), 1, axis)
        return a.flip(axis).roll(1, axis)  # a torch tensor

    def angle(self, angle_deg: float) -> float:
        """Image of a direction (degrees CCW from +x) under the operation."""
        t = np.deg2rad(angle_deg)
        x, y = np.asarray(self.matrix, float) @ np.array([np.cos(t), np.sin(t)])
        return float(np.rad2deg(np.arctan2(y, x)) % 360.0)


_OPS = {
    "id": ((1, 0), (0, 1)), "rot90": ((0, -1), (1, 0)), "rot180": ((-1, 0), (0, -1)),
    "rot270": ((0, 1), (-1, 0)), "mirror_x": ((-1, 0), (0, 1)), "mirror_y": ((1, 0), (0, -1)),
    "mirror_diag": ((0, 1), (1, 0)), "mirror_antidiag": ((0, -1), (-1, 0)),
}
GROUPS = {
    "none": ("id",),
    "c2": ("id", "rot180"),
    "mm2": ("id", "rot180", "mirror_x", "mirror_y"),
    "d4": tuple(_OPS),
}


def group_ops(group: str) -> list[SymOp]:
    """The operations of a point group by name (``none``, ``c2``, ``mm2``, ``d4``)."""
    if not isinstance(group, str) or group not in GROUPS:
        raise FerromapError(f"unknown symmetry {group!r}; use one of {', '.join(GROUPS)}")
    return [SymOp(n, _OPS[n]) for n in GROUPS[group]]


def class_permutation(op: SymOp, classes: ClassSet, tol_deg: float = 1.0) -> np.ndarray | None:
    """``perm[i]``: the class that class ``i`` becomes under ``op``; ``None`` if some class
    has no direction or its image is not in the set."""
    angles = classes.angles_deg
    if op.matrix == _OPS["id"]:
        return np.arange(len(angles))
    if any(a is None for a in angles):
        return None
    perm = []
    for a in angles:
        image = op.angle(a)
        diff = np.abs((np.asarray(angles) - image + 180.0) % 360.0 - 180.0)
        j = int(diff.argmin())
        if diff[j] > tol_deg:
            return None
        perm.append(j)
    return np.asarray(perm, np.int64)


def usable_ops(group: str, classes: ClassSet) -> list[tuple[SymOp, np.ndarray]]:
    """The group's operations that map the class set onto itself, with their permutations.

    Raises
    ------
    FerromapError
        If the group is not ``"none"`` but the classes are not closed under it.
    """
    pairs = [(op, class_permutation(op, classes)) for op in group_ops(group)]
    usable = [(op, p) for op, p in pairs if p is not None]
    if len(usable) != len(pairs):
        raise FerromapError(f"symmetry {group!r} needs classes with directions closed under it; "
                            f"{', '.join(classes.names)} are not")
    return usable


def augment_batch(crops: np.ndarray, labels: np.ndarray, ops: list[tuple[SymOp, np.ndarray]],
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each crop in a random operation of the group, with its label mapped the same way."""
    pick = rng.integers(len(ops), size=len(crops))
    out, lab = np.empty_like(crops), np.empty_like(labels)
    for k, (op, perm) in enumerate(ops):
        sel = pick == k
        if sel.any():
            out[sel] = op.apply(crops[sel])
            lab[sel] = perm[labels[sel]]
    return out, lab


def symmetrized_predict(predict: Callable[[np.ndarray], Prediction], crops: np.ndarray,
                        ops: list[tuple[SymOp, np.ndarray]]) -> Prediction:
    """Combine the predictions of every operation of the group, mapped back.

    The pattern transformed by ``op`` is of class ``perm[i]`` exactly when the original is of
    class ``i``, so its column ``perm[i]`` is read as evidence for ``i``. The probabilities
    are the normalised geometric mean over the group, the distance the arithmetic mean, and
    ``agreement`` the fraction of operations whose own label is the combined one.
    """
    log_p, dist, votes = 0.0, 0.0, []
    for op, perm in ops:
        moved = op.apply(crops)
        pred = predict(np.ascontiguousarray(moved) if isinstance(moved, np.ndarray)
                       else moved.contiguous())
        mapped = np.log(np.clip(pred.probs[:, perm], 1e-12, None))
        log_p = log_p + mapped
        votes.append(mapped.argmax(axis=1))
        dist = dist + pred.distance
    log_p = log_p / len(ops)
    probs = probabilities(log_p)
    labels = probs.argmax(axis=1)
    agreement = np.mean([v == labels for v in votes], axis=0).astype(np.float32)
    return Prediction(probs, (dist / len(ops)).astype(np.float32), agreement)
