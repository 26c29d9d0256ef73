"""Make docs/screenshot.png: the sample, inference results and a selected position.

    xvfb-run -a python scripts/screenshot.py
"""

from __future__ import annotations

import os
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshot.png"


def main() -> None:
    os.environ["FERROMAP_NOTHREADS"] = "1"
    import napari
    from qtpy.QtWidgets import QApplication

    from ferromap._napari._widget import PolarizationWidget

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1500, 950)
    viewer.open_sample("ferromap", "two-domain")
    widget = PolarizationWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Polarization mapping", area="right")
    widget.run_inference()
    viewer.layers["KNN two-domain virtual BF"].visible = False
    viewer.layers["confidence"].visible = False
    viewer.layers["low information"].visible = True
    widget.select(10, 20)
    viewer.canvas.overlays.scale_bar.visible = True  # units come from the layers (nm)
    viewer.reset_view()
    for _ in range(5):
        QApplication.processEvents()
    OUT.parent.mkdir(exist_ok=True)
    viewer.screenshot(str(OUT), canvas_only=False)
    print(f"written {OUT}")
    viewer.close()


if __name__ == "__main__":
    main()
