import { describe, expectTypeOf, it } from 'vitest';
import {
  api,
  propagatedLabels,
  reviewPredictions,
  uploadSessions,
  type Answer,
  type FinetuneResult,
  type IngestResult,
  type Image,
  type ImagePage,
  type Job,
  type JobKind,
  type JobState,
  type ModelInfo,
  type Project,
  type QueryOf,
  type ReviewOrder,
  type Route,
  type PropagatedLabels,
  type UploadSession,
} from './api';

// Checked by `npm run check` (svelte-check type-checks this file); the runtime body is trivial.
describe('API types come from the OpenAPI document', () => {
  it('gives each call the answer type of its route', () => {
    expectTypeOf(api.listProjects).returns.resolves.toEqualTypeOf<Project[]>();
    expectTypeOf(api.getImage).returns.resolves.toEqualTypeOf<Image>();
    expectTypeOf(api.listImages).returns.resolves.toEqualTypeOf<ImagePage>();
    expectTypeOf(api.model).returns.resolves.toEqualTypeOf<ModelInfo>();
    expectTypeOf(api.pretrain).returns.resolves.toEqualTypeOf<Job>();
    expectTypeOf(api.revokeToken).returns.resolves.toEqualTypeOf<void>();
    expectTypeOf(propagatedLabels).returns.resolves.toEqualTypeOf<PropagatedLabels>();
    expectTypeOf(uploadSessions.putChunk).returns.resolves.toEqualTypeOf<UploadSession>();
    expectTypeOf(reviewPredictions).parameter(1).toEqualTypeOf<
      QueryOf<'/projects/{project_id}/predictions/review', 'get'> | undefined
    >();
  });

  it('keeps the enums of the backend precise', () => {
    expectTypeOf<JobState>().toEqualTypeOf<'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'>();
    expectTypeOf<'ingest'>().toExtend<JobKind>();
    expectTypeOf<ReviewOrder>().toEqualTypeOf<'asc' | 'desc'>();
    expectTypeOf<Job['progress']['loss_history']>().toEqualTypeOf<[number, number][] | undefined>();
  });

  it('gives each job kind its own result type', () => {
    expectTypeOf<JobKind>().toEqualTypeOf<'ingest' | 'pretrain' | 'embed' | 'train' | 'predict' | 'export' | 'finetune'>();
    expectTypeOf<Extract<Job, { kind: 'finetune' }>['result']>().toEqualTypeOf<FinetuneResult | null>();
    expectTypeOf<Extract<Job, { kind: 'ingest' }>['result']>().toEqualTypeOf<IngestResult | null>();
    expectTypeOf<FinetuneResult['kept']>().toEqualTypeOf<'finetuned' | 'linear head'>();
  });

  it('knows only the routes and methods the API has', () => {
    expectTypeOf<'/projects/{project_id}/images'>().toExtend<Route>();
    expectTypeOf<'/projects/{project_id}/imagez'>().not.toExtend<Route>();
    expectTypeOf<Answer<'/projects', 'put'>>().toBeNever();
  });
});
