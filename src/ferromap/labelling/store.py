"""The label store: ``{(row, col): class}`` with its class names, as a small JSON file."""

from __future__ import annotations

import json
from pathlib import Path

from ferromap.errors import FerromapError
from ferromap.io.writers import atomic_path


def write_label_file(path: str | Path, labels: dict[tuple[int, int], int], classes: list[str]) -> Path:
    """Write a label store (JSON: class names and ``[row, col, class]`` entries) atomically."""
    doc = {"classes": list(classes),
           "labels": [[r, c, v] for (r, c), v in sorted(labels.items())]}
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(doc, indent=1))
    return Path(path)


def read_label_file(path: str | Path) -> tuple[dict[tuple[int, int], int], list[str]]:
    """Read a label store written by :func:`write_label_file`.

    Raises
    ------
    FerromapError
        When the file cannot be read or is not a label store.
    """
    try:
        doc = json.loads(Path(path).read_text())
        classes = [str(c) for c in doc["classes"]]
        labels = {(int(r), int(c)): int(v) for r, c, v in doc["labels"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FerromapError(f"{Path(path).name}: not a ferromap label file ({exc})") from None
    bad = [v for v in labels.values() if not 0 <= v < len(classes)]
    if bad:
        raise FerromapError(f"{Path(path).name}: label {bad[0]} has no class "
                            f"(classes: {', '.join(classes)})")
    return labels, classes
