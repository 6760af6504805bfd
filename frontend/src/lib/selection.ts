// Selection and layout logic of the virtualised image grid (pure functions; the component keeps state).

export interface Modifiers {
  shift?: boolean;
  /** Ctrl or Cmd */
  toggle?: boolean;
}

export interface SelectionState {
  ids: ReadonlySet<number>;
  /** Index of the last plain/ctrl click: the start of a shift-click range. */
  anchor: number | null;
}

export const emptySelection = (): SelectionState => ({ ids: new Set(), anchor: null });

/** Indexes from a to b inclusive, in either order. */
export function rangeIndexes(a: number, b: number): number[] {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const out: number[] = [];
  for (let i = lo; i <= hi; i++) out.push(i);
  return out;
}

/**
 * A click on the cell at `index` (image `idAt(index)`):
 * - plain or Ctrl/Cmd click toggles that image and makes it the anchor;
 * - Shift-click adds every image from the anchor to it (the anchor stays, as in file managers).
 * `idAt` answers undefined for cells not loaded yet; those are skipped.
 */
export function clickSelect(
  state: SelectionState,
  index: number,
  idAt: (index: number) => number | undefined,
  mods: Modifiers = {},
): SelectionState {
  const id = idAt(index);
  if (id === undefined) return state;
  if (mods.shift && state.anchor !== null) {
    const ids = new Set(state.ids);
    for (const i of rangeIndexes(state.anchor, index)) {
      const x = idAt(i);
      if (x !== undefined) ids.add(x);
    }
    return { ids, anchor: state.anchor };
  }
  const ids = new Set(state.ids);
  if (ids.has(id)) ids.delete(id);
  else ids.add(id);
  return { ids, anchor: index };
}

/** Add (or, with `replace`, set) a list of ids, e.g. from a drag rectangle or a lasso. */
export function selectMany(state: SelectionState, ids: Iterable<number>, replace: boolean): SelectionState {
  const next = replace ? new Set<number>() : new Set(state.ids);
  for (const id of ids) next.add(id);
  return { ids: next, anchor: state.anchor };
}

// ---------------------------------------------------------------- fixed-size cell layout

export interface GridLayout {
  /** Cell pitch: item width + gap. */
  cellW: number;
  /** Row pitch: item height + gap. */
  cellH: number;
  gap: number;
  columns: number;
  count: number;
}

export function columnsFor(width: number, cellW: number): number {
  return Math.max(1, Math.floor((width + 1e-6) / cellW));
}

export function rowsFor(count: number, columns: number): number {
  return Math.ceil(count / Math.max(1, columns));
}

export interface VisibleRange {
  startRow: number;
  endRow: number; // exclusive
  start: number; // first index
  end: number; // exclusive
}

/**
 * Rows intersecting the viewport [top, top + height) of the content (plus `overscan` rows each side).
 * `top` may be negative (the grid starts below the viewport's top).
 */
export function visibleRange(layout: GridLayout, top: number, height: number, overscan = 2): VisibleRange {
  const rows = rowsFor(layout.count, layout.columns);
  const first = Math.floor(Math.max(0, top) / layout.cellH);
  const last = Math.ceil(Math.max(0, top + height) / layout.cellH);
  const startRow = Math.max(0, Math.min(rows, first - overscan));
  const endRow = Math.max(startRow, Math.min(rows, last + overscan));
  return {
    startRow,
    endRow,
    start: startRow * layout.columns,
    end: Math.min(layout.count, endRow * layout.columns),
  };
}

export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Indexes of cells whose item box (cell minus gap) intersects the rectangle (content coordinates). */
export function indexesInRect(layout: GridLayout, r: Rect): number[] {
  const minX = Math.min(r.x0, r.x1);
  const maxX = Math.max(r.x0, r.x1);
  const minY = Math.min(r.y0, r.y1);
  const maxY = Math.max(r.y0, r.y1);
  const itemW = layout.cellW - layout.gap;
  const itemH = layout.cellH - layout.gap;
  const rows = rowsFor(layout.count, layout.columns);
  const out: number[] = [];
  const r0 = Math.max(0, Math.floor(minY / layout.cellH));
  const r1 = Math.min(rows - 1, Math.floor(maxY / layout.cellH));
  const c0 = Math.max(0, Math.floor(minX / layout.cellW));
  const c1 = Math.min(layout.columns - 1, Math.floor(maxX / layout.cellW));
  for (let row = r0; row <= r1; row++) {
    const top = row * layout.cellH;
    if (!(minY < top + itemH && maxY > top)) continue;
    for (let col = c0; col <= c1; col++) {
      const left = col * layout.cellW;
      if (!(minX < left + itemW && maxX > left)) continue;
      const index = row * layout.columns + col;
      if (index < layout.count) out.push(index);
    }
  }
  return out;
}
