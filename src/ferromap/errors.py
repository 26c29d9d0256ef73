"""Exceptions that carry a message meant for the user."""

from __future__ import annotations


class FerromapError(Exception):
    """Base class: the message is shown to the user as it is (CLI line, napari notification)."""


class ReadError(FerromapError, ValueError):
    """A dataset cannot be opened or has the wrong shape."""


class UnsupportedFormatError(ReadError):
    """The file type or a variant of it is not supported."""


class Cancelled(FerromapError):
    """A long computation was cancelled by the user."""
