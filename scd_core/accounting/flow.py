"""The from → to flow diagram of ``report.html``: a two-column Sankey diagram as inline SVG.

Drawn here, in a few dozen lines of SVG, rather than by a plotting library: the page must open offline
and stand alone, and the diagram needs nothing but rectangles, Bézier ribbons and text. The classes at
date 1 stand on the left, each as tall as the area it lost; the classes at date 2 on the right, as tall
as the area they gained; each ribbon is one from × to cell of the matrix, in its "from" class's colour,
its hectares in its tooltip.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

RGB = tuple[int, int, int]
#: Layout in SVG units (pixels at 100 %): the nodes' width, the space between nodes, the margin, the
#: width of the ribbons, and the room a label's character takes at 12 px (DejaVu Sans' widest average).
NODE, GAP, MARGIN, RIBBONS, CHARACTER = 14, 8, 10, 320, 7.2


def _hex(colour: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def _tops(sizes: np.ndarray, scale: float) -> np.ndarray:
    """The top of each node with a size, stacked down from the margin with a gap between them."""
    tops, y = np.zeros(len(sizes)), float(MARGIN)
    for index, size in enumerate(sizes):
        tops[index] = y
        if size > 0:
            y += size * scale + GAP
    return tops


def flow_svg(names: Sequence[str], hectares: np.ndarray, colours: Sequence[RGB]) -> str:
    """The Sankey diagram of the from × to ``hectares`` (rows: date 1) as an ``<svg>`` element; an
    empty string when nothing changed."""
    matrix = np.asarray(hectares, dtype=np.float64)
    total = float(matrix.sum())
    if total <= 0:
        return ""
    losses, gains = matrix.sum(axis=1), matrix.sum(axis=0)
    nodes = max(int((losses > 0).sum()), int((gains > 0).sum()))
    height = max(160, 28 * nodes + 2 * MARGIN)
    scale = (height - 2 * MARGIN - GAP * (nodes - 1)) / total
    left, right = _tops(losses, scale), _tops(gains, scale)
    labels = round(CHARACTER * max(len(f"{name} (0000.00 ha)") for name in names)) + 12
    width = 2 * (labels + NODE) + RIBBONS
    x0, x1 = labels, labels + NODE + RIBBONS
    middle = (x0 + NODE + x1) / 2
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="from → to flow of the changed area">'
        )
    ]
    out, into = left.copy(), right.copy()  # where the next ribbon leaves each node and enters each node
    for i, j in zip(*np.nonzero(matrix), strict=True):
        size, ya, yb = matrix[i, j] * scale, out[i], into[j]
        out[i] += size
        into[j] += size
        parts.append(
            f'<path d="M{x0 + NODE},{ya:.2f} C{middle:.2f},{ya:.2f} {middle:.2f},{yb:.2f} {x1},{yb:.2f} '
            f"L{x1},{yb + size:.2f} C{middle:.2f},{yb + size:.2f} {middle:.2f},{ya + size:.2f} "
            f'{x0 + NODE},{ya + size:.2f} Z" fill="{_hex(colours[i])}" fill-opacity="0.55">'
            f"<title>{escape(names[i])} → {escape(names[j])}: {matrix[i, j]:.4f} ha</title></path>"
        )
    for tops, sizes, x, anchor, text_x in (
        (left, losses, x0, "end", x0 - 6),
        (right, gains, x1, "start", x1 + NODE + 6),
    ):
        for index in map(int, np.flatnonzero(sizes > 0)):
            top, size = tops[index], sizes[index] * scale
            parts.append(
                f'<rect x="{x}" y="{top:.2f}" width="{NODE}" height="{max(size, 1):.2f}" '
                f'fill="{_hex(colours[index])}"/>'
                f'<text x="{text_x}" y="{top + size / 2:.2f}" dominant-baseline="middle" text-anchor="{anchor}" '
                f'font-size="12">{escape(names[index])} ({sizes[index]:.2f} ha)</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
