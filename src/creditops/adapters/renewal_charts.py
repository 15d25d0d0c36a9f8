"""Small SVG charts for the renewal brief: they render the same in a browser and in WeasyPrint,
with no JavaScript and no plotting library."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096")
_FONT = 'font-family="Helvetica, Arial, sans-serif"'


def _short(value: float) -> str:
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:,.1f}{suffix}"
    return f"{value:,.0f}"


def bar_chart(labels: Sequence[str], values: Sequence[Decimal], *, width: int = 640,
              bar_height: int = 22) -> str:
    """Horizontal bars, one per label, with the value written at the end of each bar."""
    label_width = min(260, 12 + 7 * max((len(label) for label in labels), default=0))
    plot = width - label_width - 80
    top = max((float(value) for value in values), default=0.0) or 1.0
    height = len(labels) * (bar_height + 8) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">']
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 8 + index * (bar_height + 8)
        length = max(0.0, float(value)) / top * plot
        parts.append(f'<text x="{label_width - 6}" y="{y + bar_height * 0.7:.1f}" '
                     f'text-anchor="end" font-size="12" {_FONT}>{escape(label)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y}" width="{length:.1f}" '
                     f'height="{bar_height}" fill="{PALETTE[index % len(PALETTE)]}"/>')
        parts.append(f'<text x="{label_width + length + 4:.1f}" y="{y + bar_height * 0.7:.1f}" '
                     f'font-size="11" {_FONT}>{_short(float(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_columns(groups: Sequence[str], series: Sequence[tuple[str, Sequence[Decimal]]], *,
                    width: int = 640, height: int = 240) -> str:
    """Vertical columns: one group per x label, one column per series, with a legend."""
    legend_height = 20 * ((len(series) + 2) // 3)
    plot_top, plot_bottom, left = 10, height - 30 - legend_height, 60
    plot_height = plot_bottom - plot_top
    top = max((float(v) for _, values in series for v in values), default=0.0) or 1.0
    group_width = (width - left - 10) / max(len(groups), 1)
    column = group_width * 0.8 / max(len(series), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">',
             f'<line x1="{left}" y1="{plot_bottom}" x2="{width - 10}" y2="{plot_bottom}" '
             f'stroke="#444"/>']
    for tick in range(5):
        value = top * tick / 4
        y = plot_bottom - plot_height * tick / 4
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10" '
                     f'{_FONT}>{_short(value)}</text>')
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" '
                     f'stroke="#ddd"/>')
    for g, group in enumerate(groups):
        x0 = left + g * group_width + group_width * 0.1
        for s, (_, values) in enumerate(series):
            value = max(0.0, float(values[g]))
            bar = plot_height * value / top
            parts.append(f'<rect x="{x0 + s * column:.1f}" y="{plot_bottom - bar:.1f}" '
                         f'width="{column * 0.92:.1f}" height="{bar:.1f}" '
                         f'fill="{PALETTE[s % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x0 + group_width * 0.4:.1f}" y="{plot_bottom + 14}" '
                     f'text-anchor="middle" font-size="11" {_FONT}>{escape(group)}</text>')
    for s, (name, _) in enumerate(series):
        x = left + (s % 3) * 190
        y = plot_bottom + 30 + (s // 3) * 20
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" '
                     f'fill="{PALETTE[s % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}" font-size="11" {_FONT}>'
                     f'{escape(name[:28])}</text>')
    parts.append("</svg>")
    return "".join(parts)
