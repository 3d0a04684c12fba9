"""The geometry behind ``lanes/``: a road seen from a car, and its markings as polygons.

Markings live in road coordinates (position across the road, distance ahead) and are projected to
pixels with a simple perspective and a bend, so lane lines are 8-12 px wide at the bottom row and
thin out towards the horizon. That thinness is the point of the sample: road pixels dominate and
the lane lines are a tiny share of the annotated pixels. Polygons are clipped to the frame and
degenerate ones dropped. :mod:`samplegen.lanes` draws the ground truth and the predictions from this.
"""
from __future__ import annotations

import numpy as np

from .common import HEIGHT, WIDTH, r1


class Scene:
    """A road seen from a car: markings live in road coordinates and are projected to pixels.

    ``f`` runs across the road (0 = left edge, 1 = right edge), ``d`` is the distance ahead in
    metres; ``d = near`` is the bottom row of the image and the horizon is infinitely far.
    """

    def __init__(self, rng: np.random.Generator):
        self.horizon = rng.uniform(335, 390)
        self.vanish = rng.uniform(560, 720)
        self.left = rng.uniform(-420, 40)
        self.right = rng.uniform(1240, 1700)
        self.curve = rng.uniform(-1, 1) * 160
        self.near = 4.0
        self.top = self.horizon + 10  # the road drawn from here down

    def y(self, d):
        return self.horizon + (self.near / np.asarray(d, dtype=float)) * (HEIGHT - self.horizon)

    def x(self, f, y):
        t = (np.asarray(y, dtype=float) - self.horizon) / (HEIGHT - self.horizon)
        xl = self.vanish + (self.left - self.vanish) * t
        xr = self.vanish + (self.right - self.vanish) * t
        return xl + np.asarray(f, dtype=float) * (xr - xl) + self.curve * (1 - t) ** 2

    def band(self, f0, f1, y0, y1, steps: int = 8) -> np.ndarray:
        """Polygon between road positions f0 and f1 from row y0 (far) to y1 (near), clipped to the frame."""
        t = np.linspace(0, 1, steps) ** 1.6  # more vertices far away, where the curve bends
        ys = y0 + (y1 - y0) * t
        left = np.stack([self.x(f0, ys), ys], 1)
        right = np.stack([self.x(f1, ys[::-1]), ys[::-1]], 1)
        return clip_polygon(np.concatenate([left, right]))

    def patch(self, f0, f1, d0, d1) -> np.ndarray:
        """Quadrilateral between road positions f0..f1 and distances d0 (near) .. d1 (far)."""
        y_near, y_far = float(self.y(d0)), float(self.y(d1))
        pts = np.array([[self.x(f0, y_far), y_far], [self.x(f1, y_far), y_far],
                        [self.x(f1, y_near), y_near], [self.x(f0, y_near), y_near]])
        return clip_polygon(pts)

    def d_of_y(self, y):
        return self.near * (HEIGHT - self.horizon) / (np.asarray(y, dtype=float) - self.horizon)


