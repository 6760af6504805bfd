import { describe, expect, it, vi } from 'vitest';
import { ApiError, type Image, type Suggestion } from './api';
import { AnnotateSession, type AnnotateDeps } from './annotate.svelte';

function img(id: number, class_id: number | null = null): Image {
  return { id, filename: `i${id}.png`, width: 8, height: 8, class_id, thumbnail_url: '', file_url: '' };
}
const sug = (id: number): Suggestion => ({ image: img(id), reason: { strategy: 'random' } });

function deps(over: Partial<AnnotateDeps> = {}) {
  const d = {
    suggestions: vi.fn().mockResolvedValue({ strategy: 'random', items: [1, 2, 3, 4, 5, 6].map(sug) }),
    setLabels: vi.fn().mockResolvedValue({ updated: 1 }),
    predictions: vi.fn().mockResolvedValue({
      model_version: 'b1.c1',
      items: [{ image_id: 1, top_k: [{ class_id: 7, class_name: 'cat', probability: 0.9 }] }],
    }),
    similar: vi.fn().mockImplementation(async (_p: number, id: number) => ({
      backbone_version: 1,
      items: [
        { image: img(id + 100), score: 0.9 },
        { image: img(id + 200, 8), score: 0.8 },
      ],
    })),
  };
  return Object.assign(d, over) as typeof d;
}

describe('AnnotateSession', () => {
  it('labels, auto-advances, and undo restores the previous label and shows that image again', async () => {
    const d = deps();
    const s = new AnnotateSession(3, d);
    await s.start();
    expect(s.current?.image.id).toBe(1);
    expect(s.guesses[1]?.[0]?.class_name).toBe('cat');
    expect(s.guessStatus).toBe('ok');

    s.label(7);
    expect(s.current?.image.id).toBe(2);
    s.label(8);
    expect(s.current?.image.id).toBe(3);
    await s.settled();
    expect(d.setLabels.mock.calls).toEqual([
      [3, [1], 7],
      [3, [2], 8],
    ]);

    await s.undoLast();
    expect(s.current?.image.id).toBe(2);
    expect(s.classOf(img(2))).toBeNull();
    expect(d.setLabels).toHaveBeenLastCalledWith(3, [2], null);
    await s.undoLast();
    expect(s.current?.image.id).toBe(1);
    expect(s.labeledCount).toBe(0);
    await s.undoLast();
    expect(s.notice).toBe('Nothing to undo.');
  });

  it('skips, goes back, and labels selected neighbours together with the image', async () => {
    const d = deps();
    const s = new AnnotateSession(3, d);
    await s.start();
    s.skip();
    expect(s.current?.image.id).toBe(2);
    expect(s.skipped).toEqual([1]);
    s.back();
    expect(s.current?.image.id).toBe(1);
    s.skip();
    await vi.waitFor(() => expect(s.neighbours.map((h) => h.image.id)).toEqual([102, 202]));
    s.toggleNeighbour(102);
    s.toggleNeighbour(202);
    s.label(7);
    await s.settled();
    expect(d.setLabels).toHaveBeenLastCalledWith(3, [2, 102, 202], 7);
    await s.undoLast();
    // Image 2 and neighbour 102 were unlabeled, neighbour 202 had class 8.
    expect(d.setLabels.mock.calls.slice(-2)).toEqual([
      [3, [2, 102], null],
      [3, [202], 8],
    ]);
  });

  it('hides the guess before a classifier exists (409) and rolls back a failed label', async () => {
    const d = deps({
      predictions: vi.fn().mockRejectedValue(new ApiError(409, 'no classifier')),
      setLabels: vi.fn().mockRejectedValue(new ApiError(404, 'Unknown class')),
    });
    const s = new AnnotateSession(3, d);
    await s.start();
    expect(s.guessStatus).toBe('no-model');
    s.label(99);
    await s.settled();
    await vi.waitFor(() => expect(s.error).toBe('Could not label i1.png: Unknown class'));
    expect(s.classOf(img(1))).toBeNull();
    expect(s.undoSize).toBe(0);
  });

  it('shows the guess of a classifier trained after the session started (an automatic retrain)', async () => {
    const predictions = vi
      .fn()
      .mockRejectedValueOnce(new ApiError(409, 'no classifier'))
      .mockResolvedValue({
        model_version: 'b1.c1',
        items: [{ image_id: 2, top_k: [{ class_id: 7, class_name: 'cat', probability: 0.8 }] }],
      });
    const s = new AnnotateSession(3, deps({ predictions }));
    await s.start();
    expect(s.guessStatus).toBe('no-model');
    s.label(7);
    await s.settled();
    s.modelChanged();
    await vi.waitFor(() => expect(s.guessStatus).toBe('ok'));
    expect(s.guesses[2]?.[0]?.class_name).toBe('cat');
    expect(predictions).toHaveBeenLastCalledWith(3, [2, 3, 4, 5, 6]);
  });

  it('fetches more when the queue runs low and reports when nothing is left', async () => {
    const suggestions = vi
      .fn()
      .mockResolvedValueOnce({ strategy: 'random', items: [sug(1), sug(2)] })
      .mockResolvedValueOnce({ strategy: 'random', items: [sug(2), sug(3)] })
      .mockResolvedValue({ strategy: 'random', items: [sug(3)] });
    const s = new AnnotateSession(3, deps({ suggestions }));
    await s.start();
    s.label(7);
    await vi.waitFor(() => expect(s.queue.map((q) => q.image.id)).toEqual([1, 2, 3]));
    s.label(7);
    s.label(7);
    await vi.waitFor(() => expect(s.exhausted).toBe(true));
    expect(s.current).toBeUndefined();
  });
});
