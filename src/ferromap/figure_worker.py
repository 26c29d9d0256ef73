"""Draw a map picture in a child process started early, so that importing matplotlib (about a
second) overlaps the streaming pass instead of following it.

``ferromap com`` starts a :class:`FigureWorker` before it opens the file. The child imports
matplotlib and waits; once the maps exist, :meth:`FigureWorker.send` hands them over through
a temporary ``.npz`` (no pickle) and the child writes the PNG atomically while this process
writes the other files. If the child cannot draw (it died, or ferromap cannot start in it),
the picture is drawn in this process instead: the same function makes the same file.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np


class FigureWorker:
    """A child process that draws one colour-wheel direction map
    (:func:`ferromap.plotting.save_direction_map`).

    Use it as a context manager; the child is stopped on exit whatever happened.

    Parameters
    ----------
    timeout_s : float
        How long :meth:`result` waits for the child before drawing here instead.
    """

    def __init__(self, timeout_s: float = 120.0) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
        self.timeout_s = float(timeout_s)
        self._request: Path | None = None
        self._job: tuple | None = None
        self._sent = False
        context = multiprocessing.get_context(_start_method())
        self._conn, self._child_conn = context.Pipe()
        try:
            self._proc = context.Process(target=_serve, args=(self._child_conn,), daemon=True)
            self._proc.start()
        except OSError:
            self._proc = None

    def __enter__(self) -> FigureWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, path: str | Path, angle_deg: np.ndarray, magnitude: np.ndarray,
             **options) -> None:
        """Hand the direction map to the child, which draws it while this process goes on;
        :meth:`result` waits for it.

        Parameters
        ----------
        path : str or Path
            PNG destination.
        angle_deg, magnitude : numpy.ndarray
            ``(rows, cols)`` maps.
        **options
            Keyword arguments of :func:`~ferromap.plotting.save_direction_map`
            (JSON-serialisable: numbers and strings).
        """
        if self._job is not None:
            raise RuntimeError("a FigureWorker draws one picture; this one already has it")
        json.dumps(options)  # fail here, not in the child, on options it cannot receive
        self._job = (Path(path), np.asarray(angle_deg), np.asarray(magnitude), options)
        self._sent = self._send(*self._job)

    def result(self) -> Path:
        """The drawn picture's path: the child's, or drawn here if the child could not.

        Returns
        -------
        Path
        """
        if self._job is None:
            raise RuntimeError("nothing was sent to draw")
        path, angle_deg, magnitude, options = self._job
        if self._sent and self._finished(path):
            return path
        from ferromap.plotting import save_direction_map

        return save_direction_map(path, angle_deg, magnitude, **options)

    def _send(self, path: Path, angle_deg, magnitude, options) -> bool:
        if self._proc is None or not self._proc.is_alive():
            return False
        fd, name = tempfile.mkstemp(suffix=".npz", prefix=".ferromap-figure-", dir=path.parent)
        os.close(fd)
        self._request = Path(name)
        np.savez(self._request, angle_deg=np.asarray(angle_deg), magnitude=np.asarray(magnitude),
                 path=np.array(str(path)), options=np.array(json.dumps(options)))
        try:
            self._conn.send(str(self._request))
        except OSError:
            return False
        return True

    def _finished(self, path: Path) -> bool:
        """Whether the child says it drew the picture (no need to wait for it to exit)."""
        try:
            done = self._conn.poll(self.timeout_s) and self._conn.recv()
        except (EOFError, OSError):  # the child died
            return False
        return done is True and path.exists()

    def close(self) -> None:
        """Stop the child if it is still running and remove the request file."""
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._conn.close()
        self._child_conn.close()
        if self._request is not None:
            self._request.unlink(missing_ok=True)


def _start_method() -> str:
    """``"fork"`` where it is safe, so the child starts with numpy already loaded: on Linux,
    in a process running no other Python thread and no Qt (their threads could hold a lock
    that would stay locked in the child; BLAS thread pools re-initialise after a fork).
    ``"spawn"`` otherwise."""
    qt = any(name in sys.modules for name in ("PyQt5", "PyQt6", "PySide2", "PySide6"))
    single = threading.active_count() == 1 and not qt
    return "fork" if sys.platform == "linux" and single else "spawn"


def _serve(conn) -> None:
    """The child: import matplotlib now, then draw the one request it is sent and say whether
    it could (the parent draws it itself otherwise, and reports any error)."""
    import matplotlib.figure  # noqa: F401 - the point of the child: load it while waiting

    from ferromap.plotting import save_direction_map

    if _usable_cores() > 2:  # a head start on spare cores; on two it slows the stream
        _warm_up()
    try:
        name = conn.recv()
    except EOFError:
        return  # the parent finished without a picture for us
    try:
        with np.load(name, allow_pickle=False) as request:
            options = json.loads(str(request["options"]))
            save_direction_map(str(request["path"]), request["angle_deg"],
                               request["magnitude"], **options)
    except Exception:  # noqa: BLE001 - the parent draws it again and reports the error
        conn.send(False)
    else:
        conn.send(True)


def _usable_cores() -> int:
    """Cores this process may run on (its affinity, where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _warm_up() -> None:
    """Draw a small picture of the same layout to memory while the parent streams: the first
    draw of a process loads fonts and fills text and colour caches, which the real picture
    then finds ready."""
    import io

    from ferromap.plotting import direction_map_figure

    try:
        angle = np.linspace(0, 360, 64, dtype=np.float32).reshape(8, 8)
        fig = direction_map_figure(angle, np.ones((8, 8), np.float32), scan_step_nm=0.1)
        fig.savefig(io.BytesIO(), format="png")
    except Exception:  # noqa: BLE001 - only a head start; the real draw reports errors
        pass
