import { describe, expect, it } from 'vitest';
import type { Class, ClassificationReport } from './api';
import { cellColors, classRows, confusionMatrix } from './confusion';

const classes: Class[] = [
  { id: 10, name: 'cat', color: '#4e79a7', hotkey: '1' },
  { id: 11, name: 'dog', color: '#f28e2b', hotkey: '2' },
];

const report: ClassificationReport = {
  accuracy: 0.7,
  classes: [10, 11, 12],
  precision: [0.8, 0.5, 0],
  recall: [0.8, 0.6, 0],
  support: [5, 5, 0],
  confusion: [
    [4, 1, 0],
    [2, 3, 0],
    [0, 0, 0],
  ],
};

describe('confusion matrix', () => {
  it('normalises each row by its true class and marks the diagonal', () => {
    const m = confusionMatrix(report, classes);
    expect(m.total).toBe(10);
    expect(m.rows[0]!.map((c) => c.fraction)).toEqual([0.8, 0.2, 0]);
    expect(m.rows[1]!.map((c) => c.fraction)).toEqual([0.4, 0.6, 0]);
    expect(m.rows[2]!.every((c) => c.fraction === 0 && c.count === 0)).toBe(true);
    expect(m.rows[1]!.map((c) => c.diagonal)).toEqual([false, true, false]);
    for (const row of m.rows.slice(0, 2)) expect(row.reduce((s, c) => s + c.fraction, 0)).toBeCloseTo(1);
  });

  it('names classes from the API and keeps deleted ones neutral', () => {
    const m = confusionMatrix(report, classes);
    expect(m.classes.map((c) => c.name)).toEqual(['cat', 'dog', 'deleted class 12']);
    expect(m.classes.map((c) => c.color)).toEqual(['#4e79a7', '#f28e2b', '#999999']);
    expect(classRows(report, classes)[1]).toEqual({
      id: 11,
      name: 'dog',
      color: '#f28e2b',
      precision: 0.5,
      recall: 0.6,
      support: 5,
    });
  });

  it('shades right and wrong cells apart, stronger with the share, readable text', () => {
    expect(cellColors({ fraction: 0, diagonal: true }).background).toBe('transparent');
    const right = cellColors({ fraction: 1, diagonal: true });
    const wrong = cellColors({ fraction: 1, diagonal: false });
    expect(right.background).toBe('rgba(46, 125, 50, 1.00)');
    expect(wrong.background).toBe('rgba(198, 40, 40, 1.00)');
    expect(right.color).toBe('#fff');
    expect(cellColors({ fraction: 0.1, diagonal: false }).color).toBe('inherit');
    expect(cellColors({ fraction: Number.NaN, diagonal: false }).background).toBe('transparent');
  });
});
