// Live job updates for one project: Server-Sent Events (GET /projects/{id}/events, `event: job`)
// with a polling fallback (GET /projects/{id}/jobs) when the stream is unavailable or keeps failing.

import { api, errorMessage, isActive, type Job } from './api';

export type FeedMode = 'connecting' | 'live' | 'polling' | 'stopped';

/** The part of EventSource the feed uses (lets tests pass a fake). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((this: EventSourceLike, ev: Event) => unknown) | null;
  onerror: ((this: EventSourceLike, ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void;
  close(): void;
}
export type EventSourceFactory = (url: string) => EventSourceLike;

export interface JobFeedOptions {
  projectId: number;
  /** A full list of the project's jobs (initial load, each poll, after a reconnect). */
  onList: (jobs: Job[]) => void;
  /** One job changed (from the event stream). */
  onJob: (job: Job) => void;
  onMode?: (mode: FeedMode) => void;
  /** A message to show (null clears it). */
  onError?: (message: string | null) => void;
  /** Defaults to the browser's EventSource; null forces polling. */
  eventSource?: EventSourceFactory | null;
  /** Injected for tests; defaults to api.listJobs. */
  listJobs?: (projectId: number) => Promise<Job[]>;
  pollActiveMs?: number;
  pollIdleMs?: number;
  /** While live, re-list this often anyway (a cheap safety net for missed events). */
  resyncMs?: number;
  /** Give up on the stream after this many errors without a successful (re)open. */
  maxStreamErrors?: number;
}

export interface JobFeed {
  /** Re-list now (and, when polling, restart the poll timer). */
  refresh: () => void;
  stop: () => void;
  readonly mode: FeedMode;
}

const CLOSED = 2;

function defaultEventSource(): EventSourceFactory | null {
  if (typeof EventSource === 'undefined') return null;
  return (url) => new EventSource(url, { withCredentials: true }) as unknown as EventSourceLike;
}

/** Insert or replace `job` in a list kept newest first (by id). */
export function mergeJob(jobs: Job[], job: Job): Job[] {
  const rest = jobs.filter((j) => j.id !== job.id);
  const at = rest.findIndex((j) => j.id < job.id);
  if (at < 0) return [...rest, job];
  return [...rest.slice(0, at), job, ...rest.slice(at)];
}

export function parseJobEvent(data: string): Job | null {
  try {
    const job: unknown = JSON.parse(data);
    if (job && typeof job === 'object' && typeof (job as Job).id === 'number' && typeof (job as Job).state === 'string') {
      return job as Job;
    }
  } catch {
    // ignored: a malformed event is dropped, the next list brings the truth
  }
  return null;
}

export function startJobFeed(opts: JobFeedOptions): JobFeed {
  const listJobs = opts.listJobs ?? api.listJobs;
  const pollActive = opts.pollActiveMs ?? 1000;
  const pollIdle = opts.pollIdleMs ?? 5000;
  const resyncMs = opts.resyncMs ?? 30000;
  const maxErrors = opts.maxStreamErrors ?? 3;
  const factory = opts.eventSource === undefined ? defaultEventSource() : opts.eventSource;

  let mode: FeedMode = 'connecting';
  let stopped = false;
  let source: EventSourceLike | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let streamErrors = 0;
  let graceTicks = 0;
  let listing: Promise<boolean> | null = null;

  function setMode(m: FeedMode) {
    if (mode === m) return;
    mode = m;
    opts.onMode?.(m);
  }

  /** GET the list; resolves with whether any job is active. */
  function list(): Promise<boolean> {
    if (listing) return listing;
    listing = (async () => {
      try {
        const jobs = await listJobs(opts.projectId);
        if (stopped) return false;
        opts.onError?.(null);
        opts.onList(jobs);
        return jobs.some(isActive);
      } catch (err) {
        if (!stopped) opts.onError?.(errorMessage(err));
        return false;
      } finally {
        listing = null;
      }
    })();
    return listing;
  }

  function clearTimer() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }

  // Polling: every pollActive ms while a job is queued/running (and a few ticks after, so a follow-up
  // job such as the embed job after pretraining is seen at once); otherwise every pollIdle ms.
  async function pollTick() {
    timer = null;
    const active = await list();
    if (stopped || mode !== 'polling') return;
    graceTicks = active ? 3 : Math.max(0, graceTicks - 1);
    clearTimer();
    timer = setTimeout(pollTick, active || graceTicks > 0 ? pollActive : pollIdle);
  }

  function fallBackToPolling() {
    if (stopped) return;
    source?.close();
    source = null;
    setMode('polling');
    clearTimer();
    void pollTick();
  }

  function resyncTick() {
    timer = null;
    if (stopped || mode !== 'live') return;
    void list();
    timer = setTimeout(resyncTick, resyncMs);
  }

  function connect(make: EventSourceFactory) {
    try {
      source = make(api.projectEventsUrl(opts.projectId));
    } catch {
      fallBackToPolling();
      return;
    }
    const es = source;
    es.onopen = () => {
      if (stopped || source !== es) return;
      streamErrors = 0;
      setMode('live');
      // The stream only announces unfinished jobs on connect: list to get finished ones (and any change
      // missed while reconnecting).
      void list();
      clearTimer();
      timer = setTimeout(resyncTick, resyncMs);
    };
    es.onerror = () => {
      if (stopped || source !== es) return;
      streamErrors += 1;
      // CLOSED: the browser gave up (e.g. 404/401/409 or a non-event-stream answer). Otherwise it is
      // reconnecting by itself; give it a few tries.
      if (es.readyState === CLOSED || streamErrors >= maxErrors) fallBackToPolling();
      else setMode('connecting');
    };
    es.addEventListener('job', (ev: MessageEvent) => {
      if (stopped || source !== es) return;
      const job = parseJobEvent(String(ev.data));
      if (job && job.project_id === opts.projectId) opts.onJob(job);
    });
  }

  opts.onMode?.(mode);
  if (factory) {
    void list();
    connect(factory);
  } else {
    fallBackToPolling();
  }

  return {
    refresh() {
      if (stopped) return;
      if (mode === 'polling') {
        clearTimer();
        void pollTick();
      } else {
        void list();
      }
    },
    stop() {
      stopped = true;
      clearTimer();
      source?.close();
      source = null;
      setMode('stopped');
    },
    get mode() {
      return mode;
    },
  };
}

/** Follow one job of a project: `onUpdate` gets each state of it that the feed brings; the feed stops
 * itself once the job has ended (succeeded, failed or cancelled). */
export function followOneJob(
  projectId: number,
  jobId: number,
  onUpdate: (job: Job) => void,
  onError: (message: string | null) => void,
  source: Pick<JobFeedOptions, 'eventSource' | 'listJobs'> = {},
): JobFeed {
  let feed: JobFeed | null = null;
  let ended = false;
  function deliver(j: Job) {
    if (ended) return;
    ended = !isActive(j);
    onUpdate(j);
    if (ended) feed?.stop();
  }
  feed = startJobFeed({
    ...source,
    projectId,
    onList: (jobs) => {
      const found = jobs.find((j) => j.id === jobId);
      if (found) deliver(found);
    },
    onJob: (j) => {
      if (j.id === jobId) deliver(j);
    },
    onError,
  });
  return feed;
}
