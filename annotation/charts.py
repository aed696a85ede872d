"""Small server-rendered SVG charts for the dashboard: no JavaScript, no external files.

Each function returns safe SVG markup with a <title> and an aria-label, followed by the same
figures as a table (in a <details> under the chart); the chart's aria-describedby points at that
table, so a screen reader reaches the numbers from the chart. Text is drawn in `currentColor`,
so it follows the page's text colour (and its contrast) in any theme.
"""

import math
from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _

PALETTE = ("#2f5bd3", "#e07b39", "#3a9d5d", "#b3261e", "#7b5bd3", "#8a8f98")
TEXT = 'font-family="system-ui, sans-serif" font-size="12" fill="currentColor"'


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _label_width(labels: Sequence[str]) -> int:
    """Room for the longest label (about 6.6 px a character at 12 px), within limits."""
    return int(min(max([len(label) for label in labels] + [4]) * 6.6 + 14, 360))


def _table(table_id: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th scope=\"col\">{escape(h)}</th>" for h in header)
    body = "".join("<tr><th scope=\"row\">" + escape(row[0]) + "</th>"
                   + "".join(f"<td>{escape(c)}</td>" for c in row[1:]) + "</tr>" for row in rows)
    return (f'<details class="chart-table"><summary>{escape(_("The numbers"))}</summary>'
            f'<table class="table compact" id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            "</details>")


def _svg(width: int, height: int, title: str, body: list[str], header: Sequence[str],
         rows: Sequence[Sequence[str]]) -> SafeString:
    table_id = "chart-" + (slugify(title) or "figures")
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" aria-describedby="{table_id}">'
        f'<title>{escape(title)}</title>' + "".join(body) + "</svg>" + _table(table_id, header, rows))


def bar_chart(items: Sequence[tuple[str, float | None]], *, title: str, low: float | None = None,
              high: float | None = None, fmt: Callable[[float | None], str] = _number,
              reference: float | None = None, reference_label: str = "", width: int = 640) -> SafeString:
    """Horizontal bars, one per (label, value). A value of None or nan is shown as "n/a".

    The axis spans [low, high] (default: from min(0, values) to max(values)); bars start at 0,
    so negative values (a negative alpha) grow to the left. `reference` draws a dashed line.
    """
    values = [v for _, v in items if v is not None and not math.isnan(v)]
    low = min([0.0, *values]) if low is None else low
    high = max([0.0, *values, reference or 0.0]) if high is None else high
    high = high if high > low else low + 1
    label_w, value_w, row_h, top = _label_width([label for label, _ in items]), 70, 22, 6
    plot_w = width - label_w - value_w
    height = top * 2 + row_h * max(len(items), 1) + (16 if reference is not None else 0)

    def x(value: float) -> float:
        return label_w + plot_w * (min(max(value, low), high) - low) / (high - low)

    body = []
    zero = x(0.0)
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        body.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" {TEXT}>{escape(label)}</text>')
        if value is not None and not math.isnan(value):
            left, right = sorted((zero, x(value)))
            body.append(f'<rect x="{left:.1f}" y="{y + 3}" width="{max(right - left, 1):.1f}" height="{row_h - 6}" '
                        f'fill="{PALETTE[0]}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>')
        body.append(f'<text x="{label_w + plot_w + 6}" y="{y + 15}" {TEXT}>{escape(fmt(value))}</text>')
    body.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top}" y2="{top + row_h * len(items)}" stroke="#8a8f98"/>')
    if reference is not None:
        rx = x(reference)
        bottom = top + row_h * len(items)
        body.append(f'<line x1="{rx:.1f}" x2="{rx:.1f}" y1="{top}" y2="{bottom}" stroke="{PALETTE[3]}" '
                    f'stroke-dasharray="4 3"/>')
        body.append(f'<text x="{rx:.1f}" y="{bottom + 13}" text-anchor="middle" {TEXT}>'
                    f'{escape(reference_label or fmt(reference))}</text>')
    return _svg(width, height, title, body, [_("Item"), title], [(label, fmt(value)) for label, value in items])


def stacked_bar_chart(items: Sequence[tuple[str, Sequence[float]]], series: Sequence[str], *, title: str,
                      width: int = 640) -> SafeString:
    """Horizontal stacked bars: each item's parts (one per series) side by side, scaled to the
    largest total. A legend names the series."""
    label_w, value_w, row_h, top = _label_width([label for label, _ in items]), 70, 22, 6
    plot_w = width - label_w - value_w
    largest = max([sum(parts) for _, parts in items] + [1])
    body = []
    for i, (label, parts) in enumerate(items):
        y = top + i * row_h
        body.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" {TEXT}>{escape(label)}</text>')
        left = float(label_w)
        for j, part in enumerate(parts):
            w = plot_w * part / largest
            if w > 0:
                body.append(f'<rect x="{left:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                            f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(label)}, {escape(series[j])}: '
                            f'{escape(_number(part))}</title></rect>')
            left += w
        body.append(f'<text x="{label_w + plot_w + 6}" y="{y + 15}" {TEXT}>{escape(_number(sum(parts)))}</text>')
    legend_y = top + row_h * len(items) + 14
    lx = float(label_w)
    for j, name in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        body.append(f'<rect x="{lx:.1f}" y="{legend_y - 10}" width="10" height="10" fill="{colour}"/>')
        body.append(f'<text x="{lx + 14:.1f}" y="{legend_y}" {TEXT}>{escape(name)}</text>')
        lx += 24 + 7 * len(name)
    rows = [(label, *(_number(part) for part in parts), _number(sum(parts))) for label, parts in items]
    return _svg(width, legend_y + 8, title, body, [_("Item"), *series, _("total")], rows)


def column_chart(items: Sequence[tuple[str, float]], *, title: str, width: int = 640, height: int = 180,
                 label_every: int = 5) -> SafeString:
    """Vertical columns over a sequence (e.g. days), with every `label_every`-th label and the maximum."""
    left, bottom, top = 40, 30, 12
    plot_w, plot_h = width - left - 10, height - bottom - top
    largest = max([v for _, v in items] + [1])
    step = plot_w / max(len(items), 1)
    body = [f'<line x1="{left}" x2="{width - 10}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#8a8f98"/>',
            f'<text x="{left - 6}" y="{top + 8}" text-anchor="end" {TEXT}>{escape(_number(largest))}</text>',
            f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" {TEXT}>0</text>']
    for i, (label, value) in enumerate(items):
        h = plot_h * value / largest
        x = left + i * step
        body.append(f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(step - 2, 1):.1f}" '
                    f'height="{h:.1f}" fill="{PALETTE[0]}"><title>{escape(label)}: {escape(_number(value))}'
                    f'</title></rect>')
        if i % label_every == 0 or i == len(items) - 1:
            body.append(f'<text x="{x + step / 2:.1f}" y="{height - 10}" text-anchor="middle" {TEXT}>'
                        f'{escape(label)}</text>')
    return _svg(width, height, title, body, [_("Item"), title], [(label, _number(value)) for label, value in items])
