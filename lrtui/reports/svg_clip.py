"""Clipping lines and polygons to a chart's frame: the geometry of :mod:`lrtui.reports.svg_charts`, kept apart.

A value far outside the axes (±1e308, a diverged loss) must still draw as a line leaving the frame, never as
a coordinate a browser cannot place: every segment and polygon is cut to the frame's rectangle here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Point = tuple[float, float]


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def contains(self, p: Point, tol: float = 1e-6) -> bool:
        return self.x - tol <= p[0] <= self.right + tol and self.y - tol <= p[1] <= self.bottom + tol


def clip_segment(p: Point, q: Point, r: Rect) -> tuple[Point, Point] | None:
    """Liang–Barsky: the part of segment pq inside the rectangle, or None."""
    (x0, y0), (x1, y1) = p, q
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for edge_p, edge_q in ((-dx, x0 - r.x), (dx, r.right - x0), (-dy, y0 - r.y), (dy, r.bottom - y0)):
        if edge_p == 0:
            if edge_q < 0:
                return None
            continue
        t = edge_q / edge_p
        if edge_p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    a = (x0 + t0 * dx, y0 + t0 * dy)
    b = (x0 + t1 * dx, y0 + t1 * dy)
    clamp = lambda pt: (min(max(pt[0], r.x), r.right), min(max(pt[1], r.y), r.bottom))  # noqa: E731
    return clamp(a), clamp(b)


def clipped_paths(points: Sequence[Point | None], r: Rect) -> tuple[list[list[Point]], list[Point]]:
    """Polylines of the visible parts (a ``None`` breaks the line) and the lone points inside the frame."""
    paths: list[list[Point]] = []
    singles: list[Point] = []
    runs: list[list[Point]] = []
    current: list[Point] = []
    for pt in points:
        if pt is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(pt)
    if current:
        runs.append(current)
    for run in runs:
        if len(run) == 1:
            if r.contains(run[0]):
                singles.append(run[0])
            continue
        path: list[Point] = []
        for p, q in zip(run, run[1:]):
            seg = clip_segment(p, q, r)
            if seg is None:
                if path:
                    paths.append(path)
                path = []
                continue
            a, b = seg
            if path and math.dist(path[-1], a) < 1e-6:
                path.append(b)
            else:
                if path:
                    paths.append(path)
                path = [a, b]
        if path:
            paths.append(path)
    return paths, singles


def clip_polygon(points: Sequence[Point], r: Rect) -> list[Point]:
    """Sutherland–Hodgman: the part of a polygon inside the rectangle (a convex window), as a polygon."""

    def inside(p: Point, edge: int) -> bool:
        return (p[0] >= r.x, p[0] <= r.right, p[1] >= r.y, p[1] <= r.bottom)[edge]

    def cross(p: Point, q: Point, edge: int) -> Point:
        if edge < 2:
            x = r.x if edge == 0 else r.right
            t = (x - p[0]) / (q[0] - p[0])
            return x, p[1] + t * (q[1] - p[1])
        y = r.y if edge == 2 else r.bottom
        t = (y - p[1]) / (q[1] - p[1])
        return p[0] + t * (q[0] - p[0]), y

    out = list(points)
    for edge in range(4):
        if not out:
            break
        src, out = out, []
        for i, q in enumerate(src):
            p = src[i - 1]
            if inside(q, edge):
                if not inside(p, edge):
                    out.append(cross(p, q, edge))
                out.append(q)
            elif inside(p, edge):
                out.append(cross(p, q, edge))
    return [(min(max(x, r.x), r.right), min(max(y, r.y), r.bottom)) for x, y in out]
