"""Pseudo-cubic KNN, (K0.5Na0.5)NbO3, viewed down [001], with a polar Nb displacement.

Coordinates are abTEM's: x to the right, y UP, z along the beam. A class direction θ
(CCW from +x, see docs/conventions.md) displaces Nb by ``d_nb·(cos θ, sin θ)``; that is "up" in
our images too because the simulator maps +y to smaller row at its boundary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ferromap.classes import KNN8

A_PSEUDOCUBIC = 3.95  # Å
A_SITE_ORDERS = ("random", "layered", "columnar")
# Fractional sites of the ABO3 cell: A corner, B body centre, O face centres.
_SITES = {"A": (0.0, 0.0, 0.0), "Nb": (0.5, 0.5, 0.5),
          "O1": (0.5, 0.5, 0.0), "O2": (0.5, 0.0, 0.5), "O3": (0.0, 0.5, 0.5)}


@dataclass(frozen=True)
class KNNCrystal:
    """A KNN supercell.

    Attributes
    ----------
    direction : str or None
        Polarization class (``"RM"``, ``"RU"``, ... see :data:`ferromap.classes.KNN8`) or
        ``None`` for the centrosymmetric reference.
    d_nb : float
        Nb displacement in Å along the class direction.
    d_o : float
        Oxygen displacement in Å opposite to it.
    cells : int
        Lateral size, ``cells × cells`` unit cells.
    thickness_cells : int
        Number of unit cells along the beam.
    a : float
        Pseudo-cubic lattice parameter in Å.
    vacancy : tuple of int, optional
        ``(cell_x, cell_y, depth)`` of an oxygen vacancy at the O site of the Nb–O column.
    seed : int
        Seed of the random K/Na occupation of the A sites.
    a_site_order : {"random", "layered", "columnar"}
        How K and Na share the A sites: at random (each site K with probability 1/2),
        in alternating (001) layers along the beam, or in a checkerboard of whole columns
        (each projected A column is all K or all Na).
    """

    direction: str | None = "RM"
    d_nb: float = 0.15
    d_o: float = 0.0
    cells: int = 2
    thickness_cells: int = 51
    a: float = A_PSEUDOCUBIC
    vacancy: tuple[int, int, int] | None = None
    seed: int = 0
    a_site_order: str = "random"

    def __post_init__(self) -> None:
        if self.a_site_order not in A_SITE_ORDERS:
            raise ValueError(f"a_site_order must be one of {', '.join(A_SITE_ORDERS)}, "
                             f"got {self.a_site_order!r}")
        if self.cells < 1 or self.thickness_cells < 1:
            raise ValueError("cells and thickness_cells must be at least 1")

    @classmethod
    def with_thickness(cls, thickness_nm: float, **kwargs) -> KNNCrystal:
        """Build with a thickness in nm, rounded to whole unit cells."""
        a = kwargs.get("a", A_PSEUDOCUBIC)
        return cls(thickness_cells=max(1, int(round(thickness_nm * 10 / a))), **kwargs)

    @property
    def thickness_nm(self) -> float:
        """Actual thickness in nm."""
        return self.thickness_cells * self.a / 10

    @property
    def extent(self) -> float:
        """Lateral box size in Å."""
        return self.cells * self.a

    def displacement(self) -> np.ndarray:
        """Nb displacement ``(dx, dy)`` in Å (y up)."""
        if self.direction is None:
            return np.zeros(2)
        t = np.deg2rad(KNN8.angles_deg[KNN8.index(self.direction)])
        return np.array([np.cos(t), np.sin(t)])

    def atoms(self):
        """The ase.Atoms of the supercell (periodic)."""
        import ase

        n, nz = self.cells, self.thickness_cells
        frac, symbols = [], []
        rng = np.random.default_rng(self.seed)
        for i in range(n):
            for j in range(n):
                for k in range(nz):
                    for name, (fx, fy, fz) in _SITES.items():
                        if self.vacancy == (i, j, k) and name == "O1":
                            continue
                        frac.append(((i + fx) / n, (j + fy) / n, (k + fz) / nz))
                        if name == "A":
                            symbols.append("K" if self._is_k(i, j, k, rng) else "Na")
                        else:
                            symbols.append("Nb" if name == "Nb" else "O")
        atoms = ase.Atoms(symbols, scaled_positions=frac, cell=[n * self.a, n * self.a,
                                                               nz * self.a], pbc=True)
        unit = self.displacement()
        is_nb = atoms.numbers == 41
        is_o = atoms.numbers == 8
        atoms.positions[is_nb, :2] += self.d_nb * unit
        atoms.positions[is_o, :2] -= self.d_o * unit
        return atoms

    def _is_k(self, i: int, j: int, k: int, rng: np.random.Generator) -> bool:
        """Whether the A site of cell ``(i, j)`` at depth ``k`` holds K (else Na)."""
        if self.a_site_order == "layered":
            return (k + self.seed) % 2 == 0
        if self.a_site_order == "columnar":
            return (i + j + self.seed) % 2 == 0
        return bool(rng.random() < 0.5)

    def nb_column(self, cell: tuple[int, int] = (0, 0)) -> np.ndarray:
        """``(x, y)`` in Å of the (displaced) Nb–O column in a cell."""
        base = (np.array(cell, dtype=float) + 0.5) * self.a
        return base + self.d_nb * self.displacement()

    def to_dict(self) -> dict:
        """JSON form (for metadata)."""
        d = asdict(self)
        d["thickness_nm"] = self.thickness_nm
        return d
