// Review page helpers: confirming many guesses at once and paging through a list that shrinks as
// images get labeled.

export interface Guess {
  imageId: number;
  classId: number;
}

/** Guesses grouped by class, in first-seen order: one PUT /labels per class confirms them all. */
export function labelsByClass(guesses: Guess[]): { classId: number; imageIds: number[] }[] {
  const groups = new Map<number, number[]>();
  for (const g of guesses) {
    const ids = groups.get(g.classId);
    if (ids) {
      if (!ids.includes(g.imageId)) ids.push(g.imageId);
    } else groups.set(g.classId, [g.imageId]);
  }
  return [...groups].map(([classId, imageIds]) => ({ classId, imageIds }));
}

/** Items whose confidence is at least `min` (the list keeps its order). */
export function atOrAbove<T extends { confidence: number }>(items: T[], min: number): T[] {
  return items.filter((t) => t.confidence >= min);
}

/**
 * Offset of the next page of unlabeled images: the API lists only unlabeled ones, so the images labeled
 * on this page have left the list and the next page starts that many places earlier.
 */
export function nextOffset(offset: number, pageIds: number[], labeledIds: ReadonlySet<number>): number {
  return offset + pageIds.filter((id) => !labeledIds.has(id)).length;
}

/** "1–24 of 105" for a page at `offset` showing `shown` items. */
export function pageRange(offset: number, shown: number, total: number): string {
  if (total === 0 || shown === 0) return `0 of ${total}`;
  return `${offset + 1}–${offset + shown} of ${total}`;
}
