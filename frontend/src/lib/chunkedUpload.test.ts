import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, type UploadSession } from './api';
import {
  backoffMs,
  discardSessions,
  FileUploadError,
  isRetryable,
  nextChunk,
  planChunks,
  uploadFiles,
  type NamedBlob,
  type SessionTransport,
  type UploadProgress,
} from './chunkedUpload';

/** An in-memory server that keeps the protocol: chunks must start at `received`, else 409. */
class FakeServer implements SessionTransport {
  readonly sessions = new Map<string, { name: string; size: number; bytes: Uint8Array; received: number }>();
  readonly calls: string[] = [];
  /** Throw this before handling the n-th PUT (1-based), once. */
  readonly failPut = new Map<number, ApiError>();
  /** Accept the n-th PUT on the server but lose the answer (a dropped connection after the write). */
  readonly loseAnswerOfPut = new Set<number>();
  failGets = 0;
  private puts = 0;
  private nextId = 1;

  constructor(readonly chunkSize: number) {}

  private state(id: string): UploadSession {
    const s = this.sessions.get(id);
    if (!s) throw new ApiError(404, 'upload session not found');
    return { id, filename: s.name, size: s.size, received: s.received, chunk_size: this.chunkSize, expires_at: '' };
  }

  async open(filename: string, size: number): Promise<UploadSession> {
    const id = `u${this.nextId++}`;
    this.calls.push(`open ${filename}`);
    this.sessions.set(id, { name: filename, size, bytes: new Uint8Array(size), received: 0 });
    return this.state(id);
  }

  async get(id: string): Promise<UploadSession> {
    this.calls.push(`get ${id}`);
    if (this.failGets > 0) {
      this.failGets -= 1;
      throw new ApiError(0, 'Network error');
    }
    return this.state(id);
  }

  async putChunk(
    id: string,
    chunk: Blob,
    start: number,
    total: number,
    onProgress?: (loaded: number) => void,
  ): Promise<UploadSession> {
    this.puts += 1;
    this.calls.push(`put ${id} ${start}`);
    const failure = this.failPut.get(this.puts);
    if (failure) {
      this.failPut.delete(this.puts);
      throw failure;
    }
    const s = this.sessions.get(id);
    if (!s) throw new ApiError(404, 'upload session not found');
    if (total !== s.size || start + chunk.size > s.size) throw new ApiError(416, 'past the end');
    if (chunk.size > this.chunkSize) throw new ApiError(413, 'chunk too large');
    if (start !== s.received) throw new ApiError(409, `the chunk must start at byte ${s.received}`);
    s.bytes.set(new Uint8Array(await chunk.arrayBuffer()), start);
    s.received += chunk.size;
    onProgress?.(chunk.size);
    if (this.loseAnswerOfPut.delete(this.puts)) throw new ApiError(0, 'Network error');
    return this.state(id);
  }

  async cancel(id: string): Promise<void> {
    this.calls.push(`cancel ${id}`);
    if (!this.sessions.delete(id)) throw new ApiError(404, 'upload session not found');
  }

  bytesOf(id: string): Uint8Array {
    return this.sessions.get(id)!.bytes;
  }
}

function file(name: string, size: number, seed = 1): File {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) % 251;
  return new File([bytes], name);
}

async function contentOf(blob: NamedBlob): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(0, blob.size).arrayBuffer());
}

const noWait = { sleep: async () => {}, progressIntervalMs: 0 };

describe('chunk planning', () => {
  it('covers the file exactly once in chunks of at most the chunk size', () => {
    expect(planChunks(10, 4)).toEqual([
      { start: 0, end: 4 },
      { start: 4, end: 8 },
      { start: 8, end: 10 },
    ]);
    expect(planChunks(8, 4)).toEqual([
      { start: 0, end: 4 },
      { start: 4, end: 8 },
    ]);
    expect(planChunks(3, 100)).toEqual([{ start: 0, end: 3 }]);
  });

  it('resumes from any offset the server reports, even one that is not a chunk boundary', () => {
    expect(planChunks(10, 4, 5)).toEqual([
      { start: 5, end: 9 },
      { start: 9, end: 10 },
    ]);
    expect(nextChunk(10, 10, 4)).toBeNull();
    expect(nextChunk(0, 10, 4)).toEqual({ start: 0, end: 4 });
    expect(() => nextChunk(0, 10, 0)).toThrow(RangeError);
  });
});

