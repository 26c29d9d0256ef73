"""Mouse and key callbacks as free functions, added idempotently and removed on close.

``select_on_click(layer, event)`` reads the scan position under the cursor (in data
coordinates) on press and while dragging, and hands it to the layer's linked controller
(``layer.metadata["ferromap_controller"]``), which updates the diffraction view and marker.
"""

from __future__ import annotations

from collections.abc import Callable


def position_of(layer, event) -> tuple[int, int] | None:
    """Integer ``(row, col)`` of the event in the layer's data, or ``None`` outside it."""
    coords = layer.world_to_data(event.position)
    row, col = (int(round(v)) for v in coords[-2:])
    rows, cols = layer.data.shape[-2:] if hasattr(layer.data, "shape") else (0, 0)
    if 0 <= row < rows and 0 <= col < cols:
        return row, col
    return None


def select_on_click(layer, event):
    """Mouse-drag callback: select the position under the cursor, follow the drag."""
    controller = layer.metadata.get("ferromap_controller")
    if controller is None:
        return
    pos = position_of(layer, event)
    if pos is not None:
        controller.select(*pos)
    yield
    while event.type == "mouse_move":
        pos = position_of(layer, event)
        if pos is not None:
            controller.select(*pos)
        yield


def add_mouse_callback(layer, callback: Callable, controller) -> None:
    """Attach ``callback`` to ``layer`` once, with its controller."""
    layer.metadata["ferromap_controller"] = controller
    if callback not in layer.mouse_drag_callbacks:
        layer.mouse_drag_callbacks.append(callback)


def remove_mouse_callback(layer, callback: Callable) -> None:
    """Detach ``callback`` and the controller reference from ``layer``."""
    while callback in layer.mouse_drag_callbacks:
        layer.mouse_drag_callbacks.remove(callback)
    layer.metadata.pop("ferromap_controller", None)
