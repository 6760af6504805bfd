// Resumable uploads in chunks (docs/api.md, "upload sessions"): the planning of chunks, resuming at the
// server's offset after a failure, retries with exponential backoff and the progress of every file.
// The HTTP calls come in through `SessionTransport`, so the logic runs against a fake in tests.

import { ApiError, errorMessage, type UploadSession } from './api';
import { uploadPath } from './files';
import { isAbort, sleep as abortableSleep } from './jobs';

/** What the uploader needs of the API (api.ts `uploadSessions`, bound to a project). */
export interface SessionTransport {
  open(filename: string, size: number): Promise<UploadSession>;
  get(uploadId: string): Promise<UploadSession>;
  putChunk(
    uploadId: string,
    chunk: Blob,
    start: number,
    total: number,
    onProgress?: (loaded: number) => void,
    signal?: AbortSignal,
  ): Promise<UploadSession>;
  cancel(uploadId: string): Promise<void>;
}

/** A file to send: a browser File, or any Blob with a name. */
export interface NamedBlob {
  readonly name: string;
  /** The path below a picked folder, when the browser gives one (class folders become classes). */
  readonly webkitRelativePath?: string;
  readonly size: number;
  slice(start?: number, end?: number): Blob;
}

/** Bytes `start` (inclusive) to `end` (exclusive) of a file. */
export interface ByteRange {
  start: number;
  end: number;
}

export type FileUploadState = 'waiting' | 'uploading' | 'retrying' | 'uploaded' | 'failed';

export interface FileProgress {
  name: string;
  size: number;
  /** Bytes the server holds plus those of the chunk in flight. */
  sent: number;
  state: FileUploadState;
  error?: string;
}

export interface UploadProgress {
  files: FileProgress[];
  sent: number;
  total: number;
}

export interface UploadOptions {
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
  /** Upload sessions by file, kept by the caller: a second call resumes them instead of starting over. */
  sessions?: Map<NamedBlob, string>;
  /** Failures in a row (per file) before giving up. */
  maxRetries?: number;
  /** Files sent at the same time. */
  concurrency?: number;
  /** Milliseconds to wait before the n-th retry in a row (n >= 1). */
  backoff?: (attempt: number) => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** At most one progress report per this many milliseconds, besides every change of a file's state. */
  progressIntervalMs?: number;
  now?: () => number;
}

/** At most this many upload sessions per complete request (the API's limit). */
export const MAX_COMPLETE_SESSIONS = 10_000;

/** The next chunk to send when the server holds `received` bytes of `size`; null when all are there. */
export function nextChunk(received: number, size: number, chunkSize: number): ByteRange | null {
  if (chunkSize < 1) throw new RangeError('the chunk size must be at least one byte');
  if (received >= size) return null;
  const start = Math.max(0, received);
  return { start, end: Math.min(size, start + chunkSize) };
}

/** Every chunk from `from` to the end of a `size`-byte file. */
export function planChunks(size: number, chunkSize: number, from = 0): ByteRange[] {
  const chunks: ByteRange[] = [];
  for (let range = nextChunk(from, size, chunkSize); range; range = nextChunk(range.end, size, chunkSize)) {
    chunks.push(range);
  }
  return chunks;
}

