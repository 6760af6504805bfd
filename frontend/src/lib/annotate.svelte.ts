// One-image-at-a-time labeling: a queue of suggestions, optimistic labels sent in order, undo, skip,
// the classifier's current guess and the image's nearest neighbours.

import {
  api,
  ApiError,
  errorMessage,
  MAX_PREDICTION_IDS,
  type ClassProbability,
  type Image,
  type SearchHit,
  type StoredPredictions,
  type SearchResult,
  type Suggestion,
  type Suggestions,
  type SuggestStrategy,
} from './api';
import { UndoStack, undoRequests, type LabelAction } from './undo';

export type GuessStatus = 'loading' | 'ok' | 'no-model' | 'unavailable' | 'error';

export interface AnnotateDeps {
  suggestions: (projectId: number, strategy: SuggestStrategy, count: number) => Promise<Suggestions>;
  setLabels: (projectId: number, imageIds: number[], classId: number | null) => Promise<{ updated: number }>;
  predictions: (projectId: number, imageIds: number[]) => Promise<StoredPredictions>;
  similar: (projectId: number, imageId: number, k: number) => Promise<SearchResult>;
}

const defaultDeps: AnnotateDeps = {
  suggestions: (p, s, c) => api.suggestions(p, s, c),
  setLabels: (p, ids, c) => api.setLabels(p, ids, c),
  predictions: (p, ids) => api.storedPredictions(p, ids, 3),
  similar: (p, id, k) => api.similar(p, id, k),
};

const BATCH = 20;
const NEIGHBOURS = 8;

export class AnnotateSession {
  queue = $state<Suggestion[]>([]);
  index = $state(0);
  strategy = $state<SuggestStrategy>('auto');
  usedStrategy = $state('');
  loading = $state(false);
  /** No more suggestions (everything labeled or skipped). */
  exhausted = $state(false);
  error = $state<string | null>(null);
  notice = $state('');
  /** Local labels (image id -> class id) applied since the queue was loaded; they win over the queue's. */
  labels = $state<Record<number, number | null>>({});
  skipped = $state<number[]>([]);
  labeledCount = $state(0);
  undoSize = $state(0);

  guesses = $state<Record<number, ClassProbability[]>>({});
  guessStatus = $state<GuessStatus>('loading');
  guessMessage = $state('');

  neighbours = $state<SearchHit[]>([]);
  neighboursFor = $state<number | null>(null);
  neighboursError = $state<string | null>(null);
  selectedNeighbours = $state<number[]>([]);

  private readonly undo = new UndoStack<LabelAction>(200);
  private chain: Promise<unknown> = Promise.resolve();
  private fetching: Promise<void> | null = null;
  private neighbourToken = 0;

  constructor(
    readonly projectId: number,
    private readonly deps: AnnotateDeps = defaultDeps,
    private readonly onchange: () => void = () => {},
  ) {}

  get current(): Suggestion | undefined {
    return this.queue[this.index];
  }

  classOf(image: Pick<Image, 'id' | 'class_id'>): number | null {
    return image.id in this.labels ? (this.labels[image.id] ?? null) : image.class_id;
  }

  /** Load the first batch (or start over: forget skips). */
  async start(): Promise<void> {
    this.queue = [];
    this.index = 0;
    this.skipped = [];
    this.exhausted = false;
    this.notice = '';
    await this.fetchMore();
    this.loadNeighbours();
  }

  /** Append suggestions not seen yet. */
  fetchMore(): Promise<void> {
    if (this.fetching) return this.fetching;
    this.fetching = (async () => {
      this.loading = true;
      try {
        // Deterministic strategies return the same top images until they are labeled: ask for enough to
        // get past the ones skipped.
        const count = Math.min(500, BATCH + this.skipped.length);
        const res = await this.deps.suggestions(this.projectId, this.strategy, count);
        this.usedStrategy = res.strategy;
        const seen = new Set(this.queue.map((s) => s.image.id));
        const fresh = res.items.filter((s) => !seen.has(s.image.id) && this.classOf(s.image) === null);
        this.queue = [...this.queue, ...fresh];
        this.exhausted = fresh.length === 0;
        this.error = null;
        this.loadGuesses(fresh.map((s) => s.image.id));
      } catch (err) {
        this.error = `Could not load suggestions: ${errorMessage(err)}`;
      } finally {
        this.loading = false;
        this.fetching = null;
      }
    })();
    return this.fetching;
  }

