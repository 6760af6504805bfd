// The ONE module that knows the REST API's URLs (contract: docs/api.md, base path /api/v1).
// Every request sends credentials: 'same-origin'; state-changing requests carry the CSRF header.
// Types come from the backend's OpenAPI document (./schema.d.ts, made by `make api-types`); every call below
// names its route as the document does, so its path, query, body and answer are checked against it.

import type { components, paths } from './schema';

export const API_BASE = '/api/v1';
// The CSRF token of this session; behind HTTPS the server names the cookie with the __Host- prefix.
export const CSRF_COOKIES = ['__Host-ll_csrf', 'll_csrf'] as const;
export const CSRF_HEADER = 'X-CSRF-Token';

// ---------------------------------------------------------------- types (from the OpenAPI document)

type Schemas = components['schemas'];

export type User = Schemas['UserPublic'];
export type SignupMode = Schemas['AuthOptionsPublic']['signup'];
export type Token = Schemas['TokenPublic'];
export type TokenCreated = Schemas['TokenCreated'];
export type Class = Schemas['ClassPublic'];
export type Project = Schemas['ProjectPublic'];
export type Image = Schemas['ImagePublic'];
export type ImagePage = Schemas['ImageList'];

export type Job = Schemas['JobPublic'];
export type JobKind = Job['kind'];
export type JobState = Schemas['JobState'];
export type JobProgress = Schemas['JobProgress'];

// A job's `result` has one schema per job kind (the API's JobPublic is a union told apart by `kind`).
export type IngestFileReport = Schemas['FileReportEntryPublic'];
export type IngestFileStatus = IngestFileReport['status'];
/** Result of an `ingest` job: counts; its per-file report is read page by page with `api.jobFiles`. */
export type IngestResult = Schemas['IngestResultPublic'];
export type PretrainResult = Schemas['PretrainResult'];
export type EmbedResult = Schemas['EmbedResult'];
export type TrainResult = Schemas['TrainResult'];
export type PredictResult = Schemas['PredictResult'];
/** Result of a `finetune` job: which model it kept and why; a kept fine-tune names its new versions. */
export type FinetuneResult = Schemas['FinetuneResult'];
export type ModelExportFormat = Schemas['ExportFormat'];
/** Result of an `export` job: the file holds backbone + head; input images in [0, 1] at `input.size`. */
export type ModelExportResult = Schemas['ExportResult'];

export type SuggestStrategy = Schemas['Strategy'];

/** What each strategy picks (shown in the strategy menus); a strategy the API adds fails to compile here. */
export const STRATEGY_HELP: Record<SuggestStrategy, string> = {
  auto: 'auto — cold start while labels are few or the classifier is weak, then hybrid',
  random: 'random — a random sample (baseline)',
  cold_start: 'cold start — typical images of clusters (TypiClust)',
  probcover: 'ProbCover — images covering the most unlabeled neighbours',
  k_center: 'k-center — the images farthest from everything labeled',
  margin: 'margin — the smallest gap between the top two classes',
  least_confidence: 'least confidence — the lowest top probability',
  entropy: 'entropy — the most spread-out predictions',
  hybrid: 'hybrid — uncertain and diverse',
};

/** Every strategy, in menu order. */
export const SUGGEST_STRATEGIES = Object.keys(STRATEGY_HELP) as readonly SuggestStrategy[];

export type SuggestionReason = Schemas['SuggestionReason'];
export type Suggestion = Schemas['SuggestionPublic'];
export type Suggestions = Schemas['SuggestionsPublic'];
export type SearchHit = Schemas['NeighbourPublic'];
export type SearchResult = Schemas['SearchResultPublic'];

/** Out-of-fold classification report; `confusion[i][j]`: images of `classes[i]` predicted `classes[j]`. */
export type ClassificationReport = Schemas['ClassificationReportPublic'];
export type LearningCurvePoint = Schemas['LearningCurvePoint'];
export type ClassifierInfo = Schemas['ClassifierPublic'];
export type ModelInfo = Schemas['ModelInfoPublic'];

export type ClassProbability = Schemas['ClassScorePublic'];
export type FilePrediction = Schemas['FilePredictionPublic'];
export type Prediction = Schemas['PredictionPublic'];
/** GET /projects/{id}/predictions: the classifier's guess for stored images (from stored embeddings). */
export type ImagePrediction = Schemas['StoredPredictionPublic'];
export type StoredPredictions = Schemas['StoredPredictionsPublic'];

