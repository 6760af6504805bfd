import { describe, expect, it } from 'vitest';
import { curveGeometry } from './learningCurve';

describe('learning curve geometry', () => {
  it('puts accuracy on a fixed 0–100% axis and labels on x, skipping unknown accuracy', () => {
    const g = curveGeometry(
      [
        { version: 2, n_labels: 20, cv_accuracy: 1 },
        { version: 1, n_labels: 10, cv_accuracy: 0.5 },
        { version: 3, n_labels: 25, cv_accuracy: null },
      ],
      252,
      130,
    );
    // plot area: x from 40 to 240, y from 8 (100%) to 108 (0%)
    expect([g.left, g.top, g.width, g.height]).toEqual([40, 8, 200, 100]);
    expect(g.dots.map((d) => [d.x, d.y, d.labels])).toEqual([
      [40, 58, 10],
      [240, 8, 20],
    ]);
    expect(g.points).toBe('40.0,58.0 240.0,8.0');
    expect([g.minLabels, g.maxLabels]).toEqual([10, 20]);
  });

  it('draws a single classifier in the middle at its accuracy, and nothing without data', () => {
    const one = curveGeometry([{ version: 1, n_labels: 9, cv_accuracy: 0.25 }], 252, 130);
    expect(one.dots).toEqual([{ x: 140, y: 83, labels: 9, accuracy: 0.25, version: 1 }]);
    expect(curveGeometry([], 252, 130).points).toBe('');
  });
});
