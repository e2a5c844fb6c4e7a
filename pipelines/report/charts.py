"""Charts as inline SVG strings: the report is one HTML file that draws with no script and no network.

Every data mark carries `class="mark"` and a `<title>` with its exact value (shown on hover).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["bar_rows", "columns", "curve", "stacked_rows"]

_WIDTH = 640
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'
COLORS = ("#3b6ea5", "#d9822b", "#5a9e4b", "#b4463c", "#7d5ba6", "#8c8c8c")


def _svg(height: int, body: str, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" width="{_WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(label)}" {_FONT}>{body}</svg>'
    )


def _nothing(label: str) -> str:
    return _svg(30, '<text x="8" y="20" fill="#666">nothing to show</text>', label)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3f}"


def _axis_labels(
    left: int, top_pad: int, plot_w: int, plot_h: int, height: int, y_max: str, x_title: str, y_title: str
) -> list[str]:
    """The y axis's top and 0 labels, and both axis titles (the y title turned upright)."""
    middle = top_pad + plot_h / 2
    return [
        f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end">{y_max}</text>',
        f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end">0</text>',
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 4}" text-anchor="middle" fill="#555">{escape(x_title)}</text>',
        f'<text x="12" y="{middle:.0f}" transform="rotate(-90 12 {middle:.0f})" text-anchor="middle" fill="#555">{escape(y_title)}</text>',
    ]


def _rows(items: Sequence[tuple[str, Sequence[tuple[float, str, str]]]], label: str) -> str:
    """Horizontal bars, one row per name, each of (value, colour, title) segments laid end to end; the
    longest row is full width and its total is printed at its end."""
    if not items:
        return _nothing(label)
    row, left, right = 22, 190, 90
    top = max(sum(value for value, _, _ in segments) for _, segments in items) or 1
    parts = []
    for i, (name, segments) in enumerate(items):
        y, x = 6 + i * row, float(left)
        parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{escape(name[:28])}</text>')
        for value, color, title in segments:
            if not value:
                continue
            width = max(1.0, (_WIDTH - left - right) * value / top)
            parts.append(
                f'<rect class="mark" x="{x:.1f}" y="{y + 2}" width="{width:.1f}" height="{row - 6}" fill="{color}">'
                f"<title>{escape(title)}: {_number(value)}</title></rect>"
            )
            x += width
        total = sum(value for value, _, _ in segments)
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 14}" fill="#333">{_number(total)}</text>')
    return _svg(12 + len(items) * row, "".join(parts), label)


def bar_rows(items: Sequence[tuple[str, float]], label: str, colors: Sequence[str] | None = None) -> str:
    """Horizontal bars, one row per (name, value), longest value full width; values printed at the bar end."""
    return _rows([(name, [(value, colors[i] if colors else COLORS[0], name)]) for i, (name, value) in enumerate(items)], label)


def stacked_rows(items: Sequence[tuple[str, Sequence[float]]], series: Sequence[str], label: str) -> str:
    """Horizontal bars split into one segment per series (coloured in order); totals at the bar end."""
    return _rows(
        [(name, [(v, COLORS[j], f"{name}, {series[j]}") for j, v in enumerate(values)]) for name, values in items], label
    )


def columns(items: Sequence[tuple[str, float]], label: str, x_title: str, y_title: str = "count") -> str:
    """Vertical bars over labelled bins (a histogram), with a y axis from 0 to the largest count."""
    height, left, bottom, top_pad = 240, 56, 44, 12
    if not items:
        return _nothing(label)
    top = max(value for _, value in items) or 1
    plot_w, plot_h = _WIDTH - left - 12, height - bottom - top_pad
    step = plot_w / len(items)
    parts = [
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{_WIDTH - 12}" y2="{top_pad + plot_h}" stroke="#999"/>',
        *_axis_labels(left, top_pad, plot_w, plot_h, height, _number(top), x_title, y_title),
    ]
    every = max(1, len(items) // 10)
    for i, (name, value) in enumerate(items):
        bar_h = plot_h * value / top
        x = left + i * step
        parts.append(
            f'<rect class="mark" x="{x + 1:.1f}" y="{top_pad + plot_h - bar_h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{bar_h:.1f}" fill="{COLORS[0]}"><title>{escape(name)}: {_number(value)}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{top_pad + plot_h + 14}" text-anchor="middle" font-size="10">{escape(name)}</text>'
            )
    return _svg(height, "".join(parts), label)


def curve(
    points: Sequence[tuple[float, float]], label: str, markers: Sequence[tuple[float, str]], x_title: str, y_title: str
) -> str:
    """A line through (x, y) points with x and y in [0, 1], and vertical marker lines at given x."""
    height, left, bottom, top_pad = 260, 56, 44, 12
    plot_w, plot_h = _WIDTH - left - 12, height - bottom - top_pad

    def at(x: float, y: float) -> str:
        return f"{left + x * plot_w:.1f},{top_pad + (1 - y) * plot_h:.1f}"

    parts = [
        f'<rect x="{left}" y="{top_pad}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/>',
        *_axis_labels(left, top_pad, plot_w, plot_h, height, "1", x_title, y_title),
    ]
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        parts.append(f'<text x="{left + tick * plot_w:.1f}" y="{top_pad + plot_h + 14}" text-anchor="middle">{tick:.1f}</text>')
    for i, (x, name) in enumerate(markers):
        color = COLORS[1 + i % (len(COLORS) - 1)]
        parts.append(
            f'<line x1="{left + x * plot_w:.1f}" y1="{top_pad}" x2="{left + x * plot_w:.1f}" y2="{top_pad + plot_h}" '
            f'stroke="{color}" stroke-dasharray="4 3"/>'
            f'<text x="{left + x * plot_w + 4:.1f}" y="{top_pad + 14 + 14 * i}" fill="{color}">{escape(name)}</text>'
        )
    path = " ".join(at(x, y) for x, y in points)
    parts.append(
        f'<polyline class="mark" points="{path}" fill="none" stroke="{COLORS[0]}" stroke-width="2"><title>{escape(label)}</title></polyline>'
    )
    return _svg(height, "".join(parts), label)