/** GET /projects/{id}/map: a 2-D map of the embeddings, x and y in [0, 1]. */
export type MapPoint = Schemas['MapPointPublic'];
export type EmbeddingMap = Schemas['MapPublic'];

export type ReviewItem = Schemas['ReviewItemPublic'];
export type ReviewPage = Schemas['ReviewPredictionsPublic'];
export type Mislabel = Schemas['MislabelPublic'];
export type Mislabels = Schemas['MislabelsPublic'];
export type TentativeLabel = Schemas['TentativeLabelPublic'];
export type PropagatedLabels = Schemas['PropagatedLabelsPublic'];
export type Trust = Schemas['TrustPublic'];
export type Pretraining = Schemas['PretrainingPublic'];

/** A file arriving in chunks: POST /projects/{id}/upload-sessions, then PUT chunks, then complete. */
export type UploadSession = Schemas['UploadSessionPublic'];
export type LabelImport = Schemas['LabelImportPublic'];
export type LabelExportFormat = Schemas['LabelExportFormat'];

export type PretrainOptions = Schemas['PretrainRequest'];

/** At most this many ids per GET /predictions request. */
export const MAX_PREDICTION_IDS = 500;

// ---------------------------------------------------------------- errors

export class ApiError extends Error {
  readonly status: number;
  readonly detail: unknown;

  constructor(status: number, message: string, detail?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
  }
}

interface ValidationItem {
  loc?: unknown;
  msg?: unknown;
}

function formatValidationItem(item: unknown): string {
  if (item && typeof item === 'object') {
    const v = item as ValidationItem;
    const msg = typeof v.msg === 'string' ? v.msg : JSON.stringify(item);
    if (Array.isArray(v.loc)) {
      // Drop the location prefix FastAPI adds ("body", "query", "path") — users care about the field.
      const parts = v.loc.filter(
        (p, i) => !(i === 0 && (p === 'body' || p === 'query' || p === 'path' || p === 'header')),
      );
      if (parts.length > 0) return `${parts.map(String).join('.')}: ${msg}`;
    }
    return msg;
  }
  return String(item);
}

/** Turn a `{"detail": ...}` value (string, FastAPI 422 list, or anything else) into readable text. */
export function detailToMessage(detail: unknown, status: number, statusText = ''): string {
  if (typeof detail === 'string' && detail.trim() !== '') return detail;
  if (Array.isArray(detail) && detail.length > 0) return detail.map(formatValidationItem).join('; ');
  if (detail && typeof detail === 'object') {
    const maybeMsg = (detail as { message?: unknown }).message;
    if (typeof maybeMsg === 'string') return maybeMsg;
    return JSON.stringify(detail);
  }
  return fallbackMessage(status, statusText);
}

function fallbackMessage(status: number, statusText: string): string {
  const known: Record<number, string> = {
    400: 'Bad request',
    401: 'Not logged in',
    403: 'Forbidden',
    404: 'Not found',
    409: 'Conflict',
    413: 'Upload too large',
    422: 'Invalid input',
    500: 'Server error',
    502: 'Server unreachable (bad gateway)',
    503: 'Service unavailable',
  };
  const text = statusText || known[status] || 'Request failed';
  return `${text} (HTTP ${status})`;
}

/** Build an ApiError from a response body text (JSON `{"detail": ...}` or anything else). */
export function errorFromBody(status: number, bodyText: string, statusText = ''): ApiError {
  let detail: unknown = undefined;
  if (bodyText) {
    try {
      const parsed: unknown = JSON.parse(bodyText);
      if (parsed && typeof parsed === 'object' && 'detail' in parsed) {
        detail = (parsed as { detail: unknown }).detail;
      } else {
        detail = parsed;
      }
    } catch {
      // Not JSON (e.g. a proxy's HTML error page): show a short plain-text excerpt.
      const text = bodyText.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
      if (text && text.length <= 200) detail = text;
    }
  }
  return new ApiError(status, detailToMessage(detail, status, statusText), detail);
}

