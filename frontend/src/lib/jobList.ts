// The Jobs list for people: filters, durations, a one-line result per job, automatic retrains folded together.
import type { Job } from './api';
import { duration, pct } from './format';

export const JOB_KIND_WORDS: Record<Job['kind'], string> = {
  ingest: 'Upload',
  pretrain: 'Pretraining',
  embed: 'Embedding',
  train: 'Training',
  predict: 'Prediction',
  export: 'Model export',
  finetune: 'Fine-tuning',
};

/** Seconds a job ran (to `now` while it runs), or null before it started. */
export function jobSeconds(job: Job, now: number = Date.now()): number | null {
  if (!job.started_at) return null;
  const start = Date.parse(job.started_at);
  const end = job.finished_at ? Date.parse(job.finished_at) : now;
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, (end - start) / 1000) : null;
}

const n = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** What a job did, in one line of words. */
export function jobSummary(job: Job): string {
  if (job.state === 'queued') return 'Waiting to start';
  if (job.state === 'running') return job.progress?.stage ? `Running: ${job.progress.stage}` : 'Running';
  if (job.state === 'cancelled') return 'Cancelled';
  if (job.state === 'failed') return `Failed: ${job.error ?? 'unknown error'}`;
  switch (job.kind) {
    case 'ingest': {
      const r = job.result;
      return `${r?.accepted ?? 0} images added, ${r?.duplicate ?? 0} duplicates, ${r?.rejected ?? 0} rejected`;
    }
    case 'pretrain': {
      const r = job.result;
      if (r?.shipped === false) return 'Nothing new shipped: the current backbone stays (the guard found it as good)';
      return r?.kept === 'initial'
        ? 'Kept the starting network: pretraining did not improve the features'
        : `Backbone version ${n(r?.backbone_version) ?? '?'} ready`;
    }
    case 'embed':
      return 'Images embedded: map, search and suggestions use the new features';
    case 'train': {
      const r = job.result;
      const acc = n(r?.cv_accuracy);
      return `Classifier ${n(r?.classifier_version) ?? '?'} on ${n(r?.n_labels) ?? '?'} labels` +
        (acc === null ? ', too few labels to score' : `, ${pct(acc)} cross-validated`);
    }
    case 'finetune':
      return job.result?.kept === 'finetuned' ? 'Fine-tuning kept: it beat the linear head' : 'Fine-tuning discarded: the linear head stays';
    case 'predict':
      return 'Predictions ready';
    case 'export':
      return job.result?.filename ? `Exported ${job.result.filename}` : 'Model exported';
  }
  return 'Done';
}

/** A retrain started by labeling, finished (a running one stays on its own row). */
export function isAutomaticRetrain(job: Job): boolean {
  return job.kind === 'train' && job.state === 'succeeded' && job.result?.automatic === true;
}

export type JobListItem = { type: 'job'; job: Job } | { type: 'retrains'; jobs: Job[] };

/** Runs of two or more automatic retrains next to each other in the list become one foldable item. */
export function foldRetrains(jobs: readonly Job[]): JobListItem[] {
  const out: JobListItem[] = [];
  for (const job of jobs) {
    const last = out[out.length - 1];
    if (isAutomaticRetrain(job) && last?.type === 'retrains') last.jobs.push(job);
    else if (isAutomaticRetrain(job)) out.push({ type: 'retrains', jobs: [job] });
    else out.push({ type: 'job', job });
  }
  return out.map((item): JobListItem =>
    item.type === 'retrains' && item.jobs.length === 1 ? { type: 'job', job: item.jobs[0] as Job } : item,
  );
}

export type StateFilter = 'all' | 'active' | 'succeeded' | 'failed' | 'cancelled';
export type KindFilter = 'all' | Job['kind'];

export function matches(job: Job, kind: KindFilter, state: StateFilter): boolean {
  const stateOk = state === 'all' || (state === 'active' ? job.state === 'queued' || job.state === 'running' : job.state === state);
  return stateOk && (kind === 'all' || job.kind === kind);
}

export function durationText(job: Job, now?: number): string {
  return duration(jobSeconds(job, now));
}
