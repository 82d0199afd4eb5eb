import { ExplanationUnavailableError, InferenceFailedError, ModelLoadError, ModelNotFoundError, ModelNotReadyError, NoChallengerError, NotTheChallengerError, ServiceClosingError } from '../errors.js';
import { inChallengerShare, type ChallengerRouting } from './challenger-routing.js';
import { checkRows, featuresOf, packRows, type FeatureRow } from './feature-rows.js';
import { MicroBatcher } from './micro-batcher.js';
import { timeOrderedUuids } from './time-ordered-id.js';
import type { Model, ModelLoader, ModelOutputs, ModelRole, ServedModel } from './model.js';
import { ModelHandle } from './model-handle.js';

/** One row's answer: P(churn), the model that produced it and how long its model run took. */
/** A promotion that swapped the two models. */
export interface Promotion {
  changed: true;
  champion: ServedModel;
  challenger: ServedModel;
}

/** A promotion asked for the model that is the champion already: nothing changed. */
export interface NoPromotion {
  changed: false;
  champion: ServedModel;
  challenger: ServedModel | undefined;
}

export interface Score {
  probability: number;
  model: ServedModel;
  /** The place `model` held when it scored the row. */
  role: ModelRole;
  /** Packing the tensor plus the model call that scored this row, in ms. */
  inferenceMs: number;
  /** How long the row waited in the micro-batch queue before its run started, in ms (0 when it ran at once). */
  queuedMs: number;
  /** The run that scored the row: ModelRun.runId, so a request can be tied to the model call that served it. */
  runId: number;
  /** Every output of the run that scored this row (shared by the rows of that run), and this row's index in it. */
  outputs: ModelOutputs;
  row: number;
}

/** One model call, as observers see it. */
export interface ModelRun {
  /** Counts this data plane's model calls from 1: unique within the process, named by each score it made (Score.runId). */
  readonly runId: number;
  readonly model: ServedModel;
  readonly role: ModelRole;
  /** True when the run's scores answer callers; false for a shadow run (scores only logged). */
  readonly served: boolean;
  readonly rows: number;
  /** The rows as the model read them: float32, row-major in the model's column order. */
  readonly features: Float32Array;
  /** The request each row came from, row by row (ids as the calling protocol named them; undefined when none was given). */
  readonly requestIds: readonly (string | undefined)[];
}

/** A model call that scored its rows. */
export interface ScoredRun extends ModelRun {
  readonly outputs: ModelOutputs;
  /** Packing the tensor plus the model call, in seconds. */
  readonly seconds: number;
}

/** Predictions answered to a caller: what the data plane counts as served. */
export interface ServedPredictions {
  /** The protocol that answered (a label for counting, nothing more). */
  readonly protocol: string;
  /** The model of the first row; in a canary batch split between the models, each score names its own. */
  readonly model: ServedModel;
  readonly scores: readonly Score[];
  /** One key per row, unique: a shadow score of the same row carries the same key (the prediction log's row_key). */
  readonly rowKeys: readonly string[];
  readonly requestId: string | undefined;
  /** The rows as the caller sent them, in the order of `scores`. */
  readonly rows: readonly FeatureRow[];
  /** The caller's reference for each row (a CRM id, say), when its protocol carries one. */
  readonly customerIds: readonly (string | undefined)[] | undefined;
}

/** Scores of rows already answered, made off the request path by the model that did not answer them. */
export interface ShadowPredictions {
  readonly model: ServedModel;
  readonly role: ModelRole;
  readonly scores: readonly Score[];
  readonly rows: readonly FeatureRow[];
  /** The served row's key, row by row (see ServedPredictions.rowKeys). */
  readonly rowKeys: readonly string[];
  readonly protocols: readonly string[];
  readonly requestIds: readonly (string | undefined)[];
  readonly customerIds: readonly (string | undefined)[];
}

/**
 * Why shadow rows were never scored: the queue was full, the model meant to score them was gone by
 * their turn, a promotion swapped the roles of the queued rows' models (their pairs would have one
 * role twice), or they came once the shadow queue was drained for the shutdown.
 */
export type ShadowDropReason = 'queue_full' | 'model_gone' | 'promoted' | 'closing';