/** Readable message for anything caught in a page. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

// ---------------------------------------------------------------- transport

export function readCookie(name: string): string | null {
  if (typeof document === 'undefined') return null;
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    }
  }
  return null;
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function csrfHeaders(method: string): Record<string, string> {
  if (!UNSAFE_METHODS.has(method.toUpperCase())) return {};
  const token = CSRF_COOKIES.map(readCookie).find((value) => value !== null) ?? null;
  return token ? { [CSRF_HEADER]: token } : {};
}

type QueryValue = string | number | boolean | null | undefined;

export function buildUrl(path: string, query?: Record<string, QueryValue>): string {
  let url = API_BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += '?' + qs;
  }
  return url;
}

/** Called when a request (other than login/signup/me) answers 401: the session has ended. */
let unauthorizedHandler: (() => void) | null = null;
export function onUnauthorized(handler: (() => void) | null): void {
  unauthorizedHandler = handler;
}

interface RequestOptions {
  json?: unknown;
  form?: FormData;
  query?: Record<string, QueryValue>;
  /** Don't trigger the global "session ended" handler on 401 (auth endpoints). */
  no401Hook?: boolean;
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...csrfHeaders(method) };
  let body: BodyInit | undefined;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    body = opts.form; // the browser sets the multipart boundary
  }
  let res: Response;
  try {
    res = await fetch(buildUrl(path, opts.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiError(0, `Network error: could not reach the server (${errorMessage(err)})`);
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    const error = errorFromBody(res.status, text, res.statusText);
    if (res.status === 401 && !opts.no401Hook) unauthorizedHandler?.();
    throw error;
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, 'The server sent an answer that is not JSON');
  }
}

/**
 * Multipart upload through XMLHttpRequest so the caller gets upload progress (0..1).
 * Resolves with the parsed JSON answer; rejects with ApiError.
 */
export function uploadWithProgress<T>(
  path: string,
  form: FormData,
  onProgress?: (fraction: number, loaded: number, total: number) => void,
  query?: Record<string, QueryValue>,
): { promise: Promise<T>; abort: () => void } {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<T>((resolve, reject) => {
    xhr.open('POST', buildUrl(path, query));
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [k, v] of Object.entries(csrfHeaders('POST'))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e: ProgressEvent) => {
      if (e.lengthComputable && onProgress) onProgress(e.total ? e.loaded / e.total : 0, e.loaded, e.total);
    };
    xhr.onload = () => {
      const text = xhr.responseText ?? '';
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress?.(1, 1, 1);
        try {
          resolve((text ? JSON.parse(text) : undefined) as T);
        } catch {
          reject(new ApiError(xhr.status, 'The server sent an answer that is not JSON'));
        }
      } else {
        if (xhr.status === 401) unauthorizedHandler?.();
        reject(errorFromBody(xhr.status, text, xhr.statusText));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, 'Network error: the upload could not reach the server'));
    xhr.onabort = () => reject(new ApiError(0, 'Upload cancelled'));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

function filesForm(field: string, files: Iterable<File>): FormData {
  const form = new FormData();
  for (const f of files) form.append(field, f, f.name);
  return form;
}

// ---------------------------------------------------------------- routes (from the OpenAPI document)

type Method = 'get' | 'post' | 'put' | 'delete';

/** A route as the OpenAPI document names it, less the base path: '/projects/{project_id}/images'. */
export type Route = keyof paths extends infer K ? (K extends `${typeof API_BASE}${infer R}` ? R : never) : never;

type PathItem<R extends Route> = `${typeof API_BASE}${R}` extends infer K extends keyof paths ? paths[K] : never;

/** The operation `method` on `route` (never when the API has no such operation). */
type Operation<R extends Route, M extends Method> = NonNullable<PathItem<R>[M]>;

type PathParams<O> = O extends { parameters: { path: infer P } } ? P : undefined;
export type QueryOf<R extends Route, M extends Method> =
  Operation<R, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type JsonBody<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type SuccessBody<X> = X extends { content: { 'application/json': infer B } } ? B : void;
/** The answer of a successful call: the JSON of its 2xx response (void for 204). */
export type Answer<R extends Route, M extends Method> =
  Operation<R, M> extends { responses: infer Rs } ? SuccessBody<Rs[keyof Rs & (200 | 201 | 202 | 204)]> : never;

/** `route` with its `{name}` parts filled in from `params` (a path under API_BASE). */
function routePath(route: Route, params?: Record<string, string | number>): string {
  return route.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new Error(`${route}: no value for {${name}}`);
    return encodeURIComponent(String(value));
  });
}

