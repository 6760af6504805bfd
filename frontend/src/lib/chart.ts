// Small pure helpers for SVG charts.

export interface LinePlot {
  /** SVG polyline `points` attribute ("x,y x,y ..."). */
  points: string;
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
  last: [number, number] | null;
}

/**
 * Scale [[x, y], ...] into a width x height box (with `pad` pixels around) for an SVG polyline.
 * Non-finite pairs are dropped; a flat series is drawn through the middle.
 */
export function linePlot(series: readonly (readonly number[])[], width: number, height: number, pad = 2): LinePlot {
  const pts = series
    .filter((p) => p.length >= 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]))
    .map((p) => [p[0] as number, p[1] as number] as [number, number]);
  if (pts.length === 0) return { points: '', minX: 0, maxX: 0, minY: 0, maxY: 0, last: null };
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const [x, y] of pts) {
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const w = Math.max(1, width - 2 * pad);
  const h = Math.max(1, height - 2 * pad);
  const sx = (x: number) => (maxX === minX ? pad + w / 2 : pad + ((x - minX) / (maxX - minX)) * w);
  const sy = (y: number) => (maxY === minY ? pad + h / 2 : pad + (1 - (y - minY) / (maxY - minY)) * h);
  const points = pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
  return { points, minX, maxX, minY, maxY, last: pts[pts.length - 1] ?? null };
}
