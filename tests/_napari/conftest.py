from __future__ import annotations

from dataclasses import dataclass, field

import pytest

pytest.importorskip("napari", reason="napari is not installed: pip install 'ferromap[gui]'")


@dataclass
class MouseEvent:
    """Mock napari mouse event for driving callbacks without a display."""

    position: tuple
    type: str = "mouse_press"
    modifiers: list = field(default_factory=list)
    view_direction: tuple | None = None
    dims_displayed: tuple = (0, 1)


@pytest.fixture
def errors(monkeypatch):
    """Messages the widget and reader would show as error notifications."""
    seen: list[str] = []
    import ferromap._napari._reader as reader
    import ferromap._napari._widget as widget

    monkeypatch.setattr(widget, "_notify_error", seen.append)
    monkeypatch.setattr(reader, "_notify", seen.append)
    return seen


@pytest.fixture
def widget(make_napari_viewer, monkeypatch):
    monkeypatch.setenv("FERROMAP_NOTHREADS", "1")
    from ferromap._napari._widget import PolarizationWidget

    viewer = make_napari_viewer()
    viewer.open_sample("ferromap", "two-domain")
    w = PolarizationWidget(viewer)
    viewer.window.add_dock_widget(w, name="Polarization mapping")
    yield w
    w.close_links()