/** The full URL of `route` (for links, downloads, event streams and copy-paste examples). */
function routeUrl<R extends Route>(route: R, params: PathParams<Operation<R, 'get'>> | PathParams<Operation<R, 'post'>>,
                                   query?: Record<string, QueryValue>): string {
  return buildUrl(routePath(route, params as Record<string, string | number> | undefined), query);
}

interface CallOptions<O> {
  path?: PathParams<O>;
  query?: O extends { parameters: { query?: infer Q } } ? Q : never;
  json?: JsonBody<O>;
  form?: FormData;
  /** Don't trigger the global "session ended" handler on 401 (auth endpoints). */
  no401Hook?: boolean;
}

/** One call of the API: `route` and `method` as the OpenAPI document names them. */
function call<R extends Route, M extends Method>(
  method: M,
  route: R,
  opts: CallOptions<Operation<R, M>> = {},
): Promise<Answer<R, M>> {
  const path = routePath(route, opts.path as Record<string, string | number> | undefined);
  return request<Answer<R, M>>(method.toUpperCase(), path, {
    json: opts.json,
    form: opts.form,
    query: opts.query as Record<string, QueryValue> | undefined,
    no401Hook: opts.no401Hook,
  });
}


// ---------------------------------------------------------------- endpoints

const inProject = (projectId: number) => ({ path: { project_id: projectId } });

