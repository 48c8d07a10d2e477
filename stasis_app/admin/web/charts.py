"""Charts of the reports page, drawn on the server as inline SVG: no script,
nothing fetched from elsewhere, readable without colour (each bar carries
its number, and a ``<title>`` a browser shows on hover). Every label goes
through :func:`~stasis_app.admin.web.html.esc`.

    columns(series)   vertical bars over time (calls per day or per hour)
    bars(items)       horizontal bars, one labelled row per item
    funnel(steps)     a path's steps, each bar as wide as the calls that
                      reached it, centred, with the callers who hung up there
"""

from stasis_app.admin.web.html import esc

WIDTH = 900
BAR = "#1f4e79"
EMPTY = '<p class="note">Brak połączeń w tym okresie.</p>'


def columns(series: list[tuple[str, int]], caption: str, height: int = 220) -> str:
    """Vertical bars, one per (label, count), left to right; every ``n``-th
    label under the axis so that labels never overlap."""
    if not series:
        return EMPTY
    top = max(n for _, n in series) or 1
    left, bottom, head = 40, 40, 18
    plot_h = height - bottom - head
    step = (WIDTH - left - 10) / len(series)
    every = max(1, round(len(series) / 16))  # at most about 16 labels
    parts = [
        f'<svg class="chart" role="img" aria-label="{esc(caption)}" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg" '
        'font-family="DejaVu Sans, sans-serif" font-size="11">',
        f'<line x1="{left}" y1="{head + plot_h}" x2="{WIDTH - 5}" y2="{head + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{left - 4}" y="{head + 4}" text-anchor="end">{top}</text>',
        f'<text x="{left - 4}" y="{head + plot_h}" text-anchor="end">0</text>',
    ]
    for i, (label, n) in enumerate(series):
        x = left + i * step
        h = plot_h * n / top
        y = head + plot_h - h
        parts.append(
            f'<g class="column"><title>{esc(label)}: {n}</title>'
            f'<rect x="{x + step * 0.1:.1f}" y="{y:.1f}" width="{step * 0.8:.1f}" '
            f'height="{h:.1f}" fill="{BAR}"/>'
        )
        if n and len(series) <= 40:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{n}</text>'
            )
        parts.append("</g>")
        if i % every == 0:
            short = _short(label)
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{head + plot_h + 16}" '
                f'text-anchor="middle">{esc(short)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _short(label: str) -> str:
    """An axis label: an hour ``2026-12-06 14:00`` as ``14:00``, a day
    ``2026-12-06`` as ``06.12``."""
    if len(label) > 10:
        return label[-5:]
    if len(label) == 10 and label[4] == "-":
        return f"{label[8:10]}.{label[5:7]}"
    return label


def bars(items: list[tuple[str, int]], caption: str, whole: int | None = None) -> str:
    """Horizontal bars, one row per (label, count) in the order given; with
    ``whole``, each row also says its share of it."""
    if not items:
        return EMPTY
    top = max(n for _, n in items) or 1
    row, label_w, number_w = 22, 330, 110
    bar_w = WIDTH - label_w - number_w
    height = row * len(items) + 4
    parts = [
        f'<svg class="chart" role="img" aria-label="{esc(caption)}" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg" '
        'font-family="DejaVu Sans, sans-serif" font-size="12">'
    ]
    for i, (label, n) in enumerate(items):
        y = i * row + 2
        share = f" ({100 * n / whole:.0f}%)" if whole else ""
        parts.append(
            f'<g class="bar"><title>{esc(label)}: {n}{share}</title>'
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{esc(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * n / top:.1f}" height="{row - 6}" '
            f'fill="{BAR}"/>'
            f'<text x="{label_w + bar_w * n / top + 6:.1f}" y="{y + 15}">{n}{share}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


HUNG_UP = "#c62828"  # as the drop-off diagram's marked states


def funnel(steps: list[tuple[str, int, int]], caption: str) -> str:
    """A funnel: one row per step (label, calls that reached it, callers who
    hung up there), each bar centred and as wide as its calls against the
    first step's (or the widest), with its number, its share of the first
    step and, in red, the hang-ups there."""
    if not steps:
        return EMPTY
    top = max(n for _, n, _ in steps) or 1
    first = steps[0][1]
    row, label_w, right_w = 26, 300, 210
    bar_w = WIDTH - label_w - right_w
    middle = label_w + bar_w / 2
    height = row * len(steps) + 4
    parts = [
        f'<svg class="chart funnel" role="img" aria-label="{esc(caption)}" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg" '
        'font-family="DejaVu Sans, sans-serif" font-size="12">'
    ]
    for i, (label, n, hung_up) in enumerate(steps):
        y = i * row + 2
        width = max(bar_w * n / top, 1.0)
        share = f" ({100 * n / first:.0f}%)" if first else ""
        gone = f"rozłączyło się: {hung_up}" if hung_up else ""
        parts.append(
            f'<g class="step"><title>{esc(label)}: {n}{share}'
            f"{'; ' + gone if gone else ''}</title>"
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{esc(label)}</text>'
            f'<rect x="{middle - width / 2:.1f}" y="{y + 3}" width="{width:.1f}" '
            f'height="{row - 6}" fill="{BAR}"/>'
            f'<text x="{label_w + bar_w + 8}" y="{y + 17}">{n}{share}</text>'
        )
        if gone:
            parts.append(
                f'<text class="hung-up" x="{label_w + bar_w + 90}" y="{y + 17}" '
                f'fill="{HUNG_UP}">{esc(gone)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
