"""The state of an interactive labelling session (what the napari mode drives). No Qt.

The sampler proposes a position; the user answers it, or selects any other position and
labels that instead (the proposal then stays pending and comes back next). Every answer can be
undone, most recent first, and the session saves to and loads from a label store.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferromap.classes import NOT_CLASSIFIED, ClassSet
from ferromap.errors import FerromapError
from ferromap.labelling.sampler import AdaptiveSampler
from ferromap.labelling.store import read_label_file, write_label_file

Position = tuple[int, int]


class LabelSession:
    """Proposals, answers, undo and the running label map of one scan.

    Parameters
    ----------
    scan_shape : tuple of int
        ``(rows, cols)`` of the scan.
    classes : ClassSet
        The classes the user assigns (label = index).
    step : int
        Grid step of the sampler's first round.
    budget : int
        Labels wanted; no more proposals once it is reached (clicking still labels).
    jitter : bool
        Jitter the sampler's grids (:class:`~ferromap.labelling.sampler.AdaptiveSampler`).
    """

    def __init__(self, scan_shape: tuple[int, int], classes: ClassSet, *, step: int = 8,
                 budget: int = 100, jitter: bool = False) -> None:
        self.classes, self.budget = classes, int(budget)
        self.sampler = AdaptiveSampler(scan_shape, step, jitter=jitter)
        self.history: list[tuple[Position, int | None]] = []
        self.current: Position | None = None
        self._pending: Position | None = None

    @property
    def labels(self) -> dict[Position, int]:
        """``{(row, col): class}`` so far."""
        return self.sampler.labels

    @property
    def scan_shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return self.sampler.scan_shape

    def counter(self) -> str:
        """``"12 / 100 labelled (none 5, vertical 7, horizontal 0)"``."""
        counts = np.bincount(list(self.labels.values()), minlength=len(self.classes))
        per = ", ".join(f"{n} {k}" for n, k in zip(self.classes.names, counts))
        return f"{len(self.labels)} / {self.budget} labelled ({per})"

    def propose(self) -> Position | None:
        """Select and return the next position to label (``None``: budget spent or no
        boundary left to refine)."""
        if self._pending is not None and self._pending not in self.labels:
            self.current = self._pending
        elif len(self.labels) >= self.budget:
            self.current = self._pending = None
        else:
            self.current = self._pending = self.sampler.next()
        return self.current

    def select(self, pos: Position) -> None:
        """Make a clicked position the one the next answer labels."""
        self._check(pos)
        self.current = (int(pos[0]), int(pos[1]))

    def answer(self, value: int) -> Position | None:
        """Label the selected position with class ``value``; return the next proposal."""
        if self.current is None:
            why = ("all the labels wanted are given" if len(self.labels) >= self.budget
                   else "no position is left to propose")
            raise FerromapError(f"no position selected: {why}",
                                gui_hint="click a position on the map to label it, or raise "
                                         "'labels wanted'",
                                py_hint="select(position) first, or raise the budget")
        if not 0 <= int(value) < len(self.classes):
            raise FerromapError(f"class {value} does not exist; classes are 0-"
                                f"{len(self.classes) - 1}")
        self.history.append((self.current, self.labels.get(self.current)))
        self.sampler.label(self.current, int(value))
        return self.propose()

    def undo(self) -> Position | None:
        """Take back the last answer; that position becomes the selected one again."""
        if not self.history:
            return None
        pos, previous = self.history.pop()
        if previous is None:
            self.sampler.undo(pos)
        else:
            self.sampler.label(pos, previous)
        self.current = pos
        return pos

    def label_map(self) -> np.ndarray:
        """``(rows, cols)`` uint8: the class of labelled positions, 255 elsewhere."""
        out = np.full(self.scan_shape, NOT_CLASSIFIED, np.uint8)
        for (r, c), v in self.labels.items():
            out[r, c] = v
        return out

    def save(self, path: str | Path) -> Path:
        """Write the labels to a JSON label store (atomically)."""
        return write_label_file(path, self.labels, list(self.classes.names))

    def load(self, path: str | Path) -> None:
        """Add the labels of a store written for this class set (undo history is reset)."""
        labels, names = read_label_file(path)
        if tuple(names) != self.classes.names:
            raise FerromapError(f"{Path(path).name} labels {', '.join(names)}; this session "
                                f"uses {', '.join(self.classes.names)}")
        for pos in labels:
            self._check(pos)
        for pos, value in labels.items():
            self.sampler.label(pos, value)
        self.history.clear()
        self.propose()

    def _check(self, pos: Position) -> None:
        rows, cols = self.scan_shape
        if not (0 <= pos[0] < rows and 0 <= pos[1] < cols):
            raise FerromapError(f"position {tuple(pos)} is outside the {rows}x{cols} scan")
