import { api, isActive, type Job } from './api';

/**
 * Poll GET /jobs/{id} every `intervalMs` until the job is no longer queued/running.
 * `onUpdate` sees every state; the promise resolves with the final job. Stop early with `signal`.
 */
export async function followJob(
  jobId: number,
  onUpdate: (job: Job) => void,
  opts: { intervalMs?: number; signal?: AbortSignal } = {},
): Promise<Job> {
  const interval = opts.intervalMs ?? 1000;
  for (;;) {
    if (opts.signal?.aborted) throw new DOMException('Stopped following the job', 'AbortError');
    const job = await api.getJob(jobId);
    if (opts.signal?.aborted) throw new DOMException('Stopped following the job', 'AbortError');
    onUpdate(job);
    if (!isActive(job)) return job;
    await sleep(interval, opts.signal);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}