describe('retry policy', () => {
  it('backs off exponentially up to a cap', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 100, 500))).toEqual([100, 200, 400, 500]);
    expect(backoffMs(30)).toBe(15_000);
  });

  it('retries dropped connections, busy servers and offset conflicts, not mistakes', () => {
    for (const status of [0, 409, 429, 502, 503]) expect(isRetryable(new ApiError(status, 'x'))).toBe(true);
    for (const status of [400, 401, 404, 413, 416, 422]) expect(isRetryable(new ApiError(status, 'x'))).toBe(false);
    expect(isRetryable(new Error('boom'))).toBe(false);
  });
});

describe('uploadFiles', () => {
  it('sends every byte in server-sized chunks and reports per-file and overall progress', async () => {
    const server = new FakeServer(4);
    const files = [file('a.png', 10), file('b.zip', 7, 2)];
    const reports: UploadProgress[] = [];
    const ids = await uploadFiles(files, server, { ...noWait, concurrency: 1, onProgress: (p) => reports.push(p) });

    expect(ids).toEqual(['u1', 'u2']);
    expect(server.bytesOf('u1')).toEqual(await contentOf(files[0]!));
    expect(server.bytesOf('u2')).toEqual(await contentOf(files[1]!));
    expect(server.calls.filter((c) => c.startsWith('put'))).toEqual([
      'put u1 0', 'put u1 4', 'put u1 8', 'put u2 0', 'put u2 4',
    ]);
    const overall = reports.map((r) => r.sent);
    expect(overall[0]).toBe(0);
    expect(overall.at(-1)).toBe(17);
    expect(overall.every((v, i) => i === 0 || v >= overall[i - 1]!)).toBe(true);
    const last = reports.at(-1)!;
    expect(last.total).toBe(17);
    expect(last.files.map((f) => [f.name, f.sent, f.state])).toEqual([
      ['a.png', 10, 'uploaded'],
      ['b.zip', 7, 'uploaded'],
    ]);
  });

  it('after a dropped chunk asks the server where to resume, waits with backoff, and completes', async () => {
    const server = new FakeServer(4);
    server.failPut.set(2, new ApiError(0, 'Network error'));
    server.failGets = 1;
    const waits: number[] = [];
    const f = file('a.png', 10);
    const ids = await uploadFiles([f], server, {
      progressIntervalMs: 0,
      sleep: async (ms) => void waits.push(ms),
      backoff: (n) => n * 1000,
    });
    expect(server.bytesOf(ids[0]!)).toEqual(await contentOf(f));
    expect(waits).toEqual([1000, 2000]); // after the chunk, then longer after the GET failed too
    expect(server.calls).toEqual([
      'open a.png', 'put u1 0', 'put u1 4', 'get u1', 'get u1', 'put u1 4', 'put u1 8',
    ]);
  });

  it('after a lost answer continues at the server\'s offset instead of sending the chunk again', async () => {
    const server = new FakeServer(4);
    server.loseAnswerOfPut.add(1);
    const waits: number[] = [];
    const f = file('a.png', 10);
    await uploadFiles([f], server, { progressIntervalMs: 0, sleep: async (ms) => void waits.push(ms) });
    // The lost answer costs one pause and a GET; the server's offset (4) is where sending continues.
    expect(server.calls).toEqual(['open a.png', 'put u1 0', 'get u1', 'put u1 4', 'put u1 8']);
    expect(waits).toHaveLength(1);
    expect(server.bytesOf('u1')).toEqual(await contentOf(f));
  });

  it('a 409 conflict resyncs from GET without waiting', async () => {
    const server = new FakeServer(4);
    server.failPut.set(2, new ApiError(409, 'the chunk must start at byte 4'));
    const waits: number[] = [];
    await uploadFiles([file('a.png', 10)], server, { progressIntervalMs: 0, sleep: async (ms) => void waits.push(ms) });
    expect(waits).toEqual([]);
    expect(server.calls).toEqual(['open a.png', 'put u1 0', 'put u1 4', 'get u1', 'put u1 4', 'put u1 8']);
  });

  it('gives up after too many failures in a row, keeping the session so a second call resumes it', async () => {
    const server = new FakeServer(4);
    for (let n = 2; n <= 4; n++) server.failPut.set(n, new ApiError(503, 'Service unavailable'));
    const sessions = new Map<NamedBlob, string>();
    const f = file('big.zip', 10);
    const first = uploadFiles([f], server, { ...noWait, maxRetries: 2, sessions });
    await expect(first).rejects.toThrow(FileUploadError);
    await expect(first).rejects.toThrow('big.zip: Service unavailable');
    expect(server.sessions.get('u1')!.received).toBe(4);

    const reports: UploadProgress[] = [];
    const ids = await uploadFiles([f], server, { ...noWait, sessions, onProgress: (p) => reports.push(p) });
    expect(ids).toEqual(['u1']); // resumed, not opened again
    expect(server.calls.filter((c) => c.startsWith('open'))).toHaveLength(1);
    expect(reports[1]!.files[0]!.sent).toBe(4);
    expect(server.bytesOf('u1')).toEqual(await contentOf(f));
  });

  it('stops at once on an error that retrying cannot fix', async () => {
    const server = new FakeServer(4);
    server.failPut.set(1, new ApiError(413, 'a chunk may hold at most 4 bytes'));
    const reports: UploadProgress[] = [];
    await expect(
      uploadFiles([file('a.png', 10)], server, { ...noWait, onProgress: (p) => reports.push(p) }),
    ).rejects.toThrow('a.png: a chunk may hold at most 4 bytes');
    expect(server.calls).toEqual(['open a.png', 'put u1 0']);
    expect(reports.at(-1)!.files[0]).toMatchObject({ state: 'failed', error: 'a chunk may hold at most 4 bytes' });
  });

  it('opens a new session when the remembered one expired', async () => {
    const server = new FakeServer(4);
    const f = file('a.png', 5);
    const sessions = new Map<NamedBlob, string>([[f, 'gone']]);
    const ids = await uploadFiles([f], server, { ...noWait, sessions });
    expect(ids).toEqual(['u1']);
    expect(sessions.get(f)).toBe('u1');
    expect(server.calls.slice(0, 2)).toEqual(['get gone', 'open a.png']);
  });

  it('cancel aborts the upload; discardSessions deletes what was opened, tolerating gone ones', async () => {
    const server = new FakeServer(4);
    const stop = new AbortController();
    const sessions = new Map<NamedBlob, string>();
    const slow: SessionTransport = {
      open: server.open.bind(server),
      get: server.get.bind(server),
      cancel: server.cancel.bind(server),
      putChunk: (id, chunk, start, total, onProgress, signal) =>
        new Promise((resolve, reject) => {
          signal?.addEventListener('abort', () => reject(new DOMException('cancelled', 'AbortError')));
          if (start === 4) stop.abort();
          else resolve(server.putChunk(id, chunk, start, total, onProgress));
        }),
    };
    const upload = uploadFiles([file('a.png', 10), file('b.png', 3)], slow, {
      ...noWait,
      concurrency: 1,
      sessions,
      signal: stop.signal,
    });
    await expect(upload).rejects.toMatchObject({ name: 'AbortError' });
    expect([...sessions.values()]).toEqual(['u1']); // b.png never started
    await discardSessions([...sessions.values(), 'already-gone'], server);
    expect(server.sessions.size).toBe(0);
  });
});

