from __future__ import annotations

import numpy as np
import pytest

from ferromap.figure_worker import FigureWorker
from ferromap.plotting import save_direction_map


@pytest.fixture
def maps():
    rng = np.random.default_rng(3)
    return rng.uniform(0, 360, (24, 32)), rng.uniform(0, 2, (24, 32))


def _pixels(path):
    from PIL import Image

    return np.asarray(Image.open(path))


def test_the_child_draws_the_same_picture_as_this_process(tmp_path, maps, monkeypatch):
    import ferromap.plotting

    options = {"scan_step_nm": 0.2, "magnitude_units": "mrad", "title": "CoM shift"}
    save_direction_map(tmp_path / "here.png", *maps, **options)
    with FigureWorker() as figures:

        def not_here(*args, **kwargs):
            raise AssertionError("drawn in the parent, not by the child")

        monkeypatch.setattr(ferromap.plotting, "save_direction_map", not_here)  # after the fork
        figures.send(tmp_path / "child.png", *maps, **options)
        assert figures.result() == tmp_path / "child.png"
    np.testing.assert_array_equal(_pixels(tmp_path / "child.png"), _pixels(tmp_path / "here.png"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["child.png", "here.png"]  # no request left


def test_a_dead_child_means_the_picture_is_drawn_here(tmp_path, maps):
    with FigureWorker() as figures:
        figures._proc.kill()
        figures._proc.join()
        figures.send(tmp_path / "com.png", *maps)
        assert figures.result() == tmp_path / "com.png"
    save_direction_map(tmp_path / "here.png", *maps)
    np.testing.assert_array_equal(_pixels(tmp_path / "com.png"), _pixels(tmp_path / "here.png"))


def test_a_failing_draw_reports_its_error_from_this_process(tmp_path, maps):
    with FigureWorker() as figures:
        figures.send(tmp_path / "com.png", *maps, scan_step_nm="one")
        with pytest.raises(TypeError):
            figures.result()


def test_one_picture_per_worker(tmp_path, maps):
    with FigureWorker() as figures:
        figures.send(tmp_path / "a.png", *maps)
        with pytest.raises(RuntimeError, match="one picture"):
            figures.send(tmp_path / "b.png", *maps)
        figures.result()
    with pytest.raises(ValueError, match="timeout"):
        FigureWorker(timeout_s=0)


def test_it_forks_only_a_single_threaded_process():
    import threading

    from ferromap.figure_worker import _start_method

    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert _start_method() == "spawn"
    finally:
        release.set()
        thread.join()


def test_a_spawned_child_draws_too(tmp_path, maps, monkeypatch):
    import ferromap.figure_worker

    monkeypatch.setattr(ferromap.figure_worker, "_start_method", lambda: "spawn")
    with FigureWorker() as figures:
        figures.send(tmp_path / "com.png", *maps)
        assert figures._finished(tmp_path / "com.png")


def test_it_never_forks_a_process_running_qt(monkeypatch):
    import sys
    import types

    from ferromap.figure_worker import _start_method

    monkeypatch.setitem(sys.modules, "PyQt6", types.ModuleType("PyQt6"))
    assert _start_method() == "spawn"
