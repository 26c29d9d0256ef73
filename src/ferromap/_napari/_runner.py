"""One background job at a time for a dock: a worker thread, progress, cancel, one message.

The job runs in a napari ``thread_worker`` and never raises out of it: its outcome comes back
as a value, so a failure is shown once (in the dock's status and one notification, in the
words of the GUI), and a cancel is an information, not an error. After :meth:`Runner.close`
the outcome of a job still running is dropped: a closed dock adds no layers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from qtpy.QtCore import QObject, Signal

from ferromap.errors import Cancelled, user_message


class _Relay(QObject):
    progress = Signal(int, int)


def notify_error(message: str) -> None:
    """One error notification (the napari way)."""
    from napari.utils.notifications import show_error

    show_error(f"ferromap: {message}")


def notify_failure(exc: BaseException) -> None:
    """One error notification in the GUI's words."""
    notify_error(user_message(exc, "gui"))


def notify_info(message: str) -> None:
    """One information notification."""
    from napari.utils.notifications import show_info

    show_info(f"ferromap: {message}")


def notify_warning(message: str) -> None:
    """One warning notification."""
    from napari.utils.notifications import show_warning

    show_warning(f"ferromap: {message}")


class Runner:
    """Runs ``job(progress, cancel)`` off the GUI thread and reports to a dock's widgets.

    Parameters
    ----------
    progress_bar, cancel_button, status
        magicgui ``ProgressBar`` (0–1000), ``PushButton`` and ``Label`` of the dock.
    """

    def __init__(self, progress_bar, cancel_button, status) -> None:
        self.progress_bar, self.cancel_button, self.status = progress_bar, cancel_button, status
        self.cancel = threading.Event()
        self.worker = None
        self.closed = False
        self._relay = _Relay()
        self._relay.progress.connect(self._on_progress)
        cancel_button.clicked.connect(self.cancel.set)
        cancel_button.enabled = False

    @property
    def busy(self) -> bool:
        """Whether a job is running."""
        return self.worker is not None

    def start(self, label: str, job: Callable, on_done: Callable) -> bool:
        """Start ``job`` unless one is running; ``on_done(result)`` runs on the GUI thread."""
        from napari.qt.threading import create_worker

        if self.closed:
            return False
        if self.busy:
            self.fail(ValueError("a computation is already running: cancel it first"))
            return False
        self.cancel.clear()
        self.cancel_button.enabled = True
        self.status.value = f"{label}…"
        self.progress_bar.value = 0

        def wrapped():
            try:
                return "ok", job(self._relay.progress.emit, self.cancel)
            except Cancelled:
                return "cancelled", None
            except Exception as exc:  # noqa: BLE001 - every failure becomes one message
                return "error", exc

        self.worker = create_worker(wrapped)
        self.worker.returned.connect(lambda outcome: self._finished(label, outcome, on_done))
        self.worker.start()
        return True

    def _on_progress(self, done: int, total: int) -> None:
        if not self.closed:
            self.progress_bar.value = int(1000 * done / max(total, 1))

    def _finished(self, label: str, outcome, on_done: Callable) -> None:
        self.worker = None
        if self.closed:
            return
        self.cancel_button.enabled = False
        kind, value = outcome
        if kind == "cancelled":
            self.status.value = f"{label}: cancelled"
            notify_info(f"{label} cancelled")
            return
        if kind == "error":
            self.fail(value)
            return
        try:
            on_done(value)
        except Exception as exc:  # noqa: BLE001
            self.fail(exc)
            return
        self.progress_bar.value = 1000
        self.status.value = f"{label}: done"

    def fail(self, exc: BaseException) -> None:
        """Show one error: in the status line and as one notification."""
        self.status.value = f"error: {user_message(exc, 'gui')}"
        notify_failure(exc)

    def close(self) -> None:
        """Cancel the running job and drop its outcome."""
        self.closed = True
        self.cancel.set()
        try:
            self._relay.progress.disconnect()
        except (TypeError, RuntimeError):
            pass
