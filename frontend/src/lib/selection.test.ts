import { describe, expect, it } from 'vitest';
import {
  clickSelect,
  columnsFor,
  emptySelection,
  indexesInRect,
  rangeIndexes,
  selectMany,
  visibleRange,
  type GridLayout,
} from './selection';

const ids = [10, 11, 12, 13, 14, 15, 16];
const idAt = (i: number) => ids[i];

describe('click / shift-click selection', () => {
  it('toggles on plain click and sets the anchor', () => {
    let s = clickSelect(emptySelection(), 2, idAt);
    expect([...s.ids]).toEqual([12]);
    expect(s.anchor).toBe(2);
    s = clickSelect(s, 4, idAt, { toggle: true });
    expect([...s.ids].sort()).toEqual([12, 14]);
    s = clickSelect(s, 2, idAt);
    expect([...s.ids]).toEqual([14]);
    expect(s.anchor).toBe(2);
  });

  it('shift-click adds the range from the anchor, in either direction, keeping the anchor', () => {
    let s = clickSelect(emptySelection(), 3, idAt);
    s = clickSelect(s, 5, idAt, { shift: true });
    expect([...s.ids].sort()).toEqual([13, 14, 15]);
    expect(s.anchor).toBe(3);
    s = clickSelect(s, 1, idAt, { shift: true });
    expect([...s.ids].sort()).toEqual([11, 12, 13, 14, 15]);
  });

  it('shift-click without an anchor toggles; unloaded cells are skipped', () => {
    const sparse = (i: number) => (i === 2 ? undefined : ids[i]);
    let s = clickSelect(emptySelection(), 1, sparse, { shift: true });
    expect([...s.ids]).toEqual([11]);
    s = clickSelect(s, 3, sparse, { shift: true });
    expect([...s.ids].sort()).toEqual([11, 13]);
    expect(clickSelect(s, 2, sparse)).toBe(s);
  });

  it('rangeIndexes and selectMany', () => {
    expect(rangeIndexes(4, 2)).toEqual([2, 3, 4]);
    const s = selectMany({ ids: new Set([1]), anchor: 0 }, [2, 3], false);
    expect([...s.ids]).toEqual([1, 2, 3]);
    expect([...selectMany(s, [9], true).ids]).toEqual([9]);
  });
});

describe('fixed-size layout', () => {
  const layout: GridLayout = { cellW: 100, cellH: 200, gap: 10, columns: 4, count: 10 };

  it('columns from the width', () => {
    expect(columnsFor(399, 100)).toBe(3);
    expect(columnsFor(400, 100)).toBe(4);
    expect(columnsFor(10, 100)).toBe(1);
  });

  it('visible rows with overscan, clamped to the content', () => {
    expect(visibleRange(layout, 0, 300, 0)).toEqual({ startRow: 0, endRow: 2, start: 0, end: 8 });
    expect(visibleRange(layout, 250, 100, 0)).toEqual({ startRow: 1, endRow: 2, start: 4, end: 8 });
    expect(visibleRange(layout, 250, 100, 5)).toEqual({ startRow: 0, endRow: 3, start: 0, end: 10 });
    // Grid below the viewport: only the overscan row is prepared.
    expect(visibleRange(layout, -1000, 500, 1)).toEqual({ startRow: 0, endRow: 1, start: 0, end: 4 });
    expect(visibleRange(layout, -1000, 500, 0)).toEqual({ startRow: 0, endRow: 0, start: 0, end: 0 });
    const big: GridLayout = { ...layout, count: 100_000 };
    const r = visibleRange(big, 1_000_000, 800, 2);
    expect(r.endRow - r.startRow).toBe(4 + 2 + 2);
    expect(r.start).toBe((5000 - 2) * 4);
  });

  it('a drag rectangle selects the cells it touches, not the gaps', () => {
    expect(indexesInRect(layout, { x0: 5, y0: 5, x1: 150, y1: 250 })).toEqual([0, 1, 4, 5]);
    // Right to left, bottom to top works the same.
    expect(indexesInRect(layout, { x0: 150, y0: 250, x1: 5, y1: 5 })).toEqual([0, 1, 4, 5]);
    // Entirely inside the gap between column 0 and 1: nothing.
    expect(indexesInRect(layout, { x0: 92, y0: 10, x1: 98, y1: 50 })).toEqual([]);
    // The last row has only two cells.
    expect(indexesInRect(layout, { x0: 0, y0: 410, x1: 399, y1: 500 })).toEqual([8, 9]);
  });
});
