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
}

/** Points with an accuracy, by number of labels, in a `width` x `height` box with room for axis labels. */
export function curveGeometry(curve: LearningCurvePoint[], width: number, height: number): CurveGeometry {
  const left = 40;
  const top = 8;
  const w = Math.max(1, width - left - 12);
  const h = Math.max(1, height - top - 22);
  const known = curve
    .filter((p): p is LearningCurvePoint & { cv_accuracy: number } => p.cv_accuracy !== null && Number.isFinite(p.cv_accuracy))
    .sort((a, b) => a.n_labels - b.n_labels || a.version - b.version);
  const minLabels = known[0]?.n_labels ?? 0;
  const maxLabels = known[known.length - 1]?.n_labels ?? 0;
  const sx = (n: number) => (maxLabels === minLabels ? left + w / 2 : left + ((n - minLabels) / (maxLabels - minLabels)) * w);
  const sy = (a: number) => top + (1 - Math.min(1, Math.max(0, a))) * h;
  const dots = known.map((p) => ({ x: sx(p.n_labels), y: sy(p.cv_accuracy), labels: p.n_labels, accuracy: p.cv_accuracy, version: p.version }));
  const points = dots.map((d) => `${d.x.toFixed(1)},${d.y.toFixed(1)}`).join(' ');
  return { dots, points, left, top, width: w, height: h, minLabels, maxLabels };
}
