"""Run long work off the GUI thread, with progress and cancel; synchronous for tests.

Set ``FERROMAP_NOTHREADS=1`` to run synchronously (as stardist-napari's switch), which the
tests use to drive the widget deterministically.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from qtpy.QtCore import QObject, Signal


class _Relay(QObject):
    progress = Signal(int, int)


def run_task(
    fn: Callable,
    *,
    on_done: Callable,
    on_error: Callable[[Exception], None],
    on_progress: Callable[[int, int], None],
    cancel: threading.Event,
):
    """Run ``fn(progress, cancel)`` in a napari thread_worker (or inline when synchronous).

    Returns the worker (``None`` when synchronous).
    """
    relay = _Relay()
    relay.progress.connect(on_progress)

    def job():
        return fn(relay.progress.emit, cancel)

    if os.environ.get("FERROMAP_NOTHREADS"):
        try:
            result = job()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a notification
            on_error(exc)
        else:
            on_done(result)
        return None
    from napari.qt.threading import create_worker

    worker = create_worker(job)
    worker.returned.connect(on_done)
    worker.errored.connect(on_error)
    worker._ferromap_relay = relay  # keep the relay alive as long as the worker
    worker.start()
    return worker
