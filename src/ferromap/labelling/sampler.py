"""Adaptive ("binary-search") sampling of scan positions to label.

The boracite paper's workflow (docs/methods.md §2): label a regular grid with step ``s``; then, for
each labelled position, find the nearest labelled neighbour within ``√2·s`` that carries a
*different* label and propose the integer midpoint; repeat until the budget is spent. Density
then concentrates on domain walls. Unlike the published labeller, a position that is already
labelled (or already proposed) is never proposed again. When no midpoint is left but budget
remains, the grid step is halved and only the new grid points whose four nearest labelled
positions disagree are proposed, so sampling stays on the walls. No Qt here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def grid_positions(scan_shape: tuple[int, int], step: int,
                   rng: np.random.Generator | None = None) -> list[tuple[int, int]]:
    """Regular grid with ``step``, centred so a scan not divisible by it is covered evenly.

    With ``rng`` every grid point moves by a random whole number of pixels within its own
    ``step × step`` cell (see :class:`AdaptiveSampler` ``jitter``).
    """
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    rows, cols = scan_shape
    r0, c0 = ((rows - 1) % step) // 2, ((cols - 1) % step) // 2
    grid = [(r, c) for r in range(r0, rows, step) for c in range(c0, cols, step)]
    if rng is None:
        return grid
    lo, hi = -((step - 1) // 2), step // 2
    moved = (np.array(grid) + rng.integers(lo, hi + 1, (len(grid), 2))).clip(0, [rows - 1,
                                                                               cols - 1])
    return list(dict.fromkeys((int(r), int(c)) for r, c in moved))


#: Grid points :func:`spread_order` orders (more labels than this are rarely given by hand;
#: the order costs this many passes over the grid).
SPREAD_FIRST = 1024


def spread_order(points: list[tuple[int, int]],
                 first: int = SPREAD_FIRST) -> list[tuple[int, int]]:
    """``points`` reordered so that every prefix covers the scan evenly: the point nearest
    their centre first, then always the point farthest from those already taken (so a
    labelling budget smaller than the grid still samples the whole scan, not its top rows).
    Beyond the ``first`` points so chosen, the rest follow in their own order."""
    if len(points) < 3:
        return list(points)
    pos = np.asarray(points, float)
    start = int(np.argmin(np.hypot(*(pos - pos.mean(axis=0)).T)))
    order, nearest = [start], np.hypot(*(pos - pos[start]).T)
    for _ in range(min(first, len(pos)) - 1):
        nxt = int(np.argmax(nearest))
        order.append(nxt)
        nearest = np.minimum(nearest, np.hypot(*(pos - pos[nxt]).T))
    taken = set(order)
    return [points[i] for i in order] + [p for i, p in enumerate(points) if i not in taken]


def boundary_midpoints(labels: dict[tuple[int, int], int], radius: float
                       ) -> list[tuple[int, int]]:
    """Integer midpoints between each labelled position and its nearest differently
    labelled neighbour within ``radius`` (unique, not yet labelled, sorted)."""
    if not labels:
        return []
    pos = np.array(list(labels), dtype=float)
    lab = np.array(list(labels.values()))
    out: set[tuple[int, int]] = set()
    for i, p in enumerate(pos):
        d = np.hypot(*(pos - p).T)
        other = (lab != lab[i]) & (d <= radius + 1e-9)
        if not other.any():
            continue
        j = np.flatnonzero(other)[np.argmin(d[other])]
        mid = tuple(int(v) for v in np.floor((p + pos[j]) / 2 + 0.5))
        if mid not in labels:
            out.add(mid)
    return sorted(out)


class AdaptiveSampler:
    """Proposes positions to label: a coarse grid first (in :func:`spread_order`), then
    domain-wall midpoints.

    Parameters
    ----------
    scan_shape : tuple of int
        ``(rows, cols)`` of the scan.
    step : int
        Grid step ``s`` of the first round.
    jitter : bool
        Move every grid point randomly within its own cell (seeded by ``seed``). At atomic
        resolution a regular grid whose step is a multiple of the lattice period in scan
        pixels samples one position in the unit cell only, and a classifier trained on it
        fails elsewhere (``docs/labelling.md``); jitter avoids that aliasing.
    seed : int
        Seeds the jitter.
    """

    def __init__(self, scan_shape: tuple[int, int], step: int, jitter: bool = False,
                 seed: int = 0) -> None:
        self.scan_shape, self.step = tuple(scan_shape), int(step)
        self.labels: dict[tuple[int, int], int] = {}
        self._rng = np.random.default_rng(seed) if jitter else None
        self._queue = spread_order(grid_positions(self.scan_shape, self.step, self._rng))
        self._step_now = self.step
        self._proposed: set[tuple[int, int]] = set(self._queue)

    def next(self) -> tuple[int, int] | None:
        """The next position to label, or ``None`` when no boundary is left to refine."""
        while True:
            while self._queue:
                p = self._queue.pop(0)
                if p not in self.labels:
                    return p
            radius = np.sqrt(2) * self._step_now
            fresh = [m for m in boundary_midpoints(self.labels, radius)
                     if m not in self._proposed]
            if not fresh:
                if self._step_now == 1:
                    return None
                self._step_now = max(1, self._step_now // 2)
                fresh = self._refined_grid()
            self._proposed.update(fresh)
            self._queue = fresh

    def _refined_grid(self, k: int = 4) -> list[tuple[int, int]]:
        """Grid points at the current step whose ``k`` nearest labels are not all the same."""
        if not self.labels:
            return []
        pos = np.array(list(self.labels), dtype=float)
        lab = np.array(list(self.labels.values()))
        out = []
        for p in grid_positions(self.scan_shape, self._step_now, self._rng):
            if p in self.labels or p in self._proposed:
                continue
            near = lab[np.argsort(np.hypot(*(pos - p).T))[:k]]
            if len(np.unique(near)) > 1:
                out.append(p)
        return out

    def label(self, pos: tuple[int, int], value: int) -> None:
        """Record a label (for a proposed position or any clicked one)."""
        r, c = pos
        if not (0 <= r < self.scan_shape[0] and 0 <= c < self.scan_shape[1]):
            raise ValueError(f"position {pos} is outside the {self.scan_shape} scan")
        self.labels[(int(r), int(c))] = int(value)

    def undo(self, pos: tuple[int, int]) -> None:
        """Forget a label; the position may be proposed again."""
        self.labels.pop(tuple(pos), None)
        self._proposed.discard(tuple(pos))


def run_sampling(sampler, oracle: Callable[[int, int], int], budget: int) -> dict:
    """Label up to ``budget`` positions by asking ``oracle(row, col)`` (a user or the truth)."""
    while len(sampler.labels) < budget:
        p = sampler.next()
        if p is None:
            break
        sampler.label(p, oracle(*p))
    return dict(sampler.labels)


def random_positions(scan_shape: tuple[int, int], budget: int, seed: int = 0
                     ) -> list[tuple[int, int]]:
    """``budget`` distinct random positions (the comparison baseline)."""
    rng = np.random.default_rng(seed)
    flat = rng.choice(scan_shape[0] * scan_shape[1], size=min(budget, scan_shape[0] * scan_shape[1]),
                      replace=False)
    return [tuple(int(v) for v in divmod(int(i), scan_shape[1])) for i in flat]