describe('progress reports', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('are rate-limited, but the latest state always arrives', async () => {
    vi.useFakeTimers();
    const server = new FakeServer(4);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const paused: SessionTransport = {
      open: server.open.bind(server),
      get: server.get.bind(server),
      cancel: server.cancel.bind(server),
      // The second chunk waits, so the first chunk's progress must be reported while nothing else happens.
      putChunk: async (id, chunk, start, total, onProgress) => {
        if (start === 4) await gate;
        return server.putChunk(id, chunk, start, total, onProgress);
      },
    };
    const reports: UploadProgress[] = [];
    const upload = uploadFiles([file('a.png', 8)], paused, {
      progressIntervalMs: 1000,
      onProgress: (p) => reports.push(p),
    });
    await vi.advanceTimersByTimeAsync(0);
    const before = reports.length;
    expect(reports.at(-1)!.sent).toBe(0); // "uploading" was reported at once; the chunk's 4 bytes wait
    await vi.advanceTimersByTimeAsync(1000);
    expect(reports.length).toBe(before + 1);
    expect(reports.at(-1)!.sent).toBe(4);
    release();
    await vi.advanceTimersByTimeAsync(0);
    await upload;
    expect(reports.at(-1)!.sent).toBe(8);
    expect(vi.getTimerCount()).toBe(0);
  });
});
