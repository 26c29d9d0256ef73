"""Polarization class sets. The default is the KNN paper's 8 in-plane directions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOT_CLASSIFIED = 255


@dataclass(frozen=True)
class ClassSet:
    """Named classes, each optionally with an in-plane direction (degrees, CCW from +col).

    Attributes
    ----------
    names : tuple of str
        Class names; the index in this tuple is the stored label (uint8).
    angles_deg : tuple of float or None
        Direction per class, or ``None`` for classes without one (e.g. "none").
    """

    names: tuple[str, ...]
    angles_deg: tuple[float | None, ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.angles_deg):
            raise ValueError("names and angles_deg must have the same length")
        if not 1 <= len(self.names) < NOT_CLASSIFIED:
            raise ValueError(f"a class set needs 1..254 classes, got {len(self.names)}")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"class names must be unique: {self.names}")

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Label index of a class name."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown class {name!r}; classes are {', '.join(self.names)}") from None

    def unit_vector(self, index: int) -> np.ndarray:
        """``(row, col)`` unit vector of a class direction (``up`` = ``(-1, 0)``)."""
        angle = self.angles_deg[index]
        if angle is None:
            raise ValueError(f"class {self.names[index]!r} has no direction")
        t = np.deg2rad(angle)
        return np.array([-np.sin(t), np.cos(t)])

    def to_dict(self) -> dict:
        """JSON form."""
        return {"names": list(self.names), "angles_deg": list(self.angles_deg)}

    @classmethod
    def from_dict(cls, d: dict) -> ClassSet:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(d["names"]), tuple(d["angles_deg"]))

    @classmethod
    def parse(cls, text: str) -> ClassSet:
        """A user's class set from ``"none, vertical, horizontal"`` (KNN8 for its names).

        Classes typed by the user carry no direction; the 8 KNN names give :data:`KNN8`.
        """
        names = tuple(n.strip() for n in text.replace(";", ",").split(",") if n.strip())
        if len(names) < 2:
            raise ValueError(f"give at least two class names separated by commas, not {text!r}")
        if names == KNN8.names:
            return KNN8
        return cls(names, (None,) * len(names))


KNN8 = ClassSet(
    names=("RM", "RU", "MU", "LU", "LM", "LD", "MD", "RD"),
    angles_deg=(0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0),
)
