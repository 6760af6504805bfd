import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Job } from './api';
import { followOneJob, mergeJob, parseJobEvent, startJobFeed, type EventSourceLike, type FeedMode } from './jobFeed';

function job(id: number, state: Job['state'] = 'running', project_id = 7): Job {
  return {
    id,
    project_id,
    kind: 'pretrain',
    state,
    progress: { stage: 'train', fraction: 0.5 },
    result: null,
    error: null,
    attempts: 1,
    created_at: '2024-01-01T00:00:00Z',
    started_at: null,
    finished_at: null,
  };
}

class FakeEventSource implements EventSourceLike {
  static instances: FakeEventSource[] = [];
  readyState = 0;
  onopen: ((this: EventSourceLike, ev: Event) => unknown) | null = null;
  onerror: ((this: EventSourceLike, ev: Event) => unknown) | null = null;
  listeners = new Map<string, ((ev: MessageEvent) => void)[]>();
  closed = false;
  constructor(readonly url: string) {
    FakeEventSource.instances.push(this);
  }
  addEventListener(type: string, listener: (ev: MessageEvent) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  open() {
    this.readyState = 1;
    this.onopen?.call(this, new Event('open'));
  }
  fail(readyState: number) {
    this.readyState = readyState;
    this.onerror?.call(this, new Event('error'));
  }
  emit(type: string, data: string) {
    for (const l of this.listeners.get(type) ?? []) l(new MessageEvent(type, { data }));
  }
}

const factory = (url: string) => new FakeEventSource(url);

afterEach(() => {
  FakeEventSource.instances = [];
  vi.useRealTimers();
});

describe('mergeJob / parseJobEvent', () => {
  it('keeps the list newest first and replaces by id', () => {
    let jobs = [job(5), job(3)];
    jobs = mergeJob(jobs, job(4, 'queued'));
    expect(jobs.map((j) => j.id)).toEqual([5, 4, 3]);
    jobs = mergeJob(jobs, job(9));
    expect(jobs.map((j) => j.id)).toEqual([9, 5, 4, 3]);
    jobs = mergeJob(jobs, job(1));
    expect(jobs.map((j) => j.id)).toEqual([9, 5, 4, 3, 1]);
    jobs = mergeJob(jobs, job(4, 'succeeded'));
    expect(jobs.map((j) => [j.id, j.state])).toEqual([
      [9, 'running'],
      [5, 'running'],
      [4, 'succeeded'],
      [3, 'running'],
      [1, 'running'],
    ]);
  });

  it('parses job events and drops malformed ones', () => {
    expect(parseJobEvent(JSON.stringify(job(2)))?.id).toBe(2);
    expect(parseJobEvent('not json')).toBeNull();
    expect(parseJobEvent('{"hello": 1}')).toBeNull();
  });
});

describe('startJobFeed', () => {
  it('goes live on open, lists once, and applies job events of its project', async () => {
    const listJobs = vi.fn().mockResolvedValue([job(2, 'succeeded')]);
    const onList = vi.fn();
    const onJob = vi.fn();
    const modes: FeedMode[] = [];
    const feed = startJobFeed({ projectId: 7, onList, onJob, onMode: (m) => modes.push(m), eventSource: factory, listJobs });
    const es = FakeEventSource.instances[0]!;
    expect(es.url).toBe('/api/v1/projects/7/events');
    es.open();
    expect(feed.mode).toBe('live');
    await vi.waitFor(() => expect(onList).toHaveBeenCalledWith([job(2, 'succeeded')]));
    es.emit('job', JSON.stringify(job(3, 'running')));
    es.emit('job', JSON.stringify(job(4, 'running', 8))); // another project: ignored
    es.emit('job', 'garbage');
    expect(onJob).toHaveBeenCalledTimes(1);
    expect(onJob.mock.calls[0]![0].id).toBe(3);
    feed.stop();
    expect(es.closed).toBe(true);
    expect(modes).toEqual(['connecting', 'live', 'stopped']);
  });

  it('falls back to polling when the stream is closed (e.g. 404), polling fast while a job is active', async () => {
    vi.useFakeTimers();
    const listJobs = vi
      .fn()
      .mockResolvedValueOnce([job(1, 'running')])
      .mockResolvedValueOnce([job(1, 'running')])
      .mockResolvedValue([job(1, 'succeeded')]);
    const onList = vi.fn();
    const feed = startJobFeed({
      projectId: 7,
      onList,
      onJob: vi.fn(),
      eventSource: factory,
      listJobs,
      pollActiveMs: 1000,
      pollIdleMs: 5000,
    });
    const es = FakeEventSource.instances[0]!;
    es.fail(2); // CLOSED: the browser gave up
    expect(es.closed).toBe(true);
    expect(feed.mode).toBe('polling');
    await vi.advanceTimersByTimeAsync(0);
    const afterFallback = listJobs.mock.calls.length;
    await vi.advanceTimersByTimeAsync(1000);
    expect(listJobs.mock.calls.length).toBe(afterFallback + 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(onList).toHaveBeenLastCalledWith([job(1, 'succeeded')]);
    // Grace ticks after the job finished, then idle polling.
    const calls = listJobs.mock.calls.length;
    await vi.advanceTimersByTimeAsync(3000);
    expect(listJobs.mock.calls.length).toBeGreaterThan(calls);
    const idle = listJobs.mock.calls.length;
    await vi.advanceTimersByTimeAsync(4000);
    expect(listJobs.mock.calls.length).toBeLessThanOrEqual(idle + 1);
    feed.stop();
    const stopped = listJobs.mock.calls.length;
    await vi.advanceTimersByTimeAsync(20000);
    expect(listJobs.mock.calls.length).toBe(stopped);
  });

  it('gives a reconnecting stream a few tries before polling', async () => {
    vi.useFakeTimers();
    const listJobs = vi.fn().mockResolvedValue([]);
    const feed = startJobFeed({ projectId: 7, onList: vi.fn(), onJob: vi.fn(), eventSource: factory, listJobs, maxStreamErrors: 3 });
    const es = FakeEventSource.instances[0]!;
    es.fail(0);
    expect(feed.mode).toBe('connecting');
    es.open();
    expect(feed.mode).toBe('live');
    es.fail(0);
    es.fail(0);
    expect(feed.mode).toBe('connecting');
    es.fail(0);
    expect(feed.mode).toBe('polling');
    expect(es.closed).toBe(true);
    feed.stop();
  });

  it('polls without EventSource and reports list errors', async () => {
    const listJobs = vi.fn().mockRejectedValue(new Error('boom'));
    const onError = vi.fn();
    const feed = startJobFeed({ projectId: 7, onList: vi.fn(), onJob: vi.fn(), onError, eventSource: null, listJobs });
    expect(feed.mode).toBe('polling');
    await vi.waitFor(() => expect(onError).toHaveBeenCalledWith('boom'));
    feed.stop();
  });
});

describe('followOneJob', () => {
  it('reports only its job and stops the feed once that job has ended', async () => {
    const listJobs = vi.fn().mockResolvedValue([job(5, 'queued'), job(6, 'running')]);
    const updates: Job['state'][] = [];
    const feed = followOneJob(7, 6, (j) => updates.push(j.state), vi.fn(), { eventSource: factory, listJobs });
    const es = FakeEventSource.instances[0]!;
    es.open();
    await vi.waitFor(() => expect(updates).toContain('running'));
    es.emit('job', JSON.stringify(job(5, 'succeeded'))); // another job of the project: ignored
    expect(feed.mode).toBe('live');
    es.emit('job', JSON.stringify(job(6, 'failed')));
    expect(feed.mode).toBe('stopped');
    expect(es.closed).toBe(true);
    es.emit('job', JSON.stringify(job(6, 'succeeded'))); // nothing after the end
    expect(updates.filter((s) => s !== 'running')).toEqual(['failed']);
  });
});
