import { describe, expect, it } from 'vitest';
import type { Job } from './api';
import { foldRetrains, jobSeconds, jobSummary, matches } from './jobList';

let nextId = 1;
// Jobs built loosely (a result with only the keys a test reads), as the list receives them.
const job = (over: Record<string, unknown> = {}): Job => ({
  id: nextId++, project_id: 1, kind: 'train', state: 'succeeded', progress: { stage: '', fraction: 1 }, result: null,
  error: null, attempts: 1, created_at: '2026-01-01T00:00:00Z', started_at: '2026-01-01T00:00:00Z',
  finished_at: '2026-01-01T00:01:05Z', ...over,
}) as Job;
const retrain = () => job({ result: { automatic: true, classifier_version: 2, n_labels: 9, cv_accuracy: 0.5 } });

describe('foldRetrains', () => {
  it('folds runs of automatic retrains and leaves other jobs and single retrains alone', () => {
    const items = foldRetrains([retrain(), retrain(), retrain(), job({ kind: 'embed' }), retrain(), job({ result: { automatic: false } })]);
    expect(items.map((i) => (i.type === 'retrains' ? `r${i.jobs.length}` : i.job.kind))).toEqual(['r3', 'embed', 'train', 'train']);
  });

  it('never folds a running retrain', () => {
    const items = foldRetrains([job({ state: 'running', result: null }), retrain(), retrain()]);
    expect(items.map((i) => i.type)).toEqual(['job', 'retrains']);
  });
});

describe('jobSummary and jobSeconds', () => {
  it('says what a job did in words', () => {
    expect(jobSummary(retrain())).toBe('Classifier 2 on 9 labels, 50.0% cross-validated');
    expect(jobSummary(job({ kind: 'ingest', result: { accepted: 3, duplicate: 1, rejected: 0 } }))).toBe(
      '3 images added, 1 duplicates, 0 rejected',
    );
    expect(jobSummary(job({ state: 'failed', error: 'boom' }))).toBe('Failed: boom');
  });

  it('measures from start to finish', () => {
    expect(jobSeconds(job())).toBe(65);
    expect(jobSeconds(job({ started_at: null }))).toBeNull();
  });

  it('filters by kind and state', () => {
    expect(matches(job({ state: 'running' }), 'train', 'active')).toBe(true);
    expect(matches(job(), 'embed', 'all')).toBe(false);
  });
});
