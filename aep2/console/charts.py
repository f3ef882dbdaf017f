"""Charts as inline SVG, drawn on the server: no chart library, nothing fetched by the browser.

The pages need two shapes: bars per window against a reference line (gas per payment against one
x402 ``exact`` payment), and horizontal bars of counts (mandates by state). Both are a few dozen
SVG elements, readable without JavaScript and crisp in a screenshot.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 640, 220, 36


def _fmt(value: float) -> str:
    return f"{value:,.0f}"


def bars(
    points: Sequence[tuple[str, float]], *, reference: tuple[str, float] | None = None, title: str
) -> Markup:
    """Vertical bars labelled underneath, with an optional dashed reference line labelled at its end."""
    if not points:
        return Markup('<p class="empty">nothing to chart yet</p>')
    top = max([v for _, v in points] + ([reference[1]] if reference else [])) * 1.1 or 1.0
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    slot = plot_w / len(points)
    base = PAD + plot_h
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<line class="axis" x1="{PAD}" y1="{base}" x2="{WIDTH - PAD}" y2="{base}"/>']  # fmt: skip
    for i, (label, value) in enumerate(points):
        h = plot_h * value / top
        x = PAD + i * slot + slot * 0.15
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{base - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}">'
            f"<title>{escape(label)}: {_fmt(value)}</title></rect>"
        )
        parts.append(
            f'<text class="label" x="{x + slot * 0.35:.1f}" y="{HEIGHT - PAD / 2}">{escape(label)}</text>'
        )
        parts.append(
            f'<text class="value" x="{x + slot * 0.35:.1f}" y="{base - h - 4:.1f}">{_fmt(value)}</text>'
        )
    if reference is not None:
        y = PAD + plot_h - plot_h * reference[1] / top
        parts.append(f'<line class="reference" x1="{PAD}" y1="{y:.1f}" x2="{WIDTH - PAD}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="reference-label" x="{WIDTH - PAD}" y="{y - 4:.1f}">'
            f"{escape(reference[0])}: {_fmt(reference[1])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(points: Sequence[tuple[str, float]], *, title: str) -> Markup:
    """Horizontal bars, one row per label, each bar classed by its label (``bar-settled``...)."""
    if not points:
        return Markup('<p class="empty">nothing to chart yet</p>')
    row, label_w = 26, 110
    height = row * len(points) + 8
    top = max(v for _, v in points) or 1.0
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]  # fmt: skip
    for i, (label, value) in enumerate(points):
        y, w = 4 + i * row, (WIDTH - label_w - 80) * value / top
        parts.append(f'<text class="row-label" x="{label_w - 8}" y="{y + 16}">{escape(label)}</text>')
        parts.append(
            f'<rect class="bar bar-{escape(label)}" x="{label_w}" y="{y}" '
            f'width="{w:.1f}" height="{row - 8}"/>'
        )
        parts.append(f'<text class="row-value" x="{label_w + w + 6:.1f}" y="{y + 16}">{_fmt(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
