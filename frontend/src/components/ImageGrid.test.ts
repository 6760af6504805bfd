import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import ImageGrid from './ImageGrid.svelte';
import type { Class, Image } from '../lib/api';

const classes: Class[] = [
  { id: 1, name: 'cat', color: '#ff0000', hotkey: '1' },
  { id: 2, name: 'dog', color: '#00ff00', hotkey: '2' },
];

function img(id: number, class_id: number | null = null): Image {
  return {
    id,
    filename: `img${id}.jpg`,
    width: 64,
    height: 64,
    class_id,
    thumbnail_url: `/api/v1/projects/5/images/${id}/thumbnail`,
    file_url: `/api/v1/projects/5/images/${id}/file`,
  };
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('ImageGrid', () => {
  it('selects by click, labels the selection with a hotkey via PUT /labels', async () => {
    const fetchMock = vi.fn().mockResolvedValue(
      new Response(JSON.stringify({ updated: 2 }), { status: 200, headers: { 'Content-Type': 'application/json' } }),
    );
    vi.stubGlobal('fetch', fetchMock);
    const onlabeled = vi.fn();
    const onerror = vi.fn();
    render(ImageGrid, {
      props: {
        items: [{ image: img(10) }, { image: img(11) }, { image: img(12, 1) }],
        classes,
        projectId: 5,
        cardTestId: 'suggestion',
        onlabeled,
        onerror,
      },
    });

    const cards = screen.getAllByTestId('suggestion');
    expect(cards.map((c) => c.getAttribute('data-image-id'))).toEqual(['10', '11', '12']);
    expect(cards[0]!.querySelector('img')?.getAttribute('alt')).toBe('img10.jpg');
    expect(cards[2]!.textContent).toContain('cat');

    await fireEvent.click(cards[0]!);
    await fireEvent.click(cards[1]!.querySelector('img')!);
    await fireEvent.click(cards[0]!); // toggles off
    await fireEvent.click(cards[0]!); // and on again
    expect(cards.map((c) => c.getAttribute('data-selected'))).toEqual(['true', 'true', 'false']);

    await fireEvent.keyDown(window, { key: '2' });
    await waitFor(() => expect(onlabeled).toHaveBeenCalledWith([10, 11], 2));
    const [url, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('/api/v1/projects/5/labels');
    expect(init.method).toBe('PUT');
    expect(JSON.parse(init.body as string)).toEqual({ image_ids: [10, 11], class_id: 2 });
    await waitFor(() => expect(cards.every((c) => c.getAttribute('data-selected') === 'false')).toBe(true));
  });

  it('reports API errors through onerror', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn().mockResolvedValue(new Response(JSON.stringify({ detail: 'Unknown class' }), { status: 404 })),
    );
    const onerror = vi.fn();
    render(ImageGrid, {
      props: { items: [{ image: img(1) }], classes, projectId: 5, onlabeled: vi.fn(), onerror },
    });
    await fireEvent.click(screen.getByTestId('image-card'));
    await fireEvent.click(screen.getAllByTestId('class-button')[0]!);
    await waitFor(() => expect(onerror).toHaveBeenLastCalledWith('Could not label 1 image: Unknown class'));
  });

  it('shift-click selects a range from the anchor; Ctrl+Z undoes the last labeling', async () => {
    const fetchMock = vi.fn().mockImplementation(
      async () => new Response(JSON.stringify({ updated: 1 }), { status: 200, headers: { 'Content-Type': 'application/json' } }),
    );
    vi.stubGlobal('fetch', fetchMock);
    const onlabeled = vi.fn();
    const items = [img(1), img(2, 2), img(3), img(4), img(5), img(6)].map((image) => ({ image }));
    render(ImageGrid, { props: { items, classes, projectId: 5, onlabeled, onerror: vi.fn() } });
    const cards = () => screen.getAllByTestId('image-card');

    await fireEvent.click(cards()[1]!);
    await fireEvent.click(cards()[4]!, { shiftKey: true });
    expect(cards().map((c) => c.getAttribute('data-selected'))).toEqual(['false', 'true', 'true', 'true', 'true', 'false']);
    expect(screen.getByTestId('selection-count').textContent).toContain('4 selected');
    // A shift-click backwards from the same anchor adds that range too.
    await fireEvent.click(cards()[0]!, { shiftKey: true });
    expect(cards().filter((c) => c.getAttribute('data-selected') === 'true')).toHaveLength(5);

    await fireEvent.keyDown(window, { key: '1' });
    await waitFor(() => expect(onlabeled).toHaveBeenCalledWith([1, 2, 3, 4, 5], 1));
    await fireEvent.keyDown(window, { key: 'z', ctrlKey: true });
    // Undo restores image 2 to class 2 and the others to unlabeled: one PUT per previous class.
    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(3));
    const bodies = fetchMock.mock.calls.map(([, init]) => JSON.parse((init as RequestInit).body as string));
    expect(bodies[1]).toEqual({ image_ids: [1, 3, 4, 5], class_id: null });
    expect(bodies[2]).toEqual({ image_ids: [2], class_id: 2 });
    expect(onlabeled).toHaveBeenCalledWith([2], 2);
  });

  it('renders a bounded number of DOM nodes for 10,000 images and asks for the visible range', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => img(i + 1));
    const onrange = vi.fn();
    const { container } = render(ImageGrid, {
      props: { total: many.length, itemAt: (i: number) => many[i], classes, projectId: 5, onlabeled: vi.fn(), onerror: vi.fn(), onrange },
    });
    const grid = screen.getByTestId('image-grid');
    const cards = screen.getAllByTestId('image-card');
    const nodes = container.querySelectorAll('*').length;
    // jsdom: 1200 px wide (7 columns), 768 px tall -> 4 visible rows + 2 overscan rows below.
    expect(cards.length).toBeLessThanOrEqual(7 * 8);
    expect(nodes).toBeLessThan(1000);
    console.info(`virtualised grid, 10000 images: ${cards.length} cards, ${nodes} DOM nodes in the component`);
    expect(Number(grid.getAttribute('data-count'))).toBe(10_000);
    expect(parseFloat(grid.style.height)).toBeGreaterThan(10_000 / 7 * 200);
    await waitFor(() => expect(onrange).toHaveBeenCalled());
    const [start, end] = onrange.mock.calls.at(-1)!;
    expect(start).toBe(0);
    expect(end).toBe(cards.length);
  });
});
