// Pure helpers of the embedding map: projection into the canvas, colours, legend.

import type { Class, ClassProbability, MapPoint } from './api';
import type { Pt } from './geometry';

export const UNLABELED_COLOR = '#9aa5b1';
export type ColorMode = 'label' | 'prediction' | 'confidence';

export interface Viewport {
  width: number;
  height: number;
  pad: number;
}

/** Map x, y in [0, 1] to canvas pixels (y grows downwards, as in the API's map). */
export function project(points: readonly Pick<MapPoint, 'x' | 'y'>[], vp: Viewport): Pt[] {
  const w = Math.max(1, vp.width - 2 * vp.pad);
  const h = Math.max(1, vp.height - 2 * vp.pad);
  return points.map((p) => ({ x: vp.pad + clamp01(p.x) * w, y: vp.pad + clamp01(p.y) * h }));
}

function clamp01(v: number): number {
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0.5;
}

/** Red (unsure) -> amber -> green (sure) for a probability in [0, 1]. */
export function confidenceColor(p: number): string {
  const t = Math.min(1, Math.max(0, p));
  const stops: [number, [number, number, number]][] = [
    [0, [215, 48, 39]],
    [0.5, [254, 196, 79]],
    [1, [26, 152, 80]],
  ];
  const [a, b] = t <= 0.5 ? [stops[0]!, stops[1]!] : [stops[1]!, stops[2]!];
  const u = (t - a[0]) / (b[0] - a[0]);
  const c = a[1].map((v, i) => Math.round(v + (b[1][i]! - v) * u));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** The colour of each point for the chosen mode. Points without a prediction stay grey. */
export function pointColors(
  points: readonly MapPoint[],
  mode: ColorMode,
  classes: readonly Class[],
  predictions: ReadonlyMap<number, ClassProbability[]>,
): string[] {
  const colorOf = new Map(classes.map((c) => [c.id, c.color]));
  return points.map((p) => {
    if (mode === 'label') return p.class_id !== null ? (colorOf.get(p.class_id) ?? UNLABELED_COLOR) : UNLABELED_COLOR;
    const top = predictions.get(p.image_id)?.[0];
    if (!top) return UNLABELED_COLOR;
    if (mode === 'prediction') return colorOf.get(top.class_id) ?? UNLABELED_COLOR;
    return confidenceColor(top.probability);
  });
}

/** Indexes grouped by colour (one fill per colour keeps canvas drawing fast). */
export function groupByColor(colors: readonly string[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  colors.forEach((c, i) => {
    const g = groups.get(c);
    if (g) g.push(i);
    else groups.set(c, [i]);
  });
  return groups;
}

export interface LegendEntry {
  key: string;
  name: string;
  color: string;
  count: number;
}

export function labelLegend(points: readonly MapPoint[], classes: readonly Class[]): LegendEntry[] {
  const counts = new Map<number | null, number>();
  for (const p of points) counts.set(p.class_id, (counts.get(p.class_id) ?? 0) + 1);
  const known = new Set(classes.map((c) => c.id));
  const unlabeled = points.filter((p) => p.class_id === null || !known.has(p.class_id)).length;
  return [
    ...classes.map((c) => ({ key: `c${c.id}`, name: c.name, color: c.color, count: counts.get(c.id) ?? 0 })),
    { key: 'none', name: 'unlabeled', color: UNLABELED_COLOR, count: unlabeled },
  ];
}
