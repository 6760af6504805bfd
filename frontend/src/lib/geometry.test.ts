import { describe, expect, it } from 'vitest';
import { appendVertex, indexesInPolygon, nearestPoint, pointInPolygon } from './geometry';

const square = [
  { x: 0, y: 0 },
  { x: 10, y: 0 },
  { x: 10, y: 10 },
  { x: 0, y: 10 },
];
// A "U" shape: the notch (4..6, 0..6) is outside.
const u = [
  { x: 0, y: 0 },
  { x: 4, y: 0 },
  { x: 4, y: 6 },
  { x: 6, y: 6 },
  { x: 6, y: 0 },
  { x: 10, y: 0 },
  { x: 10, y: 10 },
  { x: 0, y: 10 },
];

describe('pointInPolygon', () => {
  it('inside / outside a square', () => {
    expect(pointInPolygon({ x: 5, y: 5 }, square)).toBe(true);
    expect(pointInPolygon({ x: 11, y: 5 }, square)).toBe(false);
    expect(pointInPolygon({ x: -0.1, y: 5 }, square)).toBe(false);
  });

  it('handles concave polygons', () => {
    expect(pointInPolygon({ x: 2, y: 2 }, u)).toBe(true);
    expect(pointInPolygon({ x: 5, y: 3 }, u)).toBe(false);
    expect(pointInPolygon({ x: 5, y: 8 }, u)).toBe(true);
  });

  it('needs three vertices', () => {
    expect(pointInPolygon({ x: 0, y: 0 }, square.slice(0, 2))).toBe(false);
  });

  it('works for a self-intersecting lasso (even-odd)', () => {
    const bowtie = [
      { x: 0, y: 0 },
      { x: 10, y: 10 },
      { x: 10, y: 0 },
      { x: 0, y: 10 },
    ];
    expect(pointInPolygon({ x: 8, y: 5 }, bowtie)).toBe(true);
    expect(pointInPolygon({ x: 5, y: 2 }, bowtie)).toBe(false);
  });
});

describe('indexesInPolygon / nearestPoint / appendVertex', () => {
  it('selects the indexes inside', () => {
    const pts = [
      { x: 1, y: 1 },
      { x: 5, y: 3 },
      { x: 20, y: 20 },
      { x: 9, y: 9 },
    ];
    expect(indexesInPolygon(pts, u)).toEqual([0, 3]);
    expect(indexesInPolygon(pts, [])).toEqual([]);
  });

  it('selects among thousands of points quickly', () => {
    const pts = Array.from({ length: 20000 }, (_, i) => ({ x: (i % 200) / 20, y: Math.floor(i / 200) / 10 }));
    const t = performance.now();
    const inside = indexesInPolygon(pts, square);
    expect(performance.now() - t).toBeLessThan(200);
    expect(inside.length).toBeGreaterThan(9000);
  });

  it('nearest within a radius', () => {
    const pts = [
      { x: 0, y: 0 },
      { x: 10, y: 0 },
    ];
    expect(nearestPoint(pts, { x: 8, y: 1 }, 5)).toBe(1);
    expect(nearestPoint(pts, { x: 5, y: 9 }, 5)).toBe(-1);
  });

  it('skips vertices closer than the step', () => {
    let poly = appendVertex([], { x: 0, y: 0 });
    poly = appendVertex(poly, { x: 1, y: 1 }, 3);
    poly = appendVertex(poly, { x: 5, y: 0 }, 3);
    expect(poly).toEqual([
      { x: 0, y: 0 },
      { x: 5, y: 0 },
    ]);
  });
});
