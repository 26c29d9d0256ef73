"""Make docs/screenshot.png and docs/labelling.png through the path a user takes.

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshot.py

A 1920×1080 window, *File > Open Sample*, *Plugins > ferromap > Polarization mapping*, the
dock's own buttons (the work runs in its worker thread), a real mouse click on the map, and
for the second picture the labelling dock's buttons: 40 answered proposals (from the sample's
truth), then fine-tuning the shipped conv-proto on them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

DOCS = Path(__file__).resolve().parents[1] / "docs"


def settle(seconds: float = 0.3) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def wait(runner, timeout: float = 1800) -> None:
    """Until the dock's worker thread has finished."""
    end = time.monotonic() + timeout
    while runner.busy and time.monotonic() < end:
        settle(0.1)
    settle()


def click_scan(viewer, row: int, col: int) -> None:
    """A real left click on the canvas at a scan position."""
    from qtpy.QtCore import QPoint, Qt
    from qtpy.QtTest import QTest

    canvas = viewer.window._qt_viewer.canvas.native
    step = viewer.layers["KNN two-domain virtual BF"].scale[-1]
    camera = viewer.scene.camera
    y, x = ((np.array([row, col]) * step - np.asarray(camera.center[-2:])) * camera.zoom
            + np.array([canvas.height(), canvas.width()]) / 2)
    QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(int(x), int(y)))
    settle()


def main() -> None:
    import napari

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1920, 1080)
    viewer.open_sample("ferromap", "two-domain")
    _, widget = viewer.window.add_plugin_dock_widget("ferromap", "Polarization mapping")
    settle(1.0)
    widget.run_button.native.click()
    wait(widget.runner)
    viewer.layers["KNN two-domain virtual BF"].visible = False
    viewer.reset_view()
    settle()
    click_scan(viewer, 10, 20)
    settle()  # the panel's layout follows the new text
    viewer.screenshot(str(DOCS / "screenshot.png"), canvas_only=False)
    print(f"written {DOCS / 'screenshot.png'}")
    labelling_shot(viewer, widget)
    viewer.close()


def labelling_shot(viewer, widget) -> None:
    from ferromap.data import load_sample

    truth = load_sample("two-domain")[1]
    panel = widget.labelling
    panel.knn.native.click()
    panel.budget.value = 40
    panel.fine_tune.value = True
    panel.start.native.click()
    while panel.labels.current is not None:
        panel.answers[int(truth[panel.labels.current])].native.click()
    panel.train.native.click()
    wait(panel.runner)
    for layer in viewer.layers:
        if layer.name in ("polarization", "anomalies", "labels: anomalies", "class legend"):
            layer.visible = False
    panel.parent().raise_()  # show the labelling tab
    click_scan(viewer, 16, 30)
    settle()
    viewer.screenshot(str(DOCS / "labelling.png"), canvas_only=False)
    print(f"written {DOCS / 'labelling.png'}")


if __name__ == "__main__":
    main()
