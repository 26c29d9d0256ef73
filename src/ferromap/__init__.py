"""ferromap: map ferroelectric polarization from 4D-STEM data.

Arrays are indexed ``(scan_row, scan_col, k_row, k_col)``; rows increase downward and
angles are counter-clockwise from +col ("up" is toward smaller row).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "open_4dstem"]


def __getattr__(name: str):
    # Keep `import ferromap` cheap (the napari plugin menu imports it).
    if name == "open_4dstem":
        from ferromap.io import open_4dstem

        return open_4dstem
    raise AttributeError(f"module 'ferromap' has no attribute {name!r}")
