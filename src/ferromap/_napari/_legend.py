"""HTML for the class legend and the class-fraction bars shown in the widget (no Qt)."""

from __future__ import annotations

from ferromap.classes import ClassSet
from ferromap.colour import class_colours

_ARROWS = {0: "→", 45: "↗", 90: "↑", 135: "↖", 180: "←", 225: "↙", 270: "↓", 315: "↘"}


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(round(255 * v)):02x}" for v in rgb[:3])


def legend_html(classes: ClassSet) -> str:
    """A colour swatch, the class name and a direction arrow per class."""
    rows = []
    for name, angle, rgb in zip(classes.names, classes.angles_deg, class_colours(classes)):
        arrow = "" if angle is None else _ARROWS.get(int(round(angle)) % 360, f"{angle:g}°")
        rows.append(f"<tr><td style='background:{_hex(rgb)}'>&nbsp;&nbsp;&nbsp;&nbsp;</td>"
                    f"<td>&nbsp;{name}</td><td>&nbsp;{arrow}</td></tr>")
    return "<b>classes</b><table>" + "".join(rows) + "</table>"


def fractions_html(fractions: dict[str, float], title: str, classes: ClassSet) -> str:
    """The map's one-line description (majority class, or its domains) and a text bar per
    class fraction."""
    colours = dict(zip(classes.names, class_colours(classes)))
    rows = []
    for name, frac in fractions.items():
        bar = "█" * int(round(20 * frac))
        rows.append(f"<tr><td>{name}</td><td style='color:{_hex(colours[name])}'>{bar}</td>"
                    f"<td>&nbsp;{100 * frac:.1f}%</td></tr>")
    return (f"<b>{title}</b> (informative positions)"
            f"<table>{''.join(rows)}</table>")
