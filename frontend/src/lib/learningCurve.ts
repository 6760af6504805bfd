// Geometry of the learning curve (cross-validated accuracy by number of labels) on a fixed 0–100% axis, so
// that a flat curve reads as its value and not as the middle of the box.

import type { LearningCurvePoint } from './api';

export interface CurveDot {
  x: number;
  y: number;
  labels: number;
  accuracy: number;
  version: number;
}

export interface CurveGeometry {
  dots: CurveDot[];
  /** SVG polyline `points`. */
  points: string;
  /** Left edge and width of the plot area (the rest holds the axis labels). */
  left: number;
  top: number;
  width: number;
  height: number;
  minLabels: number;
  maxLabels: number;
  /** SVG polygon `points` of the band of no better than guessing: from 0 up to the majority-class baseline, which
   * is never below chance ('' without baselines). */
  band: string;
  /** SVG polyline `points` of the majority-class baseline, and of chance. */
  majorityLine: string;
  chanceLine: string;
}

type Known = LearningCurvePoint & { cv_accuracy: number };
type Pt = [number, number];
const svgPoints = (pts: Pt[]) => pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');

/** Chance and majority lines at each classifier that has them; one position spans the whole width. */
function baselineLines(known: Known[], sx: (n: number) => number, sy: (a: number) => number, left: number, w: number) {
  const rows = known.filter((p) => p.chance !== null && p.majority_baseline !== null);
  const xs = rows.map((p) => sx(p.n_labels));
  const spread = xs.length > 0 && Math.max(...xs) > Math.min(...xs);
  const at = (value: (p: Known) => number): Pt[] =>
    spread ? rows.map((p, i) => [xs[i]!, sy(value(p))]) : rows.slice(-1).flatMap((p) => [[left, sy(value(p))], [left + w, sy(value(p))]] as Pt[]);
  const majority = at((p) => p.majority_baseline ?? 0);
  const chance = at((p) => p.chance ?? 0);
  return {
    band: majority.length ? svgPoints([...majority, ...[...majority].reverse().map(([x]): Pt => [x, sy(0)])]) : '',
    majorityLine: svgPoints(majority),
    chanceLine: svgPoints(chance),
  };
}

/** Points with an accuracy, by number of labels, in a `width` x `height` box with room for axis labels. */
export function curveGeometry(curve: LearningCurvePoint[], width: number, height: number): CurveGeometry {
  const left = 40;
  const top = 8;
  const w = Math.max(1, width - left - 12);
  const h = Math.max(1, height - top - 22);
  const known = curve
    .filter((p): p is Known => p.cv_accuracy !== null && Number.isFinite(p.cv_accuracy))
    .sort((a, b) => a.n_labels - b.n_labels || a.version - b.version);
  const minLabels = known[0]?.n_labels ?? 0;
  const maxLabels = known[known.length - 1]?.n_labels ?? 0;
  const sx = (n: number) => (maxLabels === minLabels ? left + w / 2 : left + ((n - minLabels) / (maxLabels - minLabels)) * w);
  const sy = (a: number) => top + (1 - Math.min(1, Math.max(0, a))) * h;
  const dots = known.map((p) => ({ x: sx(p.n_labels), y: sy(p.cv_accuracy), labels: p.n_labels, accuracy: p.cv_accuracy, version: p.version }));
  const points = dots.map((d) => `${d.x.toFixed(1)},${d.y.toFixed(1)}`).join(' ');
  return { dots, points, left, top, width: w, height: h, minLabels, maxLabels, ...baselineLines(known, sx, sy, left, w) };
}
