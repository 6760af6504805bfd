// A bounded undo stack for labeling actions.

/** One labeling action: the images it touched with the class each had before, and what was applied. */
export interface LabelAction {
  /** image id -> class id before the action (null = unlabeled) */
  previous: Map<number, number | null>;
  /** class id applied (null = unlabel) */
  applied: number | null;
  /** The image the action was made on (the one to show again after undo). */
  focusImageId: number;
}

export class UndoStack<T> {
  private items: T[] = [];

  constructor(private readonly limit = 200) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.limit) this.items.splice(0, this.items.length - this.limit);
  }

  pop(): T | undefined {
    return this.items.pop();
  }

  peek(): T | undefined {
    return this.items[this.items.length - 1];
  }

  /** Remove a specific entry (e.g. an action whose request failed). */
  remove(item: T): boolean {
    const i = this.items.lastIndexOf(item);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  clear(): void {
    this.items = [];
  }

  get size(): number {
    return this.items.length;
  }
}

/**
 * The requests that undo `action`: one PUT /labels per distinct previous class (images that had the
 * same class before are restored together). Sorted for determinism: null (unlabel) first, then by id.
 */
export function undoRequests(action: LabelAction): { imageIds: number[]; classId: number | null }[] {
  const byClass = new Map<number | null, number[]>();
  for (const [imageId, prev] of action.previous) {
    const list = byClass.get(prev) ?? [];
    list.push(imageId);
    byClass.set(prev, list);
  }
  return [...byClass.entries()]
    .sort(([a], [b]) => (a === null ? -1 : b === null ? 1 : a - b))
    .map(([classId, imageIds]) => ({ classId, imageIds: imageIds.sort((x, y) => x - y) }));
}
