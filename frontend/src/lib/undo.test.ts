import { describe, expect, it } from 'vitest';
import { UndoStack, undoRequests, type LabelAction } from './undo';

describe('UndoStack', () => {
  it('is last in, first out and bounded', () => {
    const s = new UndoStack<number>(3);
    for (const n of [1, 2, 3, 4]) s.push(n);
    expect(s.size).toBe(3);
    expect(s.peek()).toBe(4);
    expect(s.pop()).toBe(4);
    expect(s.pop()).toBe(3);
    expect(s.pop()).toBe(2);
    expect(s.pop()).toBeUndefined();
  });

  it('removes a given entry and clears', () => {
    const s = new UndoStack<{ n: number }>();
    const a = { n: 1 };
    const b = { n: 2 };
    s.push(a);
    s.push(b);
    expect(s.remove(a)).toBe(true);
    expect(s.remove(a)).toBe(false);
    expect(s.peek()).toBe(b);
    s.clear();
    expect(s.size).toBe(0);
  });
});

describe('undoRequests', () => {
  it('restores each image to its previous class, grouped per class, unlabel first', () => {
    const action: LabelAction = {
      previous: new Map<number, number | null>([
        [5, 2],
        [3, null],
        [9, 1],
        [1, 2],
        [4, null],
      ]),
      applied: 7,
      focusImageId: 5,
    };
    expect(undoRequests(action)).toEqual([
      { classId: null, imageIds: [3, 4] },
      { classId: 1, imageIds: [9] },
      { classId: 2, imageIds: [1, 5] },
    ]);
  });
});
