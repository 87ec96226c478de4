"""View-models of the dashboard charts: engine figures in, plain arrays out.

Charts never compute: :func:`margin_blocks` turns an :class:`AccountRisk` into the
rectangles of the per-position margin chart (float64, for drawing only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from crossmargin.margin import AccountRisk
from desktop.formatting import coin_label

BAR_WIDTH = 0.62
MM_WIDTH = 0.28


@dataclass(frozen=True, slots=True)
class MarginBlocks:
    """Rectangles of the per-position margin chart (settlement currency).

    Column 0 is the pooled cross wallet: each cross position's initial margin is a
    segment stacked from 0 (its share of the pool), with its maintenance margin as
    a narrower inner bar at the segment's base; whatever margin balance is not
    used as initial margin is the ``free`` segment on top. Every isolated position
    has its own column: its isolated margin, with its maintenance margin inside.

    ``kind`` per rectangle: ``cross``, ``cross_mm``, ``isolated``, ``isolated_mm``
    or ``free``. ``labels`` are (x, y, text) for segments tall enough to name.
    """

    x: np.ndarray
    y0: np.ndarray
    height: np.ndarray
    width: np.ndarray
    kind: tuple[str, ...]
    position_ids: tuple[str, ...]
    ticks: tuple[tuple[float, str], ...]
    labels: tuple[tuple[float, float, str], ...] = field(default_factory=tuple)
    top: float = 0.0

    @classmethod
    def empty(cls) -> MarginBlocks:
        z = np.empty(0)
        return cls(z, z, z, z, (), (), ())


def margin_blocks(risk: AccountRisk | None) -> MarginBlocks:
    """The per-position margin chart's rectangles for ``risk`` (see :class:`MarginBlocks`)."""
    if risk is None or not risk.positions:
        return MarginBlocks.empty()
    xs: list[float] = []
    y0: list[float] = []
    hs: list[float] = []
    ws: list[float] = []
    kinds: list[str] = []
    ids: list[str] = []
    labels: list[tuple[float, float, str]] = []
    ticks: list[tuple[float, str]] = []

    def rect(x: float, bottom: float, height: float, width: float, kind: str, pid: str) -> None:
        xs.append(x)
        y0.append(bottom)
        hs.append(height)
        ws.append(width)
        kinds.append(kind)
        ids.append(pid)

    cross = [p for p in risk.positions if str(p.margin_mode) == "cross"]
    isolated = [p for p in risk.positions if str(p.margin_mode) == "isolated"]
    heights: list[float] = []
    column = 0
    if cross:
        bottom = 0.0
        for p in cross:
            im = float(p.initial_margin)
            mm = float(p.maintenance_margin)
            rect(0.0, bottom, im, BAR_WIDTH, "cross", str(p.id))
            rect(0.0, bottom, min(mm, im) if im > 0 else mm, MM_WIDTH, "cross_mm", str(p.id))
            labels.append((0.0, bottom + im / 2.0, coin_label(p.symbol)))
            bottom += im
        free = float(risk.margin_balance) - bottom
        if free > 0:
            rect(0.0, bottom, free, BAR_WIDTH, "free", "")
            labels.append((0.0, bottom + free / 2.0, "free"))
            bottom += free
        heights.append(bottom)
        ticks.append((0.0, "Cross pool"))
        column = 1
    for p in isolated:
        x = float(column)
        own = float(p.margin)
        mm = float(p.maintenance_margin)
        rect(x, 0.0, own, BAR_WIDTH, "isolated", str(p.id))
        rect(x, 0.0, min(mm, own) if own > 0 else mm, MM_WIDTH, "isolated_mm", str(p.id))
        heights.append(max(own, mm))
        ticks.append((x, coin_label(p.symbol)))
        column += 1
    top = max(heights) if heights else 0.0
    # only name segments at least 7 % of the tallest column (otherwise they overlap)
    labels = [lab for lab in labels if _segment_height(lab, xs, y0, hs) >= 0.07 * top]
    return MarginBlocks(
        x=np.asarray(xs),
        y0=np.asarray(y0),
        height=np.asarray(hs),
        width=np.asarray(ws),
        kind=tuple(kinds),
        position_ids=tuple(ids),
        ticks=tuple(ticks),
        labels=tuple(labels),
        top=top,
    )


def _segment_height(
    label: tuple[float, float, str], xs: list[float], y0: list[float], hs: list[float]
) -> float:
    x, mid, _ = label
    for xi, b, h in zip(xs, y0, hs, strict=True):
        if xi == x and abs(b + h / 2.0 - mid) < 1e-9 * max(1.0, abs(mid)):
            return h
    return 0.0
