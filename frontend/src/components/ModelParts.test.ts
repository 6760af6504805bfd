import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import ConfusionMatrix from './ConfusionMatrix.svelte';
import CurlExample from './CurlExample.svelte';
import type { Class, ClassificationReport } from '../lib/api';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const classes: Class[] = [
  { id: 1, name: '<b>cat</b>', color: '#4e79a7', hotkey: '1' },
  { id: 2, name: 'dog', color: '#f28e2b', hotkey: '2' },
];
const report: ClassificationReport = {
  accuracy: 0.75,
  classes: [1, 2],
  precision: [1, 0.5],
  recall: [0.5, 1],
  support: [2, 2],
  confusion: [
    [1, 1],
    [0, 2],
  ],
};

describe('ConfusionMatrix', () => {
  it('shows counts row by row with class names as text and shades by the row share', () => {
    render(ConfusionMatrix, { props: { report, classes } });
    const cells = screen.getAllByTestId('confusion-cell');
    expect(cells.map((c) => c.getAttribute('data-count'))).toEqual(['1', '1', '0', '2']);
    const table = screen.getByTestId('confusion-matrix');
    expect(table.querySelector('b')).toBeNull(); // a hostile class name is shown, never parsed as HTML
    expect(table.querySelector('thead')!.textContent).toContain('<b>cat</b>');
    expect(cells[3]!.style.background).toBe('rgb(46, 125, 50)');
    expect(cells[1]!.style.background).toBe('rgba(198, 40, 40, 0.56)');
    expect(['', 'transparent']).toContain(cells[2]!.style.background); // an empty cell is not shaded
  });
});

describe('CurlExample', () => {
  it('fills a newly created token into the example once', async () => {
    const fetchMock = vi.fn().mockResolvedValue(
      new Response(JSON.stringify({ id: 5, name: 'curl example: P', created_at: '', token: 'llt_secret42' }), {
        status: 201,
        headers: { 'Content-Type': 'application/json' },
      }),
    );
    vi.stubGlobal('fetch', fetchMock);
    render(CurlExample, { props: { projectId: 7, projectName: 'P' } });
    const example = screen.getByTestId('curl-example');
    expect(example.textContent).toContain('Bearer $TOKEN');
    expect(example.textContent).toContain('/api/v1/projects/7/predict?top_k=3');

    await fireEvent.click(screen.getByTestId('curl-token-create'));
    await vi.waitFor(() => expect(example.textContent).toContain('Bearer llt_secret42'));
    const [url, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('/api/v1/tokens');
    expect(init.method).toBe('POST');
    expect(screen.queryByTestId('curl-token-create')).toBeNull();
    expect(screen.getByTestId('curl-token-note').textContent).toContain('shown only now');
  });

  it('says why when the token cannot be created', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(new Response(JSON.stringify({ detail: 'not logged in' }), { status: 401 })));
    render(CurlExample, { props: { projectId: 7, projectName: 'P' } });
    await fireEvent.click(screen.getByTestId('curl-token-create'));
    await vi.waitFor(() => expect(screen.getByTestId('error').textContent).toContain('Could not create a token: not logged in'));
    expect(screen.getByTestId('curl-example').textContent).toContain('Bearer $TOKEN');
  });
});
