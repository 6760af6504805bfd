import { describe, expect, it } from 'vitest';
import { curveGeometry } from './learningCurve';

describe('learning curve geometry', () => {
  it('puts accuracy on a fixed 0–100% axis and labels on x, skipping unknown accuracy', () => {
    const g = curveGeometry(
      [
        { version: 2, n_labels: 20, cv_accuracy: 1, chance: null, majority_baseline: null },
        { version: 1, n_labels: 10, cv_accuracy: 0.5, chance: null, majority_baseline: null },
        { version: 3, n_labels: 25, cv_accuracy: null, chance: null, majority_baseline: null },
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
    const one = curveGeometry([{ version: 1, n_labels: 9, cv_accuracy: 0.25, chance: null, majority_baseline: null }], 252, 130);
    expect(one.dots).toEqual([{ x: 140, y: 83, labels: 9, accuracy: 0.25, version: 1 }]);
    expect(curveGeometry([], 252, 130).points).toBe('');
    expect(one.band).toBe('');
  });

  it('shades the band up to the majority-class baseline of each classifier, with chance inside it', () => {
    const g = curveGeometry(
      [
        { version: 1, n_labels: 10, cv_accuracy: 0.1, chance: 0.25, majority_baseline: 0.5 },
        { version: 2, n_labels: 20, cv_accuracy: 0.9, chance: 0.25, majority_baseline: 0.3 },
      ],
      252,
      130,
    );
    // y = 8 + (1 - a) * 100: majority 58 then 78, chance 83 at both ends, 0% at 108.
    expect(g.majorityLine).toBe('40.0,58.0 240.0,78.0');
    expect(g.chanceLine).toBe('40.0,83.0 240.0,83.0');
    expect(g.band).toBe('40.0,58.0 240.0,78.0 240.0,108.0 40.0,108.0');
    // One classifier: the band spans the plot.
    const one = curveGeometry([{ version: 1, n_labels: 9, cv_accuracy: 0.04, chance: 0.1, majority_baseline: 0.27 }], 252, 130);
    expect(one.band).toBe('40.0,81.0 240.0,81.0 240.0,108.0 40.0,108.0');
    expect(one.chanceLine).toBe('40.0,98.0 240.0,98.0');
  });
});
