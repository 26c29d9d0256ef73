"""The training bank: many randomized KNN crystals, each scanned over exactly one period.

Each entry draws one specimen and microscope from the spread of real experiments (docs/methods.md
§4): thickness 10–60 nm, Nb displacement 0.08–0.22 Å with an O counter-displacement, random,
layered or columnar K/Na order, mistilt up to 3 mrad at any azimuth, defocus, astigmatism and
Cs, frozen phonons (thermal diffuse scattering) in most entries, and the lobato or kirkland
potential at one of three slice thicknesses. It is simulated for one polarization; in the
first bank (``WIDE``) axial (RM) in even entries and diagonal (RU) in odd ones, in the mild
bank (``MILD``) groups of four entries share one specimen and microscope with the
polarizations RM, RU, LM and LD (:class:`BankSpread`). The crystal's square symmetry, applied
in training, turns them into all 8 classes.

Every entry scans the 2×2-cell box on the exact 32×32 grid, fine enough for the scan-space
band limit (:mod:`ferromap.simulate.scanspace`), so training can draw patterns at any probe
position and through any finite source exactly, for free. Detector effects (PSF, descan,
dark counts, dose) are applied in training, not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from ferromap.classes import KNN8
from ferromap.simulate.crystal import A_PSEUDOCUBIC, KNNCrystal
from ferromap.simulate.fourdstem import (
    DEFAULT_RMS_A,
    Microscope,
    Multislice,
    ScanGrid,
    simulate_4dstem,
)

BANK_DIRECTIONS = ("RM", "RU")  # even entries, odd entries
BANK_GRID = 32  # positions per side over the 2×2-cell box: step a/16 = 0.247 Å
BANK_DETECTOR_PX = 68  # 2 px of margin around the 64-px model crop
#: Occupation seeds of bank crystals start here: no test recipe uses them.
BANK_SEED0 = 2000


@dataclass(frozen=True)
class BankSpread:
    """The ranges one bank draws its specimens and microscopes from.

    ``WIDE`` is the first bank: harsh tilts (up to 3 mrad), up to 3 nm of astigmatism and
    1 µm of Cs, and every entry its own crystal and microscope with one polarization (RM or
    RU). On it, the shipped model and the networks fine-tuned from it stayed near chance
    (docs/methods.md §4). ``MILD`` spans the aligned instrument of a typical experiment:
    thickness 10–60 nm, tilt up to 1.5 mrad, at most 1 nm of astigmatism, |Cs| up to
    0.2 µm, and frozen phonons in two of three groups. Its entries come in **groups** of
    ``group`` consecutive indices that share the crystal, the microscope and the phonon
    configurations and differ only in the polarization (``directions``): a mistilt, whose
    asymmetry resembles a polarization, then goes with several polarizations, so a network
    cannot learn the one for the other. Its occupation seeds (``seed0``) are disjoint from
    the wide bank's and from every recipe's.
    """

    name: str
    seed0: int
    thickness_nm: tuple[float, float]
    d_nb: tuple[float, float]
    defocus_A: float  # |defocus| up to
    astigmatism_A: float
    cs_A: float  # |Cs| up to
    tilt_mrad: float
    phonon_configs: tuple[int, ...]  # drawn uniformly from these
    group: int = 1  # consecutive entries sharing crystal and microscope
    directions: tuple[str, ...] = BANK_DIRECTIONS  # entry i: directions[i % len]

    def group_of(self, index: int) -> int:
        """The group of entry ``index``."""
        return index // self.group


WIDE = BankSpread("wide", BANK_SEED0, (10.0, 60.0), (0.08, 0.22), 60.0, 30.0, 1e4, 3.0,
                  (0, 2, 2, 3))
MILD = BankSpread("mild", 4000, (10.0, 60.0), (0.10, 0.20), 40.0, 10.0, 2e3, 1.5, (0, 2, 2),
                  group=4, directions=("RM", "RU", "LM", "LD"))
SPREADS = {s.name: s for s in (WIDE, MILD)}


@dataclass(frozen=True)
class BankEntry:
    """One randomized specimen and microscope of the training bank."""

    index: int
    crystal: KNNCrystal
    microscope: Microscope
    multislice: Multislice

    def to_dict(self) -> dict:
        """JSON form (stored with the entry)."""
        return {"index": self.index, "crystal": self.crystal.to_dict(),
                "microscope": asdict(self.microscope), "multislice": asdict(self.multislice)}


def bank_entry(index: int, spread: BankSpread = WIDE) -> BankEntry:
    """Draw entry ``index`` of a bank (seeded: the same index gives the same entry).

    Parameters
    ----------
    index : int
        Entry number, >= 0.
    spread : BankSpread
        The ranges drawn from (:data:`WIDE`, the first bank, or :data:`MILD`).

    Returns
    -------
    BankEntry
    """
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    if not isinstance(spread, BankSpread):
        raise TypeError(f"spread must be a BankSpread, got {type(spread).__name__}")
    sp = spread
    group = sp.group_of(index)
    rng = np.random.default_rng([sp.seed0, group])
    d_nb = float(rng.uniform(*sp.d_nb))
    crystal = KNNCrystal.with_thickness(
        float(rng.uniform(*sp.thickness_nm)), direction=sp.directions[index % len(sp.directions)],
        cells=2, d_nb=d_nb, d_o=d_nb * float(rng.uniform(0.0, 0.4)), seed=sp.seed0 + group,
        a_site_order=str(rng.choice(["random"] * 6 + ["layered", "columnar"])))
    draw = [float(v) for v in rng.uniform(
        [23, -sp.defocus_A, 0, 0, -sp.cs_A, 0, 0],
        [25, sp.defocus_A, sp.astigmatism_A, 180, sp.cs_A, 1, 360])]
    microscope = Microscope(
        detector_px=BANK_DETECTOR_PX, semiangle_mrad=draw[0], defocus_A=draw[1],
        astigmatism_A=draw[2], astigmatism_angle_deg=draw[3], cs_A=draw[4],
        tilt_mrad=sp.tilt_mrad * float(np.sqrt(draw[5])), tilt_azimuth_deg=draw[6])
    scale = float(rng.uniform(0.8, 1.25))
    multislice = Multislice(
        parametrization=str(rng.choice(["lobato"] * 7 + ["kirkland"] * 3)),
        slice_thickness_A=float(rng.choice([A_PSEUDOCUBIC / 2] * 6 + [A_PSEUDOCUBIC / 4,
                                                                      A_PSEUDOCUBIC])),
        phonon_configs=int(rng.choice(list(sp.phonon_configs))),
        rms_A=tuple((el, round(rms * scale, 4)) for el, rms in DEFAULT_RMS_A),
        seed=sp.seed0 + group)
    return BankEntry(index, crystal, microscope, multislice)


def simulate_bank_entry(
    entry: BankEntry, progress: Callable[[int, int], None] | None = None
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Simulate one bank entry on the exact 32×32 grid of its 2×2-cell box.

    Parameters
    ----------
    entry : BankEntry
        From :func:`bank_entry`.
    progress : callable, optional
        ``progress(done, total)`` in multislice positions.

    Returns
    -------
    data : numpy.ndarray
        ``(32, 32, 68, 68)`` float32 (scan position ``(r, c)`` at ``x = c·step``,
        ``y = -r·step``).
    labels : numpy.ndarray
        ``(32, 32)`` uint8 KNN8 class index of the entry's direction.
    metadata : dict
    """
    step = entry.crystal.extent / BANK_GRID
    grid = ScanGrid((BANK_GRID, BANK_GRID), step)
    sim = simulate_4dstem(entry.crystal, grid, entry.microscope, entry.multislice,
                          progress=progress)
    labels = np.full(grid.shape, KNN8.index(entry.crystal.direction), np.uint8)
    meta = {"bank_entry": entry.to_dict(), "classes": KNN8.to_dict(), "periodic_scan": True,
            "mrad_per_px": sim.mrad_per_px, "scan_step_nm": sim.scan_step_nm,
            "simulator": sim.metadata["simulator"]}
    return sim.data, labels, meta