/**
 * What the data plane reports as it works. Metrics, the run log and monitors (drift) listen here;
 * a new monitor, a prediction log or a shadow scorer is one more observer. Observers run on the
 * scoring path: they must be cheap and must not throw.
 */
export interface DataPlaneObserver {
  /** A model became the one serving `role` (at start-up, on reload, on a challenger's load, or by a promotion). */
  modelLoaded?(model: ServedModel, role: ModelRole): void;
  /** No model holds `role` any more (the challenger was dropped). */
  modelUnloaded?(role: ModelRole): void;
  /** Rows answered by one model were scored by the other, in shadow. */
  shadowScored?(shadow: ShadowPredictions): void;
  /** Shadow rows that will never be scored. */
  shadowDropped?(rows: number, reason: ShadowDropReason): void;
  rowsScored?(run: ScoredRun): void;
  runFailed?(run: ModelRun, error: unknown): void;
  /** A caller's rows waited this long in the micro-batch queue before their run started. */
  queueWaited?(seconds: number, requestId: string | undefined): void;
  predictionsServed?(served: ServedPredictions): void;
}

/** A model a caller asks for by name, and by version when it names one. */
export interface ModelReference {
  name: string;
  version?: string | undefined;
}

/** Rows to score for a caller of one protocol. */
export interface PredictionRequest {
  rows: FeatureRow[];
  protocol: string;
  /** The model asked for; the one serving when unset. */
  model?: ModelReference;
  requestId?: string;
  /**
   * The caller's reference for each row, when its protocol carries one: passed on to observers, and
   * read only to keep a customer with one model in a canary.
   */
  customerIds?: readonly (string | undefined)[];
  /**
   * How a canary may split the request: `row` (the default) routes each row on its own, so a batch
   * may be answered by both models (each score names its model); `request` keeps the whole request
   * on one model, chosen by its first customer id (or a draw without one), for a protocol whose
   * answer names a single model version (the Open Inference Protocol).
   */
  canarySplit?: 'row' | 'request';
  /**
   * The caller needs each score explained: a canary that cannot explain does not answer it (the
   * champion does, as for a pinned version), and a model that cannot explain fails the request
   * (ExplanationUnavailableError) before anything is counted as served.
   */
  explain?: boolean;
}

export interface Predictions {
  /** The model of the first row: the model that scored every row unless a canary split the request. */
  model: ServedModel;
  scores: Score[];
}

export interface DataPlaneOptions {
  /** The name callers use for the served model (MODEL_NAME). */
  modelName: string;
  /** Loads and checks a model file: the seam between the data plane and a model backend. */
  loader: ModelLoader;
  microBatching: {
    enabled: boolean;
    maxRows: number;
    maxDelayMs: number;
    /** Multi-row calls join the shared queue too, instead of running as their own call. */
    multiRow: boolean;
  };
  /** Most shadow rows waiting to be scored (SHADOW_QUEUE_MAX_ROWS; 10,000 by default); more are dropped and counted (see shadowDropped). */
  shadowQueueRows?: number;
  observers?: readonly DataPlaneObserver[];
  /** Told when an observer throws; the scoring goes on without it. */
  onObserverError?: (error: unknown) => void;
}

/** A row and the request it came from, as it waits in the micro-batch queue. */
interface QueuedRow {
  row: FeatureRow;
  requestId: string | undefined;
  /** The model the row was routed to; undefined: the champion current when the run starts. */
  target: Model | undefined;
  /** performance.now() when the row joined the queue. */
  enqueuedAt: number;
}

/** A row answered already, waiting for the other model to score it. */
interface ShadowRow {
  row: FeatureRow;
  rowKey: string;
  protocol: string;
  requestId: string | undefined;
  customerId: string | undefined;
  /** The model to score it: it must still be the champion or the challenger by the row's turn. */
  target: Model;
}

const SHADOW_OFF: ChallengerRouting = { mode: 'shadow', share: 1 };
/** Refuses explanations for a score of `model` when it has no explainer. */
function checkExplainable(model: ServedModel): void {
  if (!model.explainer) throw new ExplanationUnavailableError(model.version, model.explanationsUnavailable ?? 'it has no explainer');
}

