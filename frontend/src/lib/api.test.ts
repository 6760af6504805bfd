import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, buildUrl, detailToMessage, errorFromBody, onUnauthorized, readCookie } from './api';

function jsonResponse(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

function clearCookies() {
  for (const c of document.cookie.split(';')) {
    const name = c.split('=')[0]?.trim();
    // A __Host- cookie is only replaced by one that is Secure too.
    const secure = name?.startsWith('__Host-') ? '; secure' : '';
    if (name) document.cookie = `${name}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/${secure}`;
  }
}

describe('api client transport', () => {
  let fetchMock: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    clearCookies();
    fetchMock = vi.fn();
    vi.stubGlobal('fetch', fetchMock);
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    onUnauthorized(null);
  });

  function lastCall(): { url: string; init: RequestInit; headers: Record<string, string> } {
    const [url, init] = fetchMock.mock.calls.at(-1) as [string, RequestInit];
    return { url, init, headers: init.headers as Record<string, string> };
  }

  it('sends X-CSRF-Token from the ll_csrf cookie on state-changing requests', async () => {
    document.cookie = 'other=1; path=/';
    document.cookie = 'll_csrf=tok%2Fen123; path=/';
    fetchMock.mockResolvedValue(jsonResponse(201, { id: 1, name: 'P', classes: [] }));

    await api.createProject('P');
    const { url, init, headers } = lastCall();
    expect(url).toBe('/api/v1/projects');
    expect(init.method).toBe('POST');
    expect(init.credentials).toBe('same-origin');
    expect(headers['X-CSRF-Token']).toBe('tok/en123');
    expect(headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(init.body as string)).toEqual({ name: 'P' });

    fetchMock.mockResolvedValue(jsonResponse(200, { updated: 2 }));
    await api.setLabels(1, [3, 4], null);
    expect(lastCall().init.method).toBe('PUT');
    expect(lastCall().headers['X-CSRF-Token']).toBe('tok/en123');
    expect(JSON.parse(lastCall().init.body as string)).toEqual({ image_ids: [3, 4], class_id: null });

    fetchMock.mockResolvedValue(new Response(null, { status: 204 }));
    await expect(api.revokeToken(9)).resolves.toBeUndefined();
    expect(lastCall().url).toBe('/api/v1/tokens/9');
    expect(lastCall().headers['X-CSRF-Token']).toBe('tok/en123');
  });

  it('sends X-CSRF-Token from the __Host-ll_csrf cookie of a server behind HTTPS', async () => {
    document.cookie = '__Host-ll_csrf=secure123; secure; path=/';
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }));
    await api.changePassword('old one', 'new one');
    expect(lastCall().url).toBe('/api/v1/auth/password');
    expect(lastCall().headers['X-CSRF-Token']).toBe('secure123');
    expect(JSON.parse(lastCall().init.body as string)).toEqual({ current_password: 'old one', new_password: 'new one' });
  });

  it('does not send the CSRF header on GET, and sends credentials', async () => {
    document.cookie = 'll_csrf=abc; path=/';
    fetchMock.mockResolvedValue(jsonResponse(200, { items: [], total: 0 }));
    await api.listImages(5, { labeled: false, offset: 100, limit: 100 });
    const { url, init, headers } = lastCall();
    expect(url).toBe('/api/v1/projects/5/images?labeled=false&offset=100&limit=100');
    expect(init.method).toBe('GET');
    expect(init.credentials).toBe('same-origin');
    expect(headers['X-CSRF-Token']).toBeUndefined();
  });

  it('throws ApiError with the string detail', async () => {
    fetchMock.mockResolvedValue(jsonResponse(409, { detail: 'A class with this name exists' }));
    const err = await api.addClass(1, 'cat').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
    expect((err as ApiError).message).toBe('A class with this name exists');
  });

  it("turns FastAPI's 422 list into readable text", async () => {
    fetchMock.mockResolvedValue(
      jsonResponse(422, {
        detail: [
          { type: 'value_error', loc: ['body', 'email'], msg: 'value is not a valid email address', input: 'x' },
          { type: 'string_too_short', loc: ['body', 'password'], msg: 'String should have at least 8 characters' },
        ],
      }),
    );
    const err = (await api.signup('x', 'short').catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.message).toBe(
      'email: value is not a valid email address; password: String should have at least 8 characters',
    );
  });

  it('reports non-JSON errors and network failures', async () => {
    fetchMock.mockResolvedValue(new Response('<html><body>Bad Gateway</body></html>', { status: 502 }));
    const err = (await api.listProjects().catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(502);
    expect(err.message).toBe('Bad Gateway');

    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
    const net = (await api.listProjects().catch((e: unknown) => e)) as ApiError;
    expect(net).toBeInstanceOf(ApiError);
    expect(net.status).toBe(0);
    expect(net.message).toMatch(/Network error/);
  });

  it('calls the unauthorized hook on 401, except for auth endpoints', async () => {
    const hook = vi.fn();
    onUnauthorized(hook);
    fetchMock.mockResolvedValue(jsonResponse(401, { detail: 'Invalid email or password' }));
    await expect(api.login('a@b.c', 'wrongpass')).rejects.toThrow('Invalid email or password');
    expect(hook).not.toHaveBeenCalled();
    fetchMock.mockResolvedValue(jsonResponse(401, { detail: 'Not authenticated' }));
    await expect(api.listProjects()).rejects.toBeInstanceOf(ApiError);
    expect(hook).toHaveBeenCalledTimes(1);
  });

  it('sends multipart predictions with the files field and top_k', async () => {
    document.cookie = 'll_csrf=abc; path=/';
    fetchMock.mockResolvedValue(
      jsonResponse(200, { model_version: 'b1.c1', backbone_version: 1, classifier_version: 1, predictions: [] }),
    );
    const files = [new File(['a'], 'a.png', { type: 'image/png' }), new File(['b'], 'b.png', { type: 'image/png' })];
    await api.predict(2, files, 5);
    const { url, init, headers } = lastCall();
    expect(url).toBe('/api/v1/projects/2/predict?top_k=5');
    expect(headers['X-CSRF-Token']).toBe('abc');
    expect(headers['Content-Type']).toBeUndefined(); // the browser sets the multipart boundary
    const form = init.body as FormData;
    expect(form.getAll('files').map((f) => (f as File).name)).toEqual(['a.png', 'b.png']);
  });
});

