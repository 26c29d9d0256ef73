"""Drive the plugin only through napari's public entry points: the plugin menu, the docks'
own buttons (real Qt clicks), worker threads that really run, and real mouse events on the
vispy canvas."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari", reason="napari is not installed: pip install 'ferromap[gui]'")

MAIN = "Polarization mapping"
WORK_TIMEOUT_MS = 240_000


@pytest.fixture
def viewer(make_napari_viewer):
    """A shown viewer at 1920×1080 with the two-domain sample open."""
    v = make_napari_viewer(show=True)
    v.window._qt_window.resize(1920, 1080)
    v.open_sample("ferromap", "two-domain")
    return v


@pytest.fixture
def notifications(monkeypatch):
    """Every notification napari shows, as ``(severity, message)``."""
    from napari.utils.notifications import notification_manager

    seen: list[tuple[str, str]] = []

    def record(notification) -> None:
        seen.append((str(notification.severity), str(notification.message)))

    notification_manager.notification_ready.connect(record)
    yield seen
    notification_manager.notification_ready.disconnect(record)


@pytest.fixture
def open_dock(viewer, qtbot):
    """``open_dock(display_name)``: add a ferromap dock through the plugin menu."""

    def add(name: str = MAIN):
        dock, widget = viewer.window.add_plugin_dock_widget("ferromap", name)
        if name == MAIN:
            qtbot.waitUntil(lambda: widget.diffraction is not None and widget.labelling
                            is not None, timeout=5000)
        return widget

    return add


@pytest.fixture
def main(open_dock):
    return open_dock(MAIN)


@pytest.fixture
def wait_idle(qtbot):
    """``wait_idle(runner)``: until the dock's worker has finished (it really runs)."""

    def wait(runner, timeout: int = WORK_TIMEOUT_MS) -> None:
        qtbot.waitUntil(lambda: not runner.busy, timeout=timeout)
        qtbot.wait(50)

    return wait


def press(button) -> None:
    """A real click on a magicgui button's Qt widget."""
    button.native.click()


@pytest.fixture
def click_scan(viewer, qtbot):
    """``click_scan(row, col)``: a real left click on the canvas at that scan pixel."""
    from qtpy.QtCore import QPoint, Qt
    from qtpy.QtTest import QTest

    def click(row: int, col: int, step: float | None = None) -> None:
        canvas = viewer.window._qt_viewer.canvas.native
        step = step or viewer.layers["KNN two-domain virtual BF"].scale[-1]
        world = np.array([row * step, col * step])
        camera = viewer.scene.camera
        centre = np.asarray(camera.center[-2:])
        zoom = camera.zoom
        y, x = (world - centre) * zoom + np.array([canvas.height(), canvas.width()]) / 2
        QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(int(round(x)), int(round(y))))
        qtbot.wait(30)

    return click


def ferromap_callbacks(viewer) -> list:
    """Mouse callbacks of ferromap on the viewer and its layers."""
    found = [cb for cb in viewer.mouse_drag_callbacks if "ferromap" in getattr(
        cb, "__module__", "") or "ferromap" in type(getattr(cb, "__self__", None)).__module__]
    for layer in viewer.layers:
        found += [cb for cb in layer.mouse_drag_callbacks if "ferromap" in getattr(
            cb, "__module__", "")]
    return found


def ferromap_docks(viewer) -> list[str]:
    return [name for name in viewer.window.dock_widgets if "ferromap" in name]
