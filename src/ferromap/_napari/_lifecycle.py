"""Docks that clean up after themselves: scrolling, and a callback when napari removes them.

napari's ``remove_dock_widget`` (the dock's × button) takes the inner widget out of its dock
(``setParent(None)``) and deletes only the dock, so the widget's ``destroyed`` signal may never
fire while Python holds it; and closing the viewer removes no dock at all. :class:`ScrollDock`
watches for that parent change and for the main window's close event instead.
"""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import QEvent, QObject, QTimer
from qtpy.QtWidgets import QFrame, QMainWindow, QScrollArea


class _RemovalWatcher(QObject):
    def __init__(self, widget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self.callback, self.docked = callback, False

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ParentChange:
            if obj.parent() is not None:
                self.docked = True
                QTimer.singleShot(0, lambda: self._watch_window(obj))
            elif self.docked:
                self.docked = False
                self.callback()
        elif event.type() == QEvent.Type.Close and isinstance(obj, QMainWindow):
            self.callback()  # the viewer closes: no dock is removed, but work must stop
        return False

    def _watch_window(self, widget) -> None:
        try:
            window = widget.window()
        except RuntimeError:  # already deleted
            return
        if isinstance(window, QMainWindow) and window is not widget:
            window.installEventFilter(self)


class ScrollDock(QScrollArea):
    """A dock's content that scrolls, and calls :meth:`close_dock` when removed.

    Parameters
    ----------
    inner : QWidget
        The content (e.g. a magicgui Container's ``native``).
    """

    def __init__(self, inner) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidget(inner)
        self._watcher = _RemovalWatcher(self, self.close_dock)
        self.installEventFilter(self._watcher)

    def close_dock(self) -> None:
        """Cancel work and remove callbacks (override)."""


def disconnect_all(pairs) -> None:
    """Disconnect every ``(signal, slot)`` pair, ignoring those already gone."""
    for signal, slot in pairs:
        try:
            signal.disconnect(slot)
        except (TypeError, ValueError, RuntimeError):
            pass


def is_unset(path) -> bool:
    """Whether a FileEdit value means "nothing chosen" (magicgui gives ``.`` for empty)."""
    return path is None or str(path).strip() in ("", ".")
