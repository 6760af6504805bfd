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
    await waitFor(() => expect(onerror).toHaveBeenLastCalledWith('Unknown class'));
  });
});