/** Exponential backoff: `baseMs`, 2x, 4x, ... capped at `maxMs`. */
export function backoffMs(attempt: number, baseMs = 500, maxMs = 15_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

const RETRY_STATUSES = new Set([0, 408, 409, 425, 429, 500, 502, 503, 504]);

/** Worth another try after asking the server where to resume: a dropped connection, a busy or restarting
 *  server, or an offset the server disagrees with (409). Anything else needs the user. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ApiError && RETRY_STATUSES.has(err.status);
}

export class FileUploadError extends Error {
  readonly file: string;

  constructor(file: string, cause: unknown) {
    super(`${file}: ${errorMessage(cause)}`, { cause });
    this.name = 'FileUploadError';
    this.file = file;
  }
}

const aborted = () => new DOMException('Upload cancelled', 'AbortError');

/**
 * Send every file through an upload session, in chunks of the server's size, `concurrency` files at a time.
 * Resolves with the upload ids in the order of `files` once every byte is on the server. On the first
 * file that fails for good the others stop and the promise rejects with a FileUploadError; the sessions
 * stay (in `opts.sessions`) so that a second call resumes them, or `discardSessions` cancels them.
 */
export async function uploadFiles(
  files: readonly NamedBlob[],
  transport: SessionTransport,
  opts: UploadOptions = {},
): Promise<string[]> {
  const sessions = opts.sessions ?? new Map<NamedBlob, string>();
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const report = new ProgressReport(files, opts);
  const ids: string[] = new Array<string>(files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length && !stop.signal.aborted) {
      const index = next++;
      const file = files[index]!;
      try {
        ids[index] = await uploadOne(file, index, transport, sessions, report, opts, stop.signal);
      } catch (err) {
        if (!isAbort(err)) report.update(index, { state: 'failed', error: errorMessage(err) }, true);
        stop.abort();
        throw isAbort(err) ? err : new FileUploadError(file.name, err);
      }
    }
  };
  try {
    const workers = Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 3, files.length)) }, worker);
    const outcomes = await Promise.allSettled(workers);
    const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    const real = failures.find((f) => !isAbort(f.reason)) ?? failures[0];
    if (real) throw real.reason;
    if (opts.signal?.aborted) throw aborted();
    report.flush();
    return ids;
  } finally {
    report.close();
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

async function uploadOne(
  file: NamedBlob,
  index: number,
  transport: SessionTransport,
  sessions: Map<NamedBlob, string>,
  report: ProgressReport,
  opts: UploadOptions,
  signal: AbortSignal,
): Promise<string> {
  const maxRetries = opts.maxRetries ?? 6;
  const backoff = opts.backoff ?? ((attempt: number) => backoffMs(attempt));
  const sleep = opts.sleep ?? abortableSleep;
  let session: UploadSession | null = null;
  let failures = 0;
  let resync = false;
  for (;;) {
    if (signal.aborted) throw aborted();
    try {
      if (session === null) {
        session = await openOrResume(file, transport, sessions);
        report.update(index, { state: 'uploading', sent: session.received }, true);
      } else if (resync) {
        session = await transport.get(session.id); // where to resume, as the server sees it
        resync = false;
      }
      const range = nextChunk(session.received, file.size, session.chunk_size);
      if (range === null) break;
      const base = range.start;
      session = await transport.putChunk(
        session.id,
        file.slice(range.start, range.end),
        range.start,
        file.size,
        (loaded) => report.update(index, { state: 'uploading', sent: base + loaded }),
        signal,
      );
      failures = 0;
      report.update(index, { state: 'uploading', sent: session.received });
    } catch (err) {
      if (isAbort(err) || signal.aborted) throw aborted();
      failures += 1;
      if (!isRetryable(err) || failures > maxRetries) throw err;
      report.update(index, { state: 'retrying', sent: session?.received ?? 0, error: errorMessage(err) }, true);
      // A 409 means only that the client was out of step: resync at once; anything else gets a pause.
      if (!(err instanceof ApiError && err.status === 409)) await sleep(backoff(failures), signal);
      resync = true;
    }
  }
  report.update(index, { state: 'uploaded', sent: file.size, error: undefined }, true);
  return session.id;
}

/** The file's known session if the server still has it, else a new one (remembered in `sessions`). */
async function openOrResume(
  file: NamedBlob,
  transport: SessionTransport,
  sessions: Map<NamedBlob, string>,
): Promise<UploadSession> {
  const known = sessions.get(file);
  if (known !== undefined) {
    try {
      return await transport.get(known);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      sessions.delete(file); // expired or gone: start this file again
    }
  }
  const opened = await transport.open(uploadPath(file), file.size);
  sessions.set(file, opened.id);
  return opened;
}

/** Cancel upload sessions (the server removes their partial files); already gone ones are fine. */
export async function discardSessions(uploadIds: Iterable<string>, transport: SessionTransport): Promise<void> {
  await Promise.all(
    Array.from(uploadIds, async (id) => {
      try {
        await transport.cancel(id);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
    }),
  );
}

/** Per-file and overall progress, reported at most every `progressIntervalMs` except on state changes. */
class ProgressReport {
  private readonly files: FileProgress[];
  private readonly onProgress?: (progress: UploadProgress) => void;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private last = -Infinity;
  private pending: ReturnType<typeof setTimeout> | null = null;

  constructor(files: readonly NamedBlob[], opts: UploadOptions) {
    this.files = files.map((f) => ({ name: f.name, size: f.size, sent: 0, state: 'waiting' }));
    this.onProgress = opts.onProgress;
    this.intervalMs = opts.progressIntervalMs ?? 100;
    this.now = opts.now ?? (() => Date.now());
    this.flush();
  }

  update(index: number, change: Partial<FileProgress>, force = false): void {
    const current = this.files[index]!;
    const next = { ...current, ...change };
    next.sent = Math.min(next.size, Math.max(0, next.sent));
    if (next.error === undefined) delete next.error;
    this.files[index] = next;
    const wait = this.intervalMs - (this.now() - this.last);
    if (force || wait <= 0) this.flush();
    else this.pending ??= setTimeout(() => this.flush(), wait); // the latest state is never left unreported
  }

  flush(): void {
    this.close();
    this.last = this.now();
    if (!this.onProgress) return;
    const files = this.files.map((f) => ({ ...f }));
    this.onProgress({
      files,
      sent: files.reduce((n, f) => n + f.sent, 0),
      total: files.reduce((n, f) => n + f.size, 0),
    });
  }

  /** Drop a report still waiting for its turn. */
  close(): void {
    if (this.pending !== null) clearTimeout(this.pending);
    this.pending = null;
  }
}
