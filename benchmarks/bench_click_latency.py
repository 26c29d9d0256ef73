"""Click-to-pattern latency of the napari diffraction view on a lazily loaded on-disk dataset.

    python benchmarks/bench_click_latency.py   (needs a display or Xvfb: xvfb-run -a ...)

Opens a 128×128×256×256 uint16 .npy in the plugin widget, then drives the mouse callback
for 100 random positions and times callback → pattern read → view drawn (canvas.draw, not
draw_idle). Reference in the same run: reading the same patterns alone. Target: < 50 ms.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np
from _common import DATA, make_npy, save_result


@dataclass
class Event:
    position: tuple
    type: str = "mouse_press"
    modifiers: list = field(default_factory=list)


def main() -> None:
    os.environ["FERROMAP_NOTHREADS"] = "1"
    import napari

    from ferromap._napari._callbacks import select_on_click
    from ferromap._napari._widget import PolarizationWidget

    path = make_npy(DATA / "com_128x128x256.npy", (128, 128), 256)
    viewer = napari.Viewer(show=False)
    viewer.open(str(path), plugin="ferromap")
    widget = PolarizationWidget(viewer)
    nav = viewer.layers[f"{path.name} virtual BF"]
    rng = np.random.default_rng(0)
    positions = rng.integers(0, 128, size=(100, 2))
    t = time.perf_counter()
    for r, c in positions:
        widget.dataset.pattern(int(r), int(c))
    read_ms = (time.perf_counter() - t) / len(positions) * 1e3
    times = []
    for r, c in positions:
        t = time.perf_counter()
        next(select_on_click(nav, Event(position=tuple(nav.data_to_world((r, c))))))
        widget.diffraction.canvas.draw()
        times.append((time.perf_counter() - t) * 1e3)
    assert widget.diffraction.current.row == positions[-1][0]
    save_result("click_latency", {
        "dataset": "(128, 128, 256, 256) uint16 .npy on disk, opened lazily",
        "median_ms": round(float(np.median(times)), 1),
        "p95_ms": round(float(np.percentile(times, 95)), 1),
        "pattern_read_only_ms": round(read_ms, 2), "target_ms": 50,
    })
    widget.close_links()
    viewer.close()


if __name__ == "__main__":
    main()