/** How long a partly filled shadow queue waits for more rows before its run. */
export const SHADOW_LINGER_MS = 10;

/**
 * Rows in, scores out: the one path from feature rows to P(churn) under every protocol. It owns
 * the model handles (the champion's and the challenger's, each with safe swaps), the micro-batchers
 * and the feature contract's checks, resolves the model a caller names, routes rows between the
 * champion and a challenger (shadow or canary), scores shadow rows off the request path, and
 * reports what it scores and serves to its observers. It knows nothing of HTTP or of any protocol's shapes.
 */
export class DataPlane {
  readonly #models: ModelHandle;
  readonly #challenger: ModelHandle;
  readonly #options: DataPlaneOptions;
  readonly #observers: DataPlaneObserver[];
  readonly #batchers: Readonly<Record<ModelRole, MicroBatcher<QueuedRow, Score>>> | undefined;
  #routing: ChallengerRouting = SHADOW_OFF;
  #shadow: ShadowRow[] = [];
  /** The loop scoring shadow rows, while it runs. */
  #shadowLoop: Promise<void> | undefined;
  /** No more rows are queued for shadow: drainShadow or close has begun. */
  #shadowClosed = false;
  #closing = false;
  #runCount = 0;

  constructor(options: DataPlaneOptions) {
    this.#options = options;
    this.#models = new ModelHandle(options.loader);
    this.#challenger = new ModelHandle(options.loader);
    this.#observers = [...(options.observers ?? [])];
    const { microBatching } = options;
    const batcher = () =>
      new MicroBatcher<QueuedRow, Score>({
        run: (queued) => this.#runQueued(queued),
        maxBatchRows: microBatching.maxRows,
        maxDelayMs: microBatching.maxDelayMs,
        onQueueWait: (waitedMs, first) => this.#notify((observer) => observer.queueWaited?.(waitedMs / 1000, first.requestId)),
      });
    this.#batchers = microBatching.enabled ? { champion: batcher(), challenger: batcher() } : undefined;
  }

  get modelName(): string {
    return this.#options.modelName;
  }

  /** From now on, `observer` hears of every load, run and served prediction. */
  observe(observer: DataPlaneObserver): void {
    this.#observers.push(observer);
    const model = this.#models.current;
    if (model) this.#tell(observer, (late) => late.modelLoaded?.(model, 'champion'));
    const challenger = this.#challenger.current;
    if (challenger) this.#tell(observer, (late) => late.modelLoaded?.(challenger, 'challenger'));
  }

  /** The model serving now, if any. */
  get model(): ServedModel | undefined {
    return this.#models.current;
  }

  /** The challenger loaded now, if any. */
  get challenger(): ServedModel | undefined {
    return this.#challenger.current;
  }

  /** How the challenger takes part (meaningless while there is none). */
  get challengerRouting(): ChallengerRouting {
    return this.#routing;
  }

  /** Shadow rows waiting to be scored. */
  get shadowQueueDepth(): number {
    return this.#shadow.length;
  }

