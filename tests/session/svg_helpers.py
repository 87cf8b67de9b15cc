"""Reading SVG charts back in tests: the points each series draws and the frame they must stay in."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lrtui.reports.svg_charts import Rect

NS = "{http://www.w3.org/2000/svg}"


def svg_points(svg: str) -> list[tuple[Rect, list[tuple[float, float]], int]]:
    """Per series group: its frame, every drawn point (polylines, dots, floor markers), the polyline count."""
    root = ET.fromstring(svg)
    out = []
    for group in root.iter(f"{NS}g"):
        if group.get("class") != "series":
            continue
        frame = Rect(*map(float, group.get("data-frame", "").split()))
        points: list[tuple[float, float]] = []
        polylines = 0
        for el in group:
            if el.tag == f"{NS}polyline":
                polylines += 1
                points += [tuple(map(float, p.split(","))) for p in el.get("points", "").split()]  # type: ignore[misc]
            elif el.tag == f"{NS}circle":
                points.append((float(el.get("cx", "nan")), float(el.get("cy", "nan"))))
            elif el.tag == f"{NS}polygon":
                points += [tuple(map(float, p.split(","))) for p in el.get("points", "").split()]  # type: ignore[misc]
        out.append((frame, points, polylines))
    return out


def assert_inside(svg: str) -> int:
    """Every point of every series lies in its plot rectangle; returns how many points were checked."""
    n = 0
    for frame, points, _ in svg_points(svg):
        for p in points:
            assert frame.contains(p, tol=0.051), f"{p} outside {frame}"  # coordinates are rounded to 0.1
            n += 1
    return n