export const api = {
  health: () => call('get', '/health'),

  // auth
  authOptions: () => call('get', '/auth/options', { no401Hook: true }),
  signup: (email: string, password: string, invite?: string) =>
    call('post', '/auth/signup', { json: { email, password, invite: invite || null }, no401Hook: true }),
  login: (email: string, password: string) =>
    call('post', '/auth/login', { json: { email, password }, no401Hook: true }),
  logout: () => call('post', '/auth/logout', { no401Hook: true }),
  changePassword: (currentPassword: string, newPassword: string) =>
    call('post', '/auth/password', { json: { current_password: currentPassword, new_password: newPassword } }),
  me: () => call('get', '/auth/me', { no401Hook: true }),

  // tokens
  listTokens: () => call('get', '/tokens'),
  /** `expiresInDays`: null for a token that never expires. */
  createToken: (name: string, expiresInDays: number | null = null) =>
    call('post', '/tokens', { json: { name, expires_in_days: expiresInDays } }),
  revokeToken: (tokenId: number) => call('delete', '/tokens/{token_id}', { path: { token_id: tokenId } }),

  // projects & classes
  listProjects: () => call('get', '/projects'),
  createProject: (name: string) => call('post', '/projects', { json: { name } }),
  getProject: (projectId: number) => call('get', '/projects/{project_id}', inProject(projectId)),
  deleteProject: (projectId: number) => call('delete', '/projects/{project_id}', inProject(projectId)),
  addClass: (projectId: number, name: string) =>
    call('post', '/projects/{project_id}/classes', { ...inProject(projectId), json: { name } }),
  deleteClass: (projectId: number, classId: number) =>
    call('delete', '/projects/{project_id}/classes/{class_id}', {
      path: { project_id: projectId, class_id: classId },
    }),

  // images
  upload: (projectId: number, files: Iterable<File>, onProgress?: (fraction: number) => void) =>
    uploadWithProgress<Answer<'/projects/{project_id}/uploads', 'post'>>(
      routePath('/projects/{project_id}/uploads', { project_id: projectId }),
      filesForm('files', files),
      onProgress,
    ),
  listImages: (projectId: number, q: QueryOf<'/projects/{project_id}/images', 'get'> = {}) =>
    call('get', '/projects/{project_id}/images', { ...inProject(projectId), query: q }),
  getImage: (projectId: number, imageId: number) =>
    call('get', '/projects/{project_id}/images/{image_id}', { path: { project_id: projectId, image_id: imageId } }),
  /** Fallback when an Image lacks thumbnail_url. */
  thumbnailUrl: (projectId: number, imageId: number) =>
    routeUrl('/projects/{project_id}/images/{image_id}/thumbnail', { project_id: projectId, image_id: imageId }),
  fileUrl: (projectId: number, imageId: number) =>
    routeUrl('/projects/{project_id}/images/{image_id}/file', { project_id: projectId, image_id: imageId }),

  // search
  similar: (projectId: number, imageId: number, k = 10) =>
    call('get', '/projects/{project_id}/images/{image_id}/similar', {
      path: { project_id: projectId, image_id: imageId },
      query: { k },
    }),
  searchByImage: (projectId: number, file: File, k = 10) => {
    const form = new FormData();
    form.append('file', file, file.name);
    return call('post', '/projects/{project_id}/search', { ...inProject(projectId), form, query: { k } });
  },

  // labeling
  setLabels: (projectId: number, imageIds: number[], classId: number | null) =>
    call('put', '/projects/{project_id}/labels', {
      ...inProject(projectId),
      json: { image_ids: imageIds, class_id: classId },
    }),
  suggestions: (projectId: number, strategy: SuggestStrategy = 'auto', count = 10) =>
    call('get', '/projects/{project_id}/suggestions', { ...inProject(projectId), query: { strategy, count } }),
  /** The classifier's current guess for stored images (409 before a classifier exists). */
  storedPredictions: (projectId: number, imageIds: number[], topK = 3) =>
    call('get', '/projects/{project_id}/predictions', {
      ...inProject(projectId),
      query: { image_ids: imageIds.slice(0, MAX_PREDICTION_IDS).join(','), top_k: topK },
    }),
  /** The 2-D embedding map (409 before embeddings exist). */
  embeddingMap: (projectId: number) => call('get', '/projects/{project_id}/map', inProject(projectId)),

  /** Label images already in the project from a CSV or JSON file of file name → class. */
  importLabels: (projectId: number, file: File) => {
    const form = new FormData();
    form.append('file', file, file.name);
    return call('post', '/projects/{project_id}/labels/import', { ...inProject(projectId), form });
  },
  /** Download URL of the labels (CSV, JSON, or an ImageFolder zip of the images by class). */
  labelsExportUrl: (projectId: number, format: LabelExportFormat) =>
    routeUrl('/projects/{project_id}/labels/export', { project_id: projectId }, { format }),

  // training & prediction
  pretrain: (projectId: number, opts: PretrainOptions = {}) =>
    call('post', '/projects/{project_id}/pretrain', { ...inProject(projectId), json: opts }),
  train: (projectId: number) => call('post', '/projects/{project_id}/train', inProject(projectId)),
  model: (projectId: number) => call('get', '/projects/{project_id}/model', inProject(projectId)),
  /** Fine-tune backbone + head as a job (kind `finetune`), kept only if its cross-validated accuracy
   * beats the linear head's; 409 without a backbone or two labeled classes of at least 2 labels each. */
  startFinetune: (projectId: number, epochs?: number) =>
    call('post', '/projects/{project_id}/finetune', {
      ...inProject(projectId),
      json: epochs === undefined ? {} : { epochs },
    }),
  /** Export the current classifier as a job (kind `export`; 409 before a classifier exists). */
  startModelExport: (projectId: number, format: ModelExportFormat) =>
    call('post', '/projects/{project_id}/model/export', { ...inProject(projectId), query: { format } }),
  /** Download URL of a succeeded export job's file (409 until it succeeded). */
  modelExportUrl: (projectId: number, jobId: number) =>
    routeUrl('/projects/{project_id}/model/export/{job_id}', { project_id: projectId, job_id: jobId }),
  predict: (projectId: number, files: Iterable<File>, topK = 3) =>
    call('post', '/projects/{project_id}/predict', {
      ...inProject(projectId),
      form: filesForm('files', files),
      query: { top_k: topK },
    }),

  // jobs
  listJobs: (projectId: number) => call('get', '/projects/{project_id}/jobs', inProject(projectId)),
  getJob: (jobId: number) => call('get', '/jobs/{job_id}', { path: { job_id: jobId } }),
  jobFiles: (jobId: number, offset = 0, limit = 500) =>
    call('get', '/jobs/{job_id}/files', { path: { job_id: jobId }, query: { offset, limit } }),
  cancelJob: (jobId: number) => call('post', '/jobs/{job_id}/cancel', { path: { job_id: jobId } }),
  /** Queue a failed or cancelled job again (409 otherwise). */
  retryJob: (jobId: number) => call('post', '/jobs/{job_id}/retry', { path: { job_id: jobId } }),
  /** URL of the project's Server-Sent Events stream (`event: job`, data = Job JSON). */
  projectEventsUrl: (projectId: number) => routeUrl('/projects/{project_id}/events', { project_id: projectId }),
};

export const ACTIVE_STATES: JobState[] = ['queued', 'running'];
export function isActive(job: Pick<Job, 'state'>): boolean {
  return ACTIVE_STATES.includes(job.state);
}