def clip_polygon(pts: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman clip of a polygon to the image rectangle."""
    def clip(points, inside, cross):
        out = []
        for i in range(len(points)):
            cur, prev = points[i], points[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
        return out

    def at_x(xv):
        return lambda p, q: (xv, p[1] + (q[1] - p[1]) * (xv - p[0]) / (q[0] - p[0]))

    def at_y(yv):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (yv - p[1]) / (q[1] - p[1]), yv)

    points = [tuple(p) for p in pts]
    for inside, cross in ((lambda p: p[0] >= 0, at_x(0.0)), (lambda p: p[0] <= WIDTH, at_x(float(WIDTH))),
                          (lambda p: p[1] >= 0, at_y(0.0)), (lambda p: p[1] <= HEIGHT, at_y(float(HEIGHT)))):
        if not points:
            break
        points = clip(points, inside, cross)
    return np.array(points, dtype=float).reshape(-1, 2)


def polygon_ok(poly: np.ndarray) -> bool:
    if len(poly) < 3:
        return False
    x, y = poly[:, 0], poly[:, 1]
    return abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2 >= 1.0


def flat(poly: np.ndarray) -> list[float]:
    return r1(poly.reshape(-1))


def lane_scene(rng: np.random.Generator) -> tuple[Scene, list[tuple[str, list[np.ndarray]]], dict]:
    """One image's ground truth: (class, polygons) per instance, and the markings' parameters."""
    s = Scene(rng)
    inst: list[tuple[str, list[np.ndarray]]] = [("road", [s.band(0, 1, s.top, HEIGHT, 8)])]
    for side in (0, 1):
        if rng.random() < 0.7:
            width = rng.uniform(0.15, 0.32)
            f0, f1 = (-width, 0.0) if side == 0 else (1.0, 1 + width)
            inst.append(("sidewalk", [s.band(f0, f1, s.top + 4, HEIGHT, 6)]))
    bottom_width = s.right - s.left
    n_lanes = int(rng.choice([2, 3, 4], p=[0.35, 0.45, 0.2]))
    lines = []
    for k in range(n_lanes + 1):
        f = 0.025 + 0.95 * k / n_lanes
        outer = k in (0, n_lanes)
        kind = "lane_solid" if outer or (n_lanes == 2 and rng.random() < 0.4) else "lane_dashed"
        half = rng.uniform(8, 12) / bottom_width / 2  # 8-12 px wide at the bottom row
        lines.append((kind, f, half, s.near - 3 + rng.uniform(0, 12)))
    markings = {"lines": lines, "crosswalk": None, "arrow": None}
    for kind, f, half, phase in lines:
        polys = line_polygons(s, kind, f, half, phase, rng)
        if polys:
            inst.append((kind, polys))
    if rng.random() < 0.25:
        d0 = rng.uniform(7, 16)
        markings["crosswalk"] = d0
        inst.append(("crosswalk", crosswalk_polygons(s, d0, keep=None, rng=rng)))
    if rng.random() < 0.22 and n_lanes >= 2:
        lane = int(rng.integers(0, n_lanes))
        f = 0.025 + 0.95 * (lane + 0.5) / n_lanes
        d0 = rng.uniform(6, 12)
        markings["arrow"] = (f, d0, 0.95 / n_lanes)
        inst.append(("arrow", [arrow_polygon(s, f, d0, 0.95 / n_lanes)]))
    inst = [(c, [p for p in polys if polygon_ok(p)]) for c, polys in inst]
    return s, [(c, polys) for c, polys in inst if polys], markings


def line_polygons(s: Scene, kind: str, f: float, half: float, phase: float, rng: np.random.Generator,
                  far_y: float | None = None, keep_dash: float = 1.0) -> list[np.ndarray]:
    """A marking line at road position ``f``, ``2 * half`` wide: one strip, or 3 m dashes every 12 m from ``phase``."""
    far_y = s.top + 2 if far_y is None else far_y
    if kind == "lane_solid":
        return [s.band(f - half, f + half, far_y, HEIGHT, 8)]
    polys = []
    d_far = float(s.d_of_y(far_y))
    d = phase
    while d < d_far:
        near_end, far_end = max(d, s.near), min(d + 3, d_far)
        if far_end - near_end > 0.3 and rng.random() < keep_dash:
            polys.append(s.patch(f - half, f + half, near_end, far_end))
        d += 12
    return [p for p in polys if polygon_ok(p)]


def crosswalk_polygons(s: Scene, d0: float, keep: float | None, rng: np.random.Generator) -> list[np.ndarray]:
    polys = []
    stripes = 14
    for j in range(stripes):
        if keep is not None and rng.random() > keep:
            continue
        f0 = 0.04 + 0.92 * j / stripes
        polys.append(s.patch(f0, f0 + 0.92 / stripes / 2, d0, d0 + 3))
    return polys


def arrow_polygon(s: Scene, f: float, d0: float, lane_width: float) -> np.ndarray:
    """A straight-ahead arrow 5 m long in the middle of a lane, as one 7-point polygon."""
    shaft, head = lane_width * 0.06, lane_width * 0.18
    pts_fd = [(f - shaft, d0), (f + shaft, d0), (f + shaft, d0 + 3.2), (f + head, d0 + 3.2), (f, d0 + 5),
              (f - head, d0 + 3.2), (f - shaft, d0 + 3.2)]
    ys = [float(s.y(d)) for _, d in pts_fd]
    pts = np.array([[float(s.x(fv, yv)), yv] for (fv, _), yv in zip(pts_fd, ys)])
    return clip_polygon(pts)
