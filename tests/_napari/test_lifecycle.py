"""Closing any ferromap dock cancels its work and removes its callbacks; everything fits."""

from __future__ import annotations

import pytest

from .conftest import MAIN, ferromap_callbacks, ferromap_docks, press


def test_closing_the_main_dock_cancels_work_and_leaves_nothing(viewer, main, open_dock, qtbot,
                                                                wait_idle):
    main.symmetrize.value = True
    press(main.run_button)
    runner = main.runner
    assert runner.busy and ferromap_callbacks(viewer)
    viewer.window.remove_dock_widget(main)
    assert ferromap_docks(viewer) == [] and ferromap_callbacks(viewer) == []
    assert runner.cancel.is_set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=120_000)
    qtbot.wait(200)
    assert "polarization" not in viewer.layers  # the closed dock adds nothing
    assert all(viewer.keymap.get(k) is None for k in ("Up", "Down", "Left", "Right"))
    again = open_dock(MAIN)
    assert again is not main and len(ferromap_docks(viewer)) == 3
    assert len(ferromap_callbacks(viewer)) == 1


@pytest.mark.parametrize("name", ["ferromap diffraction view", "ferromap label positions"])
def test_closing_a_companion_keeps_the_main_dock_and_can_reopen_it(viewer, main, name):
    viewer.window.remove_dock_widget(viewer.window.dock_widgets[name])
    assert name not in viewer.window.dock_widgets and MAIN + " (ferromap)" in ferromap_docks(viewer)
    press(main.show_view if "diffraction" in name else main.show_label_panel)
    assert name in viewer.window.dock_widgets and len(ferromap_docks(viewer)) == 3


@pytest.mark.parametrize("name", ["Run polarization inference", "Compute CoM maps"])
def test_closing_a_menu_command_cancels_it(viewer, open_dock, name, qtbot):
    cmd = open_dock(name)
    press(cmd.run_button)
    runner = cmd.runner
    viewer.window.remove_dock_widget(cmd)
    qtbot.waitUntil(lambda: not runner.busy, timeout=120_000)
    qtbot.wait(200)
    assert not [lyr for lyr in viewer.layers if lyr.name.startswith(("CoM", "polarization"))]


def test_everything_open_fits_a_1080p_screen(viewer, main, open_dock, qtbot):
    open_dock("Run polarization inference")
    open_dock("Compute CoM maps")
    window = viewer.window._qt_window
    qtbot.wait(100)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1920 and hint.height() <= 1080, hint
    window.resize(1920, 1080)
    qtbot.wait(100)
    canvas = viewer.window._qt_viewer.canvas.native
    assert canvas.height() >= 600 and canvas.width() >= 800
    assert main.diffraction.canvas.height() >= 400
    view = main.diffraction  # its widgets lie one below the other (the dock scrolls them)
    assert view.canvas.geometry().bottom() < view.key.geometry().top() < \
        view.text.geometry().top() < view.log_scale.geometry().top() < \
        view.tools.detector_kind.geometry().top()
    assert view.text.visibleRegion().boundingRect().height() > 0  # shown without scrolling
    main.ensureWidgetVisible(main.export_button.native)  # the dock scrolls to Export
    assert main.export_button.native.visibleRegion().boundingRect().height() > 0
