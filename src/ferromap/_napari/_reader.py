"""napari reader: every format :func:`ferromap.io.open_4dstem` opens.

``get_reader`` checks cheaply and returns ``None`` for anything it cannot read; the returned
function never raises for bad files either: it shows one notification and returns napari's
"read, no layers" value ``[(None,)]`` (an empty list would make napari add an error of its
own on top).
"""

from __future__ import annotations

from pathlib import Path


def get_reader(path: str | list[str]):
    """Return a reader function for ``path`` or ``None``."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    from ferromap.io import can_open

    try:
        ok = can_open(path)
    except OSError:
        return None
    return read_dataset if ok else None


def read_dataset(path: str | list[str]) -> list[tuple]:
    """Open a dataset: the lazy 4-D data and a virtual bright-field navigation image."""
    from ferromap.errors import user_message
    from ferromap.io import open_4dstem

    path = path[0] if isinstance(path, list) else path
    try:
        return read_dataset_layers(open_4dstem(path), Path(path).name)
    except Exception as exc:  # noqa: BLE001 - a reader never raises: every failure is a notification
        _notify(user_message(exc, "gui"))
        return [(None,)]


def read_dataset_layers(ds, name: str, open_kwargs: dict | None = None) -> list[tuple]:
    """Layer tuples of an opened dataset (computes the virtual BF image in one pass)."""
    from ferromap._napari._layers import dataset_layers
    from ferromap.core.geometry import sample_patterns
    from ferromap.core.virtual import annulus_mask, estimate_bf_disk, virtual_image

    mean = sample_patterns(ds.data, 32, read_one=ds.pattern).mean(axis=0)
    center, radius = estimate_bf_disk(mean)
    nav = virtual_image(ds.array(), annulus_mask(ds.frame_shape, center, max(radius, 1.0)))
    return dataset_layers(ds, name, nav, open_kwargs)


def _notify(message: str) -> None:
    from napari.utils.notifications import show_error

    show_error(f"ferromap could not open the file: {message}")
