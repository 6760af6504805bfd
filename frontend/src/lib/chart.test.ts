import { describe, expect, it } from 'vitest';
import { linePlot } from './chart';

describe('linePlot', () => {
  it('scales points into the box, y inverted', () => {
    const p = linePlot(
      [
        [0, 2],
        [10, 1],
        [20, 0],
      ],
      100,
      50,
      0,
    );
    expect(p.points).toBe('0.0,0.0 50.0,25.0 100.0,50.0');
    expect([p.minX, p.maxX, p.minY, p.maxY]).toEqual([0, 20, 0, 2]);
    expect(p.last).toEqual([20, 0]);
  });

  it('handles empty, flat and non-finite series', () => {
    expect(linePlot([], 100, 50).points).toBe('');
    expect(linePlot([[1, 3]], 100, 50, 0).points).toBe('50.0,25.0');
    expect(
      linePlot(
        [
          [0, NaN],
          [1, 1],
          [2, 1],
        ],
        10,
        10,
        0,
      ).points,
    ).toBe('0.0,5.0 10.0,5.0');
  });
});
