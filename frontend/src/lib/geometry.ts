// Geometry for the map: lasso (point in polygon) and nearest point.

export interface Pt {
  x: number;
  y: number;
}

/** Ray casting (even-odd rule). Points exactly on an edge may fall either way. */
export function pointInPolygon(p: Pt, polygon: readonly Pt[]): boolean {
  if (polygon.length < 3) return false;
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i]!;
    const b = polygon[j]!;
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

export interface Box {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export function boundingBox(polygon: readonly Pt[]): Box {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of polygon) {
    minX = Math.min(minX, p.x);
    minY = Math.min(minY, p.y);
    maxX = Math.max(maxX, p.x);
    maxY = Math.max(maxY, p.y);
  }
  return { minX, minY, maxX, maxY };
}

/** Indexes of `points` inside `polygon` (a bounding-box test first keeps thousands of points cheap). */
export function indexesInPolygon(points: readonly Pt[], polygon: readonly Pt[]): number[] {
  if (polygon.length < 3) return [];
  const box = boundingBox(polygon);
  const out: number[] = [];
  points.forEach((p, i) => {
    if (p.x < box.minX || p.x > box.maxX || p.y < box.minY || p.y > box.maxY) return;
    if (pointInPolygon(p, polygon)) out.push(i);
  });
  return out;
}

/** Index of the point nearest to `p` within `maxDist`, or -1. */
export function nearestPoint(points: readonly Pt[], p: Pt, maxDist: number): number {
  let best = -1;
  let bestD = maxDist * maxDist;
  for (let i = 0; i < points.length; i++) {
    const q = points[i]!;
    const dx = q.x - p.x;
    const dy = q.y - p.y;
    const d = dx * dx + dy * dy;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/** Drop lasso vertices closer than `minStep` to the previous one (keeps polygons small while dragging). */
export function appendVertex(polygon: Pt[], p: Pt, minStep = 3): Pt[] {
  const last = polygon[polygon.length - 1];
  if (last && Math.hypot(last.x - p.x, last.y - p.y) < minStep) return polygon;
  return [...polygon, p];
}