  /**
   * The model serving `reference` now (the served one when unset): ModelNotFoundError for another
   * name or version, and, as scoring would, a refusal while closing or before a model is loaded.
   */
  resolve(reference?: ModelReference): ServedModel {
    if (reference) this.#checkName(reference.name);
    if (this.#closing) throw new ServiceClosingError();
    const model = this.#models.current;
    if (!model) throw new ModelNotReadyError();
    if (reference?.version !== undefined) this.#checkVersion(reference, model);
    return model;
  }

  /**
   * Whether `reference` can take predictions now. Unlike resolve, a model not loaded yet (or a
   * closing service) is an answer, not an error; an unknown name, or a version other than the one
   * loaded, is ModelNotFoundError.
   */
  isReady(reference: ModelReference): boolean {
    this.#checkName(reference.name);
    const model = this.#models.current;
    if (model && reference.version !== undefined) this.#checkVersion(reference, model);
    return this.ready;
  }

  /** Ready to score: a model is loaded and the data plane is not closing. */
  get ready(): boolean {
    return !this.#closing && this.#models.current !== undefined;
  }

  /**
   * Loads, checks and swaps in the model at `path`; a failure leaves the current one serving. A
   * challenger with the new champion's file or version is dropped: there is nothing left to compare,
   * and answers could not say which model gave them.
   */
  async loadModel(path: string): Promise<ServedModel> {
    const model = await this.#models.load(path);
    this.#notify((observer) => observer.modelLoaded?.(model, 'champion'));
    const challenger = this.#challenger.current;
    if (challenger && (challenger.sha256 === model.sha256 || challenger.version === model.version)) await this.dropChallenger();
    return model;
  }

  /**
   * Loads the model at `path` as the challenger, with the champion's checks, and from then on routes
   * rows as `routing` says. Refused (ModelLoadError) when it is the champion's very file (nothing to
   * compare) or has the champion's version (answers could not say which model gave them); a refusal
   * or a failed load leaves the challenger and routing as they were.
   */
  async loadChallenger(path: string, routing: ChallengerRouting): Promise<ServedModel> {
    const model = await this.#challenger.load(path, (candidate) => {
      const champion = this.#models.current;
      if (!champion) throw new ModelNotReadyError();
      if (candidate.sha256 === champion.sha256) {
        throw new ModelLoadError(`The challenger at ${path} is the champion's own file (sha256 ${candidate.sha256}): there is nothing to compare.`);
      }
      if (candidate.version === champion.version) {
        throw new ModelLoadError(`The challenger at ${path} has the champion's version (${candidate.version}): answers could not say which model gave them.`);
      }
    });
    this.#routing = routing;
    this.#notify((observer) => observer.modelLoaded?.(model, 'challenger'));
    return model;
  }

  /** Drops the challenger: from now on the champion answers alone; shadow rows still queued for it are dropped by their turn. */
  async dropChallenger(): Promise<void> {
    await this.#challenger.unload();
    this.#routing = SHADOW_OFF;
    this.#notify((observer) => observer.modelUnloaded?.('challenger'));
  }

  /**
   * The challenger becomes the champion and the champion the challenger, in shadow at the same
   * share, in one synchronous step: the next run of either role uses the other model, so promoting
   * again rolls back. Runs already started finish on the model they borrowed.
   *
   * With `sha256`, the model of that hash is to serve as champion: promoted when it is the
   * challenger, left as it is (`changed` false) when it is the champion already, so the same call
   * repeated, or sent again to workers that took it before, never swaps back. Decided at the swap
   * itself, after every load and swap asked before, so concurrent calls cannot both swap.
   */
  async promote(): Promise<Promotion>;
  async promote(sha256: string): Promise<Promotion | NoPromotion>;
  async promote(sha256?: string): Promise<Promotion | NoPromotion> {
    const named = (model: ServedModel | undefined) => model !== undefined && (sha256 === undefined || model.sha256 === sha256);
    const changed = await this.#models.swapWith(this.#challenger, (champion, challenger) => champion !== undefined && named(challenger));
    const champion = this.#models.current;
    const challenger = this.#challenger.current;
    if (!changed) {
      if (sha256 !== undefined && champion?.sha256 === sha256) return { champion, challenger, changed: false };
      if (!challenger) throw new NoChallengerError();
      if (!champion) throw new ModelNotReadyError();
      throw new NotTheChallengerError(sha256!, challenger);
    }
    if (!champion || !challenger) throw new ModelNotReadyError();
    this.#routing = { mode: 'shadow', share: this.#routing.share };
    // Rows queued before the swap would be scored in their served score's role: the pair could never be compared.
    const stale = this.#shadow.length;
    this.#shadow = [];
    if (stale > 0) this.#notify((observer) => observer.shadowDropped?.(stale, 'promoted'));
    this.#notify((observer) => observer.modelLoaded?.(champion, 'champion'));
    this.#notify((observer) => observer.modelLoaded?.(challenger, 'challenger'));
    return { champion, challenger, changed: true };
  }

  /**
   * Scores a caller's rows and counts them as served: one row through the micro-batcher (concurrent
   * single rows share a model run), several as one run of their own (or the shared queue when
   * multi-row batching is on). Without a challenger, or in shadow, the champion answers every row
   * (the challenger's share is queued to be scored after the answer); in a canary, the challenger
   * answers its share of the customers and the champion scores those rows after the answer. A request
   * for a version that a reload replaced while it was queued is refused rather than answered by
   * another; a request naming a version is never routed to a canary.
   */
  async predict(request: PredictionRequest): Promise<Predictions> {
    const { rows, requestId } = request;
    const asked = this.resolve(request.model);
    const pinned = request.model?.version !== undefined;
    const challenger = this.#challenger.current;
    const canaryMay = challenger !== undefined && this.#routing.mode === 'canary' && !pinned && !(request.explain && !challenger.explainer);
    const canary = canaryMay ? this.#canaryRows(request) : undefined;
    let scores: Score[];
    if (canary) scores = await this.#scoreSplit(rows, canary, challenger!, requestId);
    else scores = rows.length === 1 ? [await this.scoreOne(rows[0]!, requestId)] : await this.scoreMany(rows, requestId);
    const model = scores[0]?.model ?? asked;
    if (pinned) this.#checkVersion(request.model!, model);
    if (request.explain) for (const score of scores) checkExplainable(score.model);
    // Made when first read (by the prediction log, or for shadow rows): a UUID a row is not free on a 100-row batch.
    let keys: string[] | undefined;
    // Time-ordered: the served row's key is its prediction log id, and ordered ids are cheap to index.
    const rowKeys = () => (keys ??= timeOrderedUuids(rows.length));
    const served: ServedPredictions = {
      protocol: request.protocol,
      model,
      scores,
      requestId,
      rows,
      get rowKeys() {
        return rowKeys();
      },
      customerIds: request.customerIds,
    };
    this.#notify((observer) => observer.predictionsServed?.(served));
    if (challenger) this.#queueShadow(request, scores, rowKeys);
    return { model, scores };
  }

  /** Scores one row; concurrent calls are coalesced into one model run when batching is on. */
  async scoreOne(row: FeatureRow, requestId?: string): Promise<Score> {
    const [score] = await this.#score([row], requestId, undefined);
    return score!;
  }

  /** Scores several rows in one model run, answers in order. */
  async scoreMany(rows: FeatureRow[], requestId?: string): Promise<Score[]> {
    return this.#score(rows, requestId, undefined);
  }

  /**
   * Scores the rows queued for shadow now, without waiting for fuller runs, and queues no more
   * (later ones are dropped as 'closing'): called at shutdown before the prediction log that
   * records the shadow scores is drained, so none come after it.
   */
  async drainShadow(): Promise<void> {
    this.#shadowClosed = true;
    // A loop that had just ended may leave rows queued after it: another one scores them.
    while (this.#shadowLoop || this.#shadow.length > 0) await this.#startShadowLoop();
  }

  /** Refuses new rows, finishes every queued and running one (shadow rows queued before included), then releases the models. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#shadowClosed = true;
    await Promise.all([this.#batchers?.champion.close(), this.#batchers?.challenger.close()]);
    await this.drainShadow();
    await Promise.all([this.#models.close(), this.#challenger.close()]);
  }

  /** Which rows the canary answers (true) and which the champion (false): by customer id, one draw per request for the rows without one. */
  #canaryRows({ rows, customerIds, canarySplit = 'row' }: PredictionRequest): boolean[] {
    const { share } = this.#routing;
    const draw = Math.random();
    const drawn = () => draw;
    if (canarySplit === 'request') return new Array<boolean>(rows.length).fill(inChallengerShare(customerIds?.[0], share, drawn));
    return rows.map((_, index) => inChallengerShare(customerIds?.[index], share, drawn));
  }

  /** Scores the rows routed to the canary on `challenger` and the rest on the champion, answers in the rows' order. */
  async #scoreSplit(rows: FeatureRow[], toChallenger: readonly boolean[], challenger: Model, requestId: string | undefined): Promise<Score[]> {
    const mine = rows.filter((_, index) => !toChallenger[index]);
    const theirs = rows.filter((_, index) => toChallenger[index]);
    if (theirs.length === 0) return this.#score(rows, requestId, undefined);
    if (mine.length === 0) return this.#score(rows, requestId, challenger);
    const [championScores, challengerScores] = await Promise.all([this.#score(mine, requestId, undefined), this.#score(theirs, requestId, challenger)]);
    let champion = 0;
    let canary = 0;
    return toChallenger.map((routed) => (routed ? challengerScores[canary++]! : championScores[champion++]!));
  }

  /** Admits and scores `rows` on `target` (the champion when undefined), through its micro-batcher when batching is on. */
  async #score(rows: FeatureRow[], requestId: string | undefined, target: Model | undefined): Promise<Score[]> {
    this.#admit(rows);
    if (rows.length === 0) return [];
    const batcher = this.#batchers?.[target ? 'challenger' : 'champion'];
    if (batcher && (rows.length === 1 || this.#options.microBatching.multiRow)) {
      const enqueuedAt = performance.now();
      return batcher.submitMany(rows.map((row) => ({ row, requestId, target, enqueuedAt })));
    }
    return this.#runOn(target, true, rows, new Array<string | undefined>(rows.length).fill(requestId));
  }

  /** Queues the rows the other model scores after the answer: the challenger's share in shadow, the canary's rows for the champion. */
  #queueShadow(request: PredictionRequest, scores: readonly Score[], rowKeys: () => readonly string[]): void {
    const champion = this.#models.current;
    const challenger = this.#challenger.current;
    if (!champion || !challenger) return;
    const { share, mode } = this.#routing;
    const queued: ShadowRow[] = [];
    scores.forEach((score, index) => {
      const customerId = request.customerIds?.[index];
      let target: Model | undefined;
      if (score.model === champion) target = mode === 'shadow' && inChallengerShare(customerId, share) ? challenger : undefined;
      else if (score.model === challenger) target = champion;
      if (target) queued.push({ row: featuresOf(request.rows[index]!), rowKey: rowKeys()[index]!, protocol: request.protocol, requestId: request.requestId, customerId, target });
    });
    if (queued.length === 0) return;
    if (this.#shadowClosed) {
      this.#notify((observer) => observer.shadowDropped?.(queued.length, 'closing'));
      return;
    }
    const room = Math.max((this.#options.shadowQueueRows ?? 10_000) - this.#shadow.length, 0);
    if (queued.length > room) this.#notify((observer) => observer.shadowDropped?.(queued.length - room, 'queue_full'));
    for (let index = 0; index < Math.min(room, queued.length); index += 1) this.#shadow.push(queued[index]!);
    void this.#startShadowLoop();
  }

  /** The loop scoring the shadow queue: the one running, or a new one. */
  #startShadowLoop(): Promise<void> {
    return (this.#shadowLoop ??= this.#scoreShadow().finally(() => (this.#shadowLoop = undefined)));
  }

  /**
   * Scores the shadow queue one model run at a time, at most MICRO_BATCH_MAX_ROWS rows each, starting
   * after the answers of this turn are written and yielding to I/O between runs: a caller waits at
   * most one shadow run for its own. A queue shorter than a full run waits SHADOW_LINGER_MS for more
   * rows first: onnxruntime's cost is mostly per call, so a few full shadow runs take far less from
   * the champion than many small ones (measured in bench/challenger-shadow.ts).
   */
  async #scoreShadow(): Promise<void> {
    const maxRows = this.#options.microBatching.maxRows;
    while (this.#shadow.length > 0) {
      if (this.#shadow.length < maxRows && !this.#shadowClosed) await new Promise<void>((resolve) => setTimeout(resolve, SHADOW_LINGER_MS));
      else await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#shadow.length === 0) break;
      const target = this.#shadow[0]!.target;
      let count = 0;
      while (count < this.#shadow.length && count < maxRows && this.#shadow[count]!.target === target) count += 1;
      const taken = this.#shadow.splice(0, count);
      if (this.#models.current !== target && this.#challenger.current !== target) {
        this.#notify((observer) => observer.shadowDropped?.(taken.length, 'model_gone'));
        continue;
      }
      const rows = taken.map((entry) => entry.row);
      const requestIds = taken.map((entry) => entry.requestId);
      let scores: Score[];
      try {
        scores = await this.#runOn(target, false, rows, requestIds);
      } catch {
        // runFailed told the observers; nobody waits on a shadow score.
        continue;
      }
      const shadow: ShadowPredictions = {
        model: scores[0]!.model,
        role: scores[0]!.role,
        scores,
        rows,
        rowKeys: taken.map((entry) => entry.rowKey),
        protocols: taken.map((entry) => entry.protocol),
        requestIds,
        customerIds: taken.map((entry) => entry.customerId),
      };
      this.#notify((observer) => observer.shadowScored?.(shadow));
    }
  }

  /** Tells every observer; one that throws is reported and never fails the scoring. */
  #notify(event: (observer: DataPlaneObserver) => unknown): void {
    for (const observer of this.#observers) this.#tell(observer, event);
  }

  #tell(observer: DataPlaneObserver, event: (observer: DataPlaneObserver) => unknown): void {
    try {
      event(observer);
    } catch (error) {
      this.#options.onObserverError?.(error);
    }
  }

  #checkName(name: string): void {
    const served = this.#options.modelName;
    if (name !== served) throw new ModelNotFoundError(`Model '${name}' not found; this server serves '${served}'.`);
  }

  #checkVersion(reference: ModelReference, model: ServedModel): void {
    if (reference.version !== model.version) {
      throw new ModelNotFoundError(`Model '${reference.name}' has no version '${reference.version}'; the version served is '${model.version}'.`);
    }
  }

  #admit(rows: readonly FeatureRow[]): void {
    if (this.#closing) throw new ServiceClosingError();
    checkRows(rows);
  }

  #runQueued(queued: readonly QueuedRow[]): Promise<Score[]> {
    return this.#runOn(
      queued[0]?.target,
      true,
      queued.map((entry) => entry.row),
      queued.map((entry) => entry.requestId),
      queued.map((entry) => entry.enqueuedAt),
    );
  }

  /**
   * One model call on `target` wherever it sits now: a challenger promoted since the rows were
   * routed to it scores them as the champion, so answers never step back to the model it replaced.
   * A target that is neither champion nor challenger any more (dropped, replaced), or none, means
   * the champion current when the call starts.
   */
  #runOn(
    target: Model | undefined,
    served: boolean,
    rows: readonly FeatureRow[],
    requestIds: readonly (string | undefined)[],
    enqueuedAt?: readonly number[],
  ): Promise<Score[]> {
    const inChallenger = target !== undefined && this.#challenger.current === target;
    return this.#run(inChallenger ? this.#challenger : this.#models, inChallenger ? 'challenger' : 'champion', served, rows, requestIds, enqueuedAt);
  }

  /** Exactly one model call for `rows`, on the model `handle` holds when the call starts. */
  #run(
    handle: ModelHandle,
    role: ModelRole,
    served: boolean,
    rows: readonly FeatureRow[],
    requestIds: readonly (string | undefined)[],
    enqueuedAt: readonly number[] | undefined,
  ): Promise<Score[]> {
    return handle.withModel(async (model: Model) => {
      this.#runCount += 1;
      const runId = this.#runCount;
      const started = performance.now();
      const features = packRows(rows);
      let outputs: ModelOutputs;
      try {
        outputs = await model.predict(features, rows.length);
      } catch (error) {
        const run: ModelRun = { runId, model, role, served, rows: rows.length, features, requestIds };
        this.#notify((observer) => observer.runFailed?.(run, error));
        throw new InferenceFailedError({ cause: error });
      }
      const inferenceMs = performance.now() - started;
      const run: ScoredRun = { runId, model, role, served, rows: rows.length, features, requestIds, outputs, seconds: inferenceMs / 1000 };
      this.#notify((observer) => observer.rowsScored?.(run));
      const scores = new Array<Score>(rows.length);
      for (let row = 0; row < rows.length; row += 1) {
        const queuedMs = enqueuedAt ? Math.max(0, started - enqueuedAt[row]!) : 0;
        scores[row] = { probability: outputs.churn[row]!, model, role, inferenceMs, queuedMs, runId, outputs, row };
      }
      return scores;
    });
  }
}