// ---------------------------------------------------------------- review and model pages

export type ReviewOrder = NonNullable<QueryOf<'/projects/{project_id}/predictions/review', 'get'>['order']>;

/** The classifier's guesses for unlabeled images by confidence (409 before a classifier exists). */
export function reviewPredictions(
  projectId: number,
  q: QueryOf<'/projects/{project_id}/predictions/review', 'get'> = {},
): Promise<ReviewPage> {
  return call('get', '/projects/{project_id}/predictions/review', { ...inProject(projectId), query: q });
}

/** Labeled images whose label looks wrong, most suspicious first (409 before embeddings exist); held back
 * (no items) while the classifier is not trustworthy. */
export function suspectedMislabels(projectId: number, limit = 50): Promise<Mislabels> {
  return call('get', '/projects/{project_id}/mislabels', { ...inProject(projectId), query: { limit } });
}

/** Labels spread to unlabeled neighbours, most confident first (409 before embeddings exist); held back (no
 * items) while the classifier is not trustworthy. */
export function propagatedLabels(projectId: number, minConfidence = 0, limit = 100): Promise<PropagatedLabels> {
  return call('get', '/projects/{project_id}/propagated-labels', {
    ...inProject(projectId),
    query: { min_confidence: minConfidence, limit },
  });
}

/** Path (under the site's origin) of the prediction endpoint, for copy-paste examples. */
export function predictPath(projectId: number, topK = 3): string {
  return routeUrl('/projects/{project_id}/predict', { project_id: projectId }, { top_k: topK });
}

// ---------------------------------------------------------------- resumable uploads (upload sessions)

const inUploadSession = (uploadId: string) => ({ path: { upload_id: uploadId } });

/**
 * PUT one chunk (bytes `start`..`start + chunk.size - 1` of a `total`-byte file) through XMLHttpRequest so
 * the caller sees the chunk's upload progress. Rejects with ApiError (status 0: the connection failed;
 * 409: the chunk does not start at the server's `received`), or with an AbortError when `signal` aborts.
 */
function putUploadChunk(
  uploadId: string,
  chunk: Blob,
  start: number,
  total: number,
  onProgress?: (loaded: number) => void,
  signal?: AbortSignal,
): Promise<Answer<'/upload-sessions/{upload_id}', 'put'>> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DOMException('Upload cancelled', 'AbortError'));
      return;
    }
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    xhr.open('PUT', routeUrl('/upload-sessions/{upload_id}', { upload_id: uploadId }));
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Content-Range', `bytes ${start}-${start + chunk.size - 1}/${total}`);
    for (const [k, v] of Object.entries(csrfHeaders('PUT'))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e: ProgressEvent) => onProgress?.(Math.min(e.loaded, chunk.size));
    xhr.onload = () => {
      done();
      const text = xhr.responseText ?? '';
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(text) as Answer<'/upload-sessions/{upload_id}', 'put'>);
        } catch {
          reject(new ApiError(xhr.status, 'The server sent an answer that is not JSON'));
        }
        return;
      }
      if (xhr.status === 401) unauthorizedHandler?.();
      reject(errorFromBody(xhr.status, text, xhr.statusText));
    };
    xhr.onerror = () => {
      done();
      reject(new ApiError(0, 'Network error: a chunk of the upload could not reach the server'));
    };
    xhr.onabort = () => {
      done();
      reject(new DOMException('Upload cancelled', 'AbortError'));
    };
    xhr.send(chunk);
  });
}

export const uploadSessions = {
  open: (projectId: number, filename: string, size: number) =>
    call('post', '/projects/{project_id}/upload-sessions', { ...inProject(projectId), json: { filename, size } }),
  /** Where to resume: the session with the bytes the server holds. 404 once it expired or ended. */
  get: (uploadId: string) => call('get', '/upload-sessions/{upload_id}', inUploadSession(uploadId)),
  putChunk: putUploadChunk,
  /** Cancel: the server removes the partial file. */
  cancel: (uploadId: string) => call('delete', '/upload-sessions/{upload_id}', inUploadSession(uploadId)),
  /** One ingest job over finished uploads (all of this project, every byte received). */
  complete: (projectId: number, uploadIds: string[]) =>
    call('post', '/projects/{project_id}/upload-sessions/complete', {
      ...inProject(projectId),
      json: { session_ids: uploadIds },
    }),
};
