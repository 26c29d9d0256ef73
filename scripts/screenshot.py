"""Make docs/screenshot.png (the sample, inference results and a selected position) and
docs/labelling.png (the "Label positions" mode after training on 40 labels).

    xvfb-run -a python scripts/screenshot.py
"""

from __future__ import annotations

import os
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
OUT = DOCS / "screenshot.png"


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
    labelling_shot(viewer, widget)
    viewer.close()


def labelling_shot(viewer, widget) -> None:
    """Answer 40 proposals with the 8 KNN directions from the sample's truth, fine-tune the
    shipped conv-proto on them, and show the map with the labelled positions on top."""
    from qtpy.QtWidgets import QApplication

    from ferromap.data import load_sample

    truth = load_sample("two-domain")[1]
    panel = widget.labelling
    panel.knn.clicked()
    panel.budget.value = 40
    panel.fine_tune.value = True
    panel.start_session()
    while panel.session.current is not None:
        panel.answer(int(truth[panel.session.current]))
    panel.train_and_map()
    for name in ("anomalies", "low information"):
        viewer.layers[name].visible = False
    widget.select(16, 30)
    for _ in range(5):
        QApplication.processEvents()
    viewer.screenshot(str(DOCS / "labelling.png"), canvas_only=False)
    print(f"written {DOCS / 'labelling.png'}")


if __name__ == "__main__":
    main()
