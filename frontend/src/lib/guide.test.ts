import { describe, expect, it } from 'vitest';
import type { Job, ModelInfo, Project } from './api';
import { NAV_GROUPS, labelTarget, nextStep, nextSteps } from './guide';
import { PROJECT_TABS } from './routes';

const project = (over: Partial<Project> = {}): Project => ({
  id: 1, name: 'p', created_at: '', last_activity_at: '', image_count: 0, labeled_count: 0, classes: [],
  backbone_version: null, classifier_version: null, cv_accuracy: null, ...over,
});
const job = (kind: Job['kind'], state: Job['state'] = 'succeeded'): Job => ({
  id: 1, project_id: 1, kind, state, progress: { stage: '', fraction: 1 }, result: null, error: null, attempts: 1,
  created_at: '', started_at: null, finished_at: null,
});
const model = (trustworthy: boolean) => ({ trust: { trustworthy } }) as unknown as ModelInfo;
const cls = (id: number) => ({ id, name: `c${id}`, color: '#000', hotkey: null }) as unknown as Project['classes'][number];

describe('nextSteps', () => {
  it('points at upload first in an empty project', () => {
    const steps = nextSteps(project(), [], null);
    expect(steps.every((s) => !s.done)).toBe(true);
    expect(nextStep(steps)?.id).toBe('upload');
  });

  it('ticks each step from the real state, and only a trusted classifier counts as trained', () => {
    const p = project({ image_count: 50, backbone_version: 1, labeled_count: 12, classes: [cls(1), cls(2)], classifier_version: 3 });
    const jobs = [job('embed')];
    expect(nextStep(nextSteps(p, jobs, model(false)))?.id).toBe('train');
    expect(nextStep(nextSteps(p, jobs, model(true)))?.id).toBe('use');
    expect(nextStep(nextSteps(p, [...jobs, job('export')], model(true)))).toBeNull();
  });

  it('does not count features as ready before an embedding job succeeded', () => {
    const p = project({ image_count: 5, backbone_version: 1 });
    expect(nextStep(nextSteps(p, [job('embed', 'running')], null))?.id).toBe('features');
  });

  it('asks for five labels per class and at least ten', () => {
    expect(labelTarget(0)).toBe(10);
    expect(labelTarget(4)).toBe(20);
  });
});

describe('NAV_GROUPS', () => {
  it('holds every project page exactly once', () => {
    const all = NAV_GROUPS.flatMap((g) => g.tabs);
    expect([...all].sort()).toEqual([...PROJECT_TABS].sort());
  });
});