describe('upload with progress (XMLHttpRequest)', () => {
  class FakeXHR {
    static last: FakeXHR | null = null;
    method = '';
    url = '';
    headers: Record<string, string> = {};
    status = 0;
    statusText = '';
    responseText = '';
    body: unknown = null;
    upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
    onload: (() => void) | null = null;
    onerror: (() => void) | null = null;
    onabort: (() => void) | null = null;
    constructor() {
      FakeXHR.last = this;
    }
    open(method: string, url: string) {
      this.method = method;
      this.url = url;
    }
    setRequestHeader(k: string, v: string) {
      this.headers[k] = v;
    }
    send(body: unknown) {
      this.body = body;
    }
    abort() {
      this.onabort?.();
    }
    respond(status: number, body: unknown) {
      this.status = status;
      this.responseText = JSON.stringify(body);
      this.onload?.();
    }
  }

  beforeEach(() => {
    clearCookies();
    vi.stubGlobal('XMLHttpRequest', FakeXHR);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('posts files with the CSRF header, reports progress and resolves with the job', async () => {
    document.cookie = 'll_csrf=xyz; path=/';
    const progress: number[] = [];
    const { promise } = api.upload(7, [new File(['x'], 'cat.jpg')], (f) => progress.push(f));
    const xhr = FakeXHR.last!;
    expect(xhr.method).toBe('POST');
    expect(xhr.url).toBe('/api/v1/projects/7/uploads');
    expect(xhr.headers['X-CSRF-Token']).toBe('xyz');
    expect((xhr.body as FormData).getAll('files')).toHaveLength(1);
    xhr.upload.onprogress?.({ lengthComputable: true, loaded: 50, total: 200 } as ProgressEvent);
    xhr.respond(202, { id: 3, kind: 'ingest', state: 'queued' });
    await expect(promise).resolves.toMatchObject({ id: 3, kind: 'ingest' });
    expect(progress).toEqual([0.25, 1]);
  });

  it('rejects with ApiError from the detail', async () => {
    const { promise } = api.upload(7, [new File(['x'], 'big.zip')]);
    FakeXHR.last!.respond(413, { detail: 'Upload larger than 2 GB' });
    await expect(promise).rejects.toMatchObject({ status: 413, message: 'Upload larger than 2 GB' });
  });
});

describe('helpers', () => {
  it('buildUrl skips empty query values', () => {
    expect(buildUrl('/projects/1/images', { labeled: undefined, class_id: null, offset: 0, limit: 100 })).toBe(
      '/api/v1/projects/1/images?offset=0&limit=100',
    );
  });

  it('detailToMessage handles odd shapes', () => {
    expect(detailToMessage(undefined, 500)).toBe('Server error (HTTP 500)');
    expect(detailToMessage([{ loc: ['query', 'k'], msg: 'must be > 0' }], 422)).toBe('k: must be > 0');
    expect(detailToMessage([{ msg: 'bad' }], 422)).toBe('bad');
    expect(detailToMessage({ message: 'nope' }, 400)).toBe('nope');
    expect(errorFromBody(404, '{"detail":"Project not found"}').message).toBe('Project not found');
    expect(errorFromBody(500, '').message).toBe('Server error (HTTP 500)');
  });

  it('readCookie decodes values', () => {
    clearCookies();
    document.cookie = 'll_csrf=a%20b; path=/';
    expect(readCookie('ll_csrf')).toBe('a b');
    expect(readCookie('missing')).toBeNull();
  });
});