  private async loadGuesses(ids: number[]): Promise<void> {
    if (ids.length === 0 || this.guessStatus === 'no-model' || this.guessStatus === 'unavailable') return;
    try {
      const res = await this.deps.predictions(this.projectId, ids.slice(0, MAX_PREDICTION_IDS));
      const next = { ...this.guesses };
      for (const item of res.items) next[item.image_id] = item.top_k;
      this.guesses = next;
      this.guessStatus = 'ok';
      this.guessMessage = `model ${res.model_version}`;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        this.guessStatus = 'no-model';
        this.guessMessage = 'No classifier yet — label a few images per class and train to see its guess.';
      } else if (err instanceof ApiError && err.status === 404) {
        this.guessStatus = 'unavailable';
        this.guessMessage = 'This server does not offer stored predictions.';
      } else {
        this.guessStatus = 'error';
        this.guessMessage = `Could not load the model's guess: ${errorMessage(err)}`;
      }
    }
  }

  /** Another classifier is served (e.g. an automatic retrain finished): ask for its guess on the images ahead. */
  modelChanged(): void {
    if (this.guessStatus === 'unavailable') return;
    this.guessStatus = 'loading';
    this.guesses = {};
    void this.loadGuesses(this.queue.slice(this.index).map((s) => s.image.id));
  }

  async loadNeighbours(): Promise<void> {
    const cur = this.current;
    this.selectedNeighbours = [];
    if (!cur) {
      this.neighbours = [];
      this.neighboursFor = null;
      return;
    }
    if (this.neighboursFor === cur.image.id) return;
    const token = ++this.neighbourToken;
    this.neighboursFor = cur.image.id;
    this.neighbours = [];
    this.neighboursError = null;
    try {
      const res = await this.deps.similar(this.projectId, cur.image.id, NEIGHBOURS);
      if (token !== this.neighbourToken) return;
      this.neighbours = res.items.filter((h) => h.image.id !== cur.image.id).slice(0, NEIGHBOURS);
    } catch (err) {
      if (token !== this.neighbourToken) return;
      this.neighboursError =
        err instanceof ApiError && err.status === 409
          ? 'Neighbours appear once the project is pretrained.'
          : `Could not load neighbours: ${errorMessage(err)}`;
    }
  }

  toggleNeighbour(imageId: number): void {
    this.selectedNeighbours = this.selectedNeighbours.includes(imageId)
      ? this.selectedNeighbours.filter((id) => id !== imageId)
      : [...this.selectedNeighbours, imageId];
  }

  selectAllNeighbours(): void {
    this.selectedNeighbours =
      this.selectedNeighbours.length === this.neighbours.length ? [] : this.neighbours.map((h) => h.image.id);
  }

  /** Send requests strictly in order (a label, then its undo). */
  private send(fn: () => Promise<unknown>): Promise<unknown> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private setLocal(ids: Iterable<[number, number | null]>): void {
    const next = { ...this.labels };
    for (const [id, cls] of ids) next[id] = cls;
    this.labels = next;
  }

  private neighbourClass(id: number): number | null {
    const hit = this.neighbours.find((h) => h.image.id === id);
    return hit ? this.classOf(hit.image) : null;
  }

  /** Label the current image (and the selected neighbours), then show the next one. */
  label(classId: number): void {
    const cur = this.current;
    if (!cur) return;
    const ids = [cur.image.id, ...this.selectedNeighbours.filter((id) => id !== cur.image.id)];
    const previous = new Map<number, number | null>([[cur.image.id, this.classOf(cur.image)]]);
    for (const id of ids.slice(1)) previous.set(id, this.neighbourClass(id));
    const action: LabelAction = { previous, applied: classId, focusImageId: cur.image.id };
    this.setLocal(ids.map((id) => [id, classId]));
    this.undo.push(action);
    this.undoSize = this.undo.size;
    this.labeledCount += 1;
    const n = ids.length - 1;
    this.notice = n > 0 ? `${ids.length} images labeled (with ${n} neighbour${n === 1 ? '' : 's'})` : '';
    this.error = null;
    this.send(() => this.deps.setLabels(this.projectId, ids, classId)).then(
      () => this.onchange(),
      (err) => {
        // Roll back: the label did not stick.
        this.undo.remove(action);
        this.undoSize = this.undo.size;
        this.labeledCount -= 1;
        this.setLocal(previous);
        this.error = `Could not label ${cur.image.filename}: ${errorMessage(err)}`;
      },
    );
    this.next();
  }

  /** Restore the labels the last action replaced and show its image again. */
  async undoLast(): Promise<void> {
    const action = this.undo.pop();
    this.undoSize = this.undo.size;
    if (!action) {
      this.notice = 'Nothing to undo.';
      return;
    }
    this.setLocal(action.previous);
    this.labeledCount = Math.max(0, this.labeledCount - 1);
    const at = this.queue.findIndex((s) => s.image.id === action.focusImageId);
    if (at >= 0) {
      this.index = at;
      this.exhausted = false;
    }
    this.notice = `Undone: ${action.previous.size} image${action.previous.size === 1 ? '' : 's'} restored`;
    this.loadNeighbours();
    try {
      for (const req of undoRequests(action)) {
        await this.send(() => this.deps.setLabels(this.projectId, req.imageIds, req.classId));
      }
      this.onchange();
    } catch (err) {
      this.error = `Could not undo: ${errorMessage(err)}`;
    }
  }

  skip(): void {
    const cur = this.current;
    if (!cur) return;
    if (!this.skipped.includes(cur.image.id)) this.skipped = [...this.skipped, cur.image.id];
    this.notice = '';
    this.next();
  }

  back(): void {
    if (this.index > 0) {
      this.index -= 1;
      this.exhausted = false;
      this.loadNeighbours();
    }
  }

  /** Move to the next image still unlabeled; fetch more when the queue runs low. */
  next(): void {
    let i = this.index + 1;
    while (i < this.queue.length && this.classOf(this.queue[i]!.image) !== null) i++;
    this.index = i;
    if (this.queue.length - i <= 3 && !this.exhausted) {
      // Fresh suggestions are appended, so the index now points at the first of them (if any).
      this.fetchMore().then(() => this.loadNeighbours());
    }
    this.loadNeighbours();
  }

  /** Resolves when every label / undo request sent so far has been answered. */
  settled(): Promise<unknown> {
    return this.chain;
  }
}
