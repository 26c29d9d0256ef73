"""Domains of a label map: the connected regions of one class, after removing speckle.

A map of two domains of nearly equal size has no meaningful "majority class"; what it shows
is the domains. :func:`find_domains` smooths the label map with a majority (mode) filter, so
isolated misclassified positions do not split or invent regions, then labels the connected
regions (4-connectivity) of each class and keeps those of at least ``min_fraction`` of the
scan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferromap.classes import NOT_CLASSIFIED, ClassSet

#: A class "holds the map" when it has more than this fraction of the informative positions.
MAJORITY = 0.5
#: ... and no second domain covers this fraction of them (a 51 % / 49 % map is two domains).
SECOND_DOMAIN = 0.2


@dataclass(frozen=True)
class Domain:
    """One connected region of one class."""

    name: str
    n_positions: int
    fraction: float  # of the scan's classified positions
    area_nm2: float | None
    centroid: tuple[float, float]  # (row, col) in scan pixels

    def to_dict(self) -> dict:
        """JSON form."""
        return {"class": self.name, "n_positions": self.n_positions,
                "fraction": round(self.fraction, 4),
                "area_nm2": None if self.area_nm2 is None else round(self.area_nm2, 3),
                "centroid_px": [round(v, 2) for v in self.centroid]}


def mode_filter(labels: np.ndarray, valid: np.ndarray, n_classes: int, radius: int) -> np.ndarray:
    """Most common valid label in each ``(2r+1)²`` window (the position included).

    A tie goes to the position's own label when it is one of the tied classes; any other
    tie, and a window without a valid label, gives 255, so no class is favoured.
    """
    rows, cols = labels.shape
    pad = np.zeros((rows + 2 * radius, cols + 2 * radius, n_classes), np.int32)
    idx = np.nonzero(valid)
    pad[idx[0] + radius, idx[1] + radius, labels[idx]] = 2
    counts = np.zeros((rows, cols, n_classes), np.int32)
    for dr in range(2 * radius + 1):
        for dc in range(2 * radius + 1):
            counts += pad[dr : dr + rows, dc : dc + cols]
    counts[idx[0], idx[1], labels[idx]] += 1  # the position's own vote breaks its ties
    top = counts.max(axis=2)
    decided = (top > 0) & ((counts == top[..., None]).sum(axis=2) == 1)
    return np.where(decided, counts.argmax(axis=2), NOT_CLASSIFIED).astype(np.uint8)


def find_domains(
    labels: np.ndarray,
    classes: ClassSet,
    *,
    valid: np.ndarray | None = None,
    scan_step_nm: float | None = None,
    radius: int = 1,
    min_fraction: float = 0.02,
) -> list[Domain]:
    """Connected single-class regions of a label map, largest first.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(rows, cols)`` class indices (255: not classified).
    classes : ClassSet
        Names of the indices.
    valid : numpy.ndarray, optional
        Positions to trust (e.g. not low-information); all classified ones by default.
    scan_step_nm : float, optional
        For areas in nm².
    radius : int
        Mode-filter radius used to remove speckle before labelling.
    min_fraction : float
        Smaller regions are speckle and left out.

    Returns
    -------
    list of Domain

    Examples
    --------
    >>> import numpy as np
    >>> from ferromap.classes import KNN8
    >>> lab = np.zeros((8, 8), np.uint8); lab[:, 4:] = 2   # RM | MU
    >>> [(d.name, d.n_positions) for d in find_domains(lab, KNN8)]
    [('RM', 32), ('MU', 32)]
    """
    from scipy.ndimage import label as connected

    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be 2-D, got shape {labels.shape}")
    classified = labels != NOT_CLASSIFIED
    valid = classified if valid is None else (np.asarray(valid, bool) & classified)
    if valid.shape != labels.shape:
        raise ValueError(f"valid has shape {valid.shape}; labels {labels.shape}")
    n = len(classes)
    smooth = mode_filter(np.where(classified, labels, 0), valid, n, radius)
    total = max(int(classified.sum()), 1)
    domains = []
    for k in range(n):
        regions, count = connected(smooth == k)
        for i in range(1, count + 1):
            where = np.argwhere(regions == i)
            if len(where) < max(1, min_fraction * total):
                continue
            area = len(where) * scan_step_nm**2 if scan_step_nm else None
            domains.append(Domain(classes.names[k], len(where), len(where) / total, area,
                                  tuple(float(v) for v in where.mean(axis=0))))
    return sorted(domains, key=lambda d: -d.n_positions)


def describe(fractions: dict[str, float], domains: list[Domain]) -> str:
    """One line for a title: the majority class if one holds the map, else the domains.

    A class holds the map when it has more than :data:`MAJORITY` of the positions and no
    domain of another class covers :data:`SECOND_DOMAIN` of them.

    Examples
    --------
    >>> describe({"MU": 0.46, "RM": 0.45, "RU": 0.09}, [])
    'no majority: MU 46%, RM 45%'
    """
    name, top = max(fractions.items(), key=lambda kv: kv[1]) if fractions else ("", 0.0)
    rival = any(d.name != name and d.fraction >= SECOND_DOMAIN for d in domains)
    if top > MAJORITY and not rival:
        return f"majority {name} ({100 * top:.0f}%)"
    if domains:
        parts = [f"{d.name} {100 * d.fraction:.0f}%" for d in domains[:4]]
        return f"{len(domains)} domains: " + ", ".join(parts)
    big = [f"{k} {100 * v:.0f}%" for k, v in sorted(fractions.items(), key=lambda kv: -kv[1])
           if v >= 0.2]
    return "no majority: " + ", ".join(big)
