// The ONE module that knows the REST API's URLs (contract: docs/api.md, base path /api/v1).
// Every request sends credentials: 'same-origin'; state-changing requests carry the CSRF header.

export const API_BASE = '/api/v1';
export const CSRF_COOKIE = 'll_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';

// ---------------------------------------------------------------- types (mirror docs/api.md)

export interface User {
  id: number;
  email: string;
  created_at: string;
}

export interface Token {
  id: number;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

export interface TokenCreated {
  id: number;
  name: string;
  created_at: string;
  token: string;
}

export interface Class {
  id: number;
  name: string;
  color: string;
  hotkey: string | null;
}

export interface Project {
  id: number;
  name: string;
  created_at: string;
  image_count: number;
  labeled_count: number;
  classes: Class[];
  backbone_version: number | null;
  classifier_version: number | null;
  cv_accuracy: number | null;
  /** The newest of: creation, an image upload, a label, a job created or finished. */
  last_activity_at: string;
}

export interface Image {
  id: number;
  filename: string;
  width: number;
  height: number;
  class_id: number | null;
  thumbnail_url: string;
  file_url: string;
}

export interface ImagePage {
  items: Image[];
  total: number;
}

export type JobKind = 'ingest' | 'pretrain' | 'embed' | 'train' | 'predict' | 'export';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobProgress {
  stage: string;
  fraction: number;
  epoch?: number;
  epochs?: number;
  loss?: number;
  images_per_s?: number;
  eta_s?: number;
  /** Pretraining: [[step, loss], ...], at most 200 points. */
  loss_history?: [number, number][];
}

export type IngestFileStatus = 'accepted' | 'duplicate' | 'rejected';

export interface IngestFileReport {
  name: string;
  status: IngestFileStatus;
  reason?: string;
  image_id?: number;
}

export interface IngestResult {
  accepted: number;
  duplicate: number;
  rejected: number;
  files: IngestFileReport[];
}

export interface PretrainResult {
  backbone_version: number;
  epochs: number;
  final_loss: number;
}

export interface TrainResult {
  classifier_version: number;
  cv_accuracy: number;
  n_labels: number;
  n_folds: number;
}

export type ModelExportFormat = 'onnx' | 'torchscript';

/** Result of an `export` job: the file holds backbone + head; input images in [0, 1] at `input.size`. */
export interface ModelExportResult {
  format: ModelExportFormat;
  filename: string;
  bytes: number;
  model_version: string;
  /** Class name of each output column, in order. */
  classes: string[];
  input: { layout: 'NCHW'; size: [number, number]; dtype: string; range: [number, number] };
}

export interface Job {
  id: number;
  project_id: number;
  kind: JobKind;
  state: JobState;
  progress: JobProgress;
  result: Record<string, unknown> | null;
  error: string | null;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export const SUGGEST_STRATEGIES = [
  'auto',
  'random',
  'cold_start',
  'probcover',
  'k_center',
  'margin',
  'least_confidence',
  'entropy',
  'hybrid',
] as const;
export type SuggestStrategy = (typeof SUGGEST_STRATEGIES)[number];

/** What each strategy picks (shown in the strategy menus). */
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

export interface SuggestionReason {
  strategy: string;
  [score: string]: unknown;
}

export interface Suggestion {
  image: Image;
  reason: SuggestionReason;
}

export interface Suggestions {
  strategy: string;
  items: Suggestion[];
}

export interface SearchHit {
  image: Image;
  score: number;
}

export interface SearchResult {
  backbone_version: number | null;
  items: SearchHit[];
}

export interface ClassifierInfo {
  version: number;
  cv_accuracy: number | null;
  n_labels: number;
  n_folds: number;
  classes: Class[];
  /** Out-of-fold report (null for classifiers trained before reports existed). */
  metrics: ClassificationReport | null;
  created_at: string;
}

export interface ModelInfo {
  backbone_version: number | null;
  classifier: ClassifierInfo | null;
  learning_curve: LearningCurvePoint[];
}

export interface ClassProbability {
  class_id: number;
  class_name: string;
  probability: number;
}

export interface FilePrediction {
  filename: string;
  top_k: ClassProbability[];
}

export interface Prediction {
  model_version: string;
  backbone_version: number | null;
  classifier_version: number | null;
  predictions: FilePrediction[];
}

/** GET /projects/{id}/predictions: the classifier's guess for stored images (from stored embeddings). */
export interface ImagePrediction {
  image_id: number;
  top_k: ClassProbability[];
}

export interface StoredPredictions {
  model_version: string;
  items: ImagePrediction[];
}

/** GET /projects/{id}/map: a 2-D map of the embeddings, x and y in [0, 1]. */
export interface MapPoint {
  image_id: number;
  x: number;
  y: number;
  class_id: number | null;
}

export interface EmbeddingMap {
  backbone_version: number;
  points: MapPoint[];
}

/** At most this many ids per GET /predictions request. */
export const MAX_PREDICTION_IDS = 500;

export interface PretrainOptions {
  epochs?: number;
  batch_size?: number;
  image_size?: number;
}

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
  const token = readCookie(CSRF_COOKIE);
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

// ---------------------------------------------------------------- endpoints

const p = (projectId: number) => `/projects/${projectId}`;

export const api = {
  health: () => request<{ status: string }>('GET', '/health'),

  // auth
  signup: (email: string, password: string) =>
    request<User>('POST', '/auth/signup', { json: { email, password }, no401Hook: true }),
  login: (email: string, password: string) =>
    request<User>('POST', '/auth/login', { json: { email, password }, no401Hook: true }),
  logout: () => request<void>('POST', '/auth/logout', { no401Hook: true }),
  me: () => request<User>('GET', '/auth/me', { no401Hook: true }),

  // tokens
  listTokens: () => request<Token[]>('GET', '/tokens'),
  createToken: (name: string) => request<TokenCreated>('POST', '/tokens', { json: { name } }),
  revokeToken: (tokenId: number) => request<void>('DELETE', `/tokens/${tokenId}`),

  // projects & classes
  listProjects: () => request<Project[]>('GET', '/projects'),
  createProject: (name: string) => request<Project>('POST', '/projects', { json: { name } }),
  getProject: (projectId: number) => request<Project>('GET', p(projectId)),
  deleteProject: (projectId: number) => request<void>('DELETE', p(projectId)),
  addClass: (projectId: number, name: string) =>
    request<Class>('POST', `${p(projectId)}/classes`, { json: { name } }),
  deleteClass: (projectId: number, classId: number) =>
    request<void>('DELETE', `${p(projectId)}/classes/${classId}`),

  // images
  upload: (projectId: number, files: Iterable<File>, onProgress?: (fraction: number) => void) =>
    uploadWithProgress<Job>(`${p(projectId)}/uploads`, filesForm('files', files), onProgress),
  listImages: (
    projectId: number,
    q: { labeled?: boolean; class_id?: number; offset?: number; limit?: number } = {},
  ) => request<ImagePage>('GET', `${p(projectId)}/images`, { query: q }),
  getImage: (projectId: number, imageId: number) =>
    request<Image>('GET', `${p(projectId)}/images/${imageId}`),
  /** Fallback when an Image lacks thumbnail_url. */
  thumbnailUrl: (projectId: number, imageId: number) =>
    buildUrl(`${p(projectId)}/images/${imageId}/thumbnail`),
  fileUrl: (projectId: number, imageId: number) => buildUrl(`${p(projectId)}/images/${imageId}/file`),

  // search
  similar: (projectId: number, imageId: number, k = 10) =>
    request<SearchResult>('GET', `${p(projectId)}/images/${imageId}/similar`, { query: { k } }),
  searchByImage: (projectId: number, file: File, k = 10) => {
    const form = new FormData();
    form.append('file', file, file.name);
    return request<SearchResult>('POST', `${p(projectId)}/search`, { form, query: { k } });
  },

  // labeling
  setLabels: (projectId: number, imageIds: number[], classId: number | null) =>
    request<{ updated: number }>('PUT', `${p(projectId)}/labels`, {
      json: { image_ids: imageIds, class_id: classId },
    }),
  suggestions: (projectId: number, strategy: SuggestStrategy = 'auto', count = 10) =>
    request<Suggestions>('GET', `${p(projectId)}/suggestions`, { query: { strategy, count } }),
  /** The classifier's current guess for stored images (409 before a classifier exists). */
  storedPredictions: (projectId: number, imageIds: number[], topK = 3) =>
    request<StoredPredictions>('GET', `${p(projectId)}/predictions`, {
      query: { image_ids: imageIds.slice(0, MAX_PREDICTION_IDS).join(','), top_k: topK },
    }),
  /** The 2-D embedding map (409 before embeddings exist). */
  embeddingMap: (projectId: number) => request<EmbeddingMap>('GET', `${p(projectId)}/map`),

  // training & prediction
  pretrain: (projectId: number, opts: PretrainOptions = {}) =>
    request<Job>('POST', `${p(projectId)}/pretrain`, { json: opts }),
  train: (projectId: number) => request<Job>('POST', `${p(projectId)}/train`),
  model: (projectId: number) => request<ModelInfo>('GET', `${p(projectId)}/model`),
  /** Export the current classifier as a job (kind `export`; 409 before a classifier exists). */
  startModelExport: (projectId: number, format: ModelExportFormat) =>
    request<Job>('POST', `${p(projectId)}/model/export`, { query: { format } }),
  /** Download URL of a succeeded export job's file (409 until it succeeded). */
  modelExportUrl: (projectId: number, jobId: number) => buildUrl(`${p(projectId)}/model/export/${jobId}`),
  predict: (projectId: number, files: Iterable<File>, topK = 3) =>
    request<Prediction>('POST', `${p(projectId)}/predict`, {
      form: filesForm('files', files),
      query: { top_k: topK },
    }),

  // jobs
  listJobs: (projectId: number) => request<Job[]>('GET', `${p(projectId)}/jobs`),
  getJob: (jobId: number) => request<Job>('GET', `/jobs/${jobId}`),
  cancelJob: (jobId: number) => request<Job>('POST', `/jobs/${jobId}/cancel`),
  /** Queue a failed or cancelled job again (409 otherwise). */
  retryJob: (jobId: number) => request<Job>('POST', `/jobs/${jobId}/retry`),
  /** URL of the project's Server-Sent Events stream (`event: job`, data = Job JSON). */
  projectEventsUrl: (projectId: number) => buildUrl(`${p(projectId)}/events`),
};

export const ACTIVE_STATES: JobState[] = ['queued', 'running'];
export function isActive(job: Pick<Job, 'state'>): boolean {
  return ACTIVE_STATES.includes(job.state);
}

// ---------------------------------------------------------------- review and model pages

/** Out-of-fold classification report; `confusion[i][j]`: images of `classes[i]` predicted `classes[j]`. */
export interface ClassificationReport {
  accuracy: number;
  classes: number[];
  precision: number[];
  recall: number[];
  support: number[];
  confusion: number[][];
}

export interface LearningCurvePoint {
  version: number;
  n_labels: number;
  cv_accuracy: number | null;
}

export interface ReviewItem {
  image: Image;
  /** The guessed class (the top one) and its probability. */
  class_id: number;
  confidence: number;
  top: { class_id: number; probability: number }[];
}

export interface ReviewPage {
  model_version: string;
  total: number;
  items: ReviewItem[];
}

export type ReviewOrder = 'asc' | 'desc';

export interface Mislabel {
  image: Image;
  suggested_class_id: number;
  score: number;
}

export interface TentativeLabel {
  image: Image;
  class_id: number;
  confidence: number;
}

/** The classifier's guesses for unlabeled images by confidence (409 before a classifier exists). */
export function reviewPredictions(
  projectId: number,
  q: { class_id?: number; order?: ReviewOrder; offset?: number; limit?: number } = {},
): Promise<ReviewPage> {
  return request<ReviewPage>('GET', `${p(projectId)}/predictions/review`, { query: q });
}

/** Labeled images whose label looks wrong, most suspicious first (409 before embeddings exist). */
export function suspectedMislabels(projectId: number, limit = 50): Promise<Mislabel[]> {
  return request<Mislabel[]>('GET', `${p(projectId)}/mislabels`, { query: { limit } });
}

/** Labels spread to unlabeled neighbours, most confident first (409 before embeddings exist). */
export function propagatedLabels(projectId: number, minConfidence = 0, limit = 100): Promise<TentativeLabel[]> {
  return request<TentativeLabel[]>('GET', `${p(projectId)}/propagated-labels`, {
    query: { min_confidence: minConfidence, limit },
  });
}

/** Path (under the site's origin) of the prediction endpoint, for copy-paste examples. */
export function predictPath(projectId: number, topK = 3): string {
  return buildUrl(`${p(projectId)}/predict`, { top_k: topK });
}

// ---------------------------------------------------------------- resumable uploads (upload sessions)

/** A file arriving in chunks: POST /projects/{id}/upload-sessions, then PUT chunks, then complete. */
export interface UploadSession {
  id: string;
  filename: string;
  size: number;
  /** Bytes the server holds; the next chunk must start here. */
  received: number;
  /** The server's chunk size: send chunks of at most this many bytes. */
  chunk_size: number;
  expires_at: string;
}

const uploadSessionUrl = (uploadId: string) => `/upload-sessions/${encodeURIComponent(uploadId)}`;

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
): Promise<UploadSession> {
  return new Promise<UploadSession>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DOMException('Upload cancelled', 'AbortError'));
      return;
    }
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    xhr.open('PUT', buildUrl(uploadSessionUrl(uploadId)));
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
          resolve(JSON.parse(text) as UploadSession);
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
    request<UploadSession>('POST', `${p(projectId)}/upload-sessions`, { json: { filename, size } }),
  /** Where to resume: the session with the bytes the server holds. 404 once it expired or ended. */
  get: (uploadId: string) => request<UploadSession>('GET', uploadSessionUrl(uploadId)),
  putChunk: putUploadChunk,
  /** Cancel: the server removes the partial file. */
  cancel: (uploadId: string) => request<void>('DELETE', uploadSessionUrl(uploadId)),
  /** One ingest job over finished uploads (all of this project, every byte received). */
  complete: (projectId: number, uploadIds: string[]) =>
    request<Job>('POST', `${p(projectId)}/upload-sessions/complete`, { json: { session_ids: uploadIds } }),
};
