"""Exceptions that carry a message meant for the user.

A message says what is wrong in words that hold for every front end. What to do about it
differs: the CLI names a flag, the napari panel a control, the Python API an argument.
``cli_hint``, ``gui_hint`` and ``py_hint`` carry those; ``str(exc)`` is the message with the
Python hint, and :func:`user_message` puts the message and the right hint together.
"""

from __future__ import annotations


class FerromapError(Exception):
    """Base class: the message is shown to the user (CLI line, napari notification).

    Parameters
    ----------
    message : str
        What is wrong.
    cli_hint, gui_hint, py_hint : str, optional
        What to do about it on the command line, in the napari panel, in Python.
    """

    def __init__(self, message: str, *, cli_hint: str | None = None,
                 gui_hint: str | None = None, py_hint: str | None = None) -> None:
        super().__init__(f"{message}: {py_hint}" if py_hint else message)
        self.message = message
        self.cli_hint, self.gui_hint, self.py_hint = cli_hint, gui_hint, py_hint


class ReadError(FerromapError, ValueError):
    """A dataset cannot be opened or has the wrong shape."""


class UnsupportedFormatError(ReadError):
    """The file type or a variant of it is not supported."""


class Cancelled(FerromapError):
    """A long computation was cancelled by the user."""


def user_message(exc: BaseException, front_end: str) -> str:
    """One line for the user: the message and the hint of ``front_end`` (``"cli"`` or
    ``"gui"``), if the exception has one.

    Examples
    --------
    >>> err = FerromapError("no GPU", cli_hint="use --device cpu", gui_hint="choose cpu")
    >>> user_message(err, "gui")
    'no GPU: choose cpu'
    """
    if front_end not in ("cli", "gui"):
        raise ValueError(f"front_end must be 'cli' or 'gui', got {front_end!r}")
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    hint = getattr(exc, f"{front_end}_hint", None)
    return f"{text}: {hint}" if hint else text
