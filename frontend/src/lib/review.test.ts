import { describe, expect, it } from 'vitest';
import { atOrAbove, labelsByClass, nextOffset, pageRange } from './review';

describe('review helpers', () => {
  it('groups guesses by class for one request per class', () => {
    expect(
      labelsByClass([
        { imageId: 1, classId: 7 },
        { imageId: 2, classId: 8 },
        { imageId: 3, classId: 7 },
        { imageId: 3, classId: 7 },
      ]),
    ).toEqual([
      { classId: 7, imageIds: [1, 3] },
      { classId: 8, imageIds: [2] },
    ]);
    expect(labelsByClass([])).toEqual([]);
  });

  it('keeps items at or above a confidence, in order', () => {
    const items = [{ confidence: 0.95 }, { confidence: 0.5 }, { confidence: 0.8 }];
    expect(atOrAbove(items, 0.8)).toEqual([{ confidence: 0.95 }, { confidence: 0.8 }]);
    expect(atOrAbove(items, 1.01)).toEqual([]);
  });

  it('steps past only the images still unlabeled', () => {
    expect(nextOffset(0, [1, 2, 3, 4], new Set())).toBe(4);
    expect(nextOffset(24, [1, 2, 3, 4], new Set([2, 4, 99]))).toBe(26);
    expect(nextOffset(10, [], new Set())).toBe(10);
  });

  it('describes the page range', () => {
    expect(pageRange(0, 24, 105)).toBe('1–24 of 105');
    expect(pageRange(96, 9, 105)).toBe('97–105 of 105');
    expect(pageRange(0, 0, 0)).toBe('0 of 0');
  });
});
