import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DataPlane, type DataPlaneObserver, type DataPlaneOptions, type ScoredRun } from '../../src/data-plane/data-plane.js';
import type { ModelInfo } from '../../src/data-plane/model.js';
import { InferenceFailedError, InvalidRowsError, ModelLoadError, ModelNotFoundError, ModelNotReadyError, ServiceClosingError } from '../../src/errors.js';
import { spiedChurnModels, VALID_CUSTOMER } from '../helpers.js';
import { BUNDLED_MODEL, LINEAR_MODEL, versionedModels, type VersionedModels } from './model-fixtures.js';

let models: VersionedModels | undefined;
let treeFree: VersionedModels | undefined;
let A: string, B: string, LINEAR_A: string, LINEAR_B: string;
beforeAll(() => {
  models = versionedModels(['2.0.0-a', '2.0.0-b']);
  [A, B] = models.paths as [string, string];
  // The swap test loads 51 models: tree-free ones keep it fast under mutation testing, where building
  // the TreeSHAP tables at every load in instrumented code cost over 30 s. It is about the handle, not the trees.
  treeFree = versionedModels(['2.0.0-a', '2.0.0-b'], LINEAR_MODEL);
  [LINEAR_A, LINEAR_B] = treeFree.paths as [string, string];
});
afterAll(() => {
  models?.remove();
  treeFree?.remove();
});
afterEach(() => vi.restoreAllMocks());

const EXAMPLE_PROBABILITY = 0.6337689;

/** Each plane's model runs, through the loader seam. */
const runsOf = new WeakMap<DataPlane, ReturnType<typeof spiedChurnModels>['predict']>();

function dataPlane(microBatching: Partial<DataPlaneOptions['microBatching']> = {}, observer?: DataPlaneObserver, options: Partial<DataPlaneOptions> = {}) {
  // The tree-free models come without a card.
  const models = spiedChurnModels({ intraOpThreads: 1, allowMissingCard: true });
  const plane = new DataPlane({
    modelName: 'churn',
    loader: models.loader,
    microBatching: { enabled: true, maxRows: 256, maxDelayMs: 0, multiRow: false, ...microBatching },
    ...(observer ? { observers: [observer] } : {}),
    ...options,
  });
  runsOf.set(plane, models.predict);
  return plane;
}

const runs = (plane: DataPlane) => runsOf.get(plane)!;

function rows(count: number) {
  return Array.from({ length: count }, (_, index) => ({ ...VALID_CUSTOMER, tenure_months: index % 121 }));
}

describe('DataPlane', () => {
  it('is not ready and scores nothing before a model is loaded', async () => {
    const plane = dataPlane();
    expect(plane.ready).toBe(false);
    expect(plane.model).toBeUndefined();
    await expect(plane.scoreOne(VALID_CUSTOMER)).rejects.toBeInstanceOf(ModelNotReadyError);
    await expect(plane.scoreMany([VALID_CUSTOMER])).rejects.toBeInstanceOf(ModelNotReadyError);
    await plane.close();
  });

  it.each([true, false])('scores one row with P(churn), the model and the run time (micro-batching %s)', async (enabled) => {
    const plane = dataPlane({ enabled });
    const model = await plane.loadModel(BUNDLED_MODEL);
    expect(plane.ready).toBe(true);
    expect(plane.model).toBe(model);
    const score = await plane.scoreOne(VALID_CUSTOMER);
    expect(score.probability).toBeCloseTo(EXAMPLE_PROBABILITY, 6);
    expect(score.model).toBe(model);
    expect(score.inferenceMs).toBeGreaterThan(0);
    expect(score.inferenceMs).toBeLessThan(5_000);
    await plane.close();
  });

  it('scores many rows in one model run, in order, each as it scores alone', async () => {
    const plane = dataPlane();
    await plane.loadModel(BUNDLED_MODEL);
    const many = rows(50);
    const run = runs(plane);
    const scores = await plane.scoreMany(many);
    expect(run).toHaveBeenCalledTimes(1);
    expect(run.mock.calls[0]![1]).toBe(50);
    const singles = await Promise.all(many.map((row) => plane.scoreOne(row)));
    expect(scores.map((score) => score.probability)).toEqual(singles.map((score) => score.probability));
    expect(new Set(scores.map((score) => score.probability)).size).toBeGreaterThan(5);
    expect(new Set(scores.map((score) => score.inferenceMs)).size).toBe(1);
    expect(await plane.scoreMany([])).toEqual([]);
    await plane.close();
  });

  it('coalesces concurrent single rows into one run', async () => {
    const plane = dataPlane();
    await plane.loadModel(BUNDLED_MODEL);
    const run = runs(plane);
    const scores = await Promise.all(rows(40).map((row) => plane.scoreOne(row)));
    expect(run).toHaveBeenCalledTimes(1);
    expect(run.mock.calls[0]![1]).toBe(40);
    expect(scores).toHaveLength(40);
    await plane.close();
  });

  it('keeps multi-row calls out of the shared queue unless multiRow is set', async () => {
    for (const multiRow of [false, true]) {
      const plane = dataPlane({ multiRow });
      await plane.loadModel(BUNDLED_MODEL);
      const run = runs(plane);
      await Promise.all([plane.scoreOne(VALID_CUSTOMER), plane.scoreMany(rows(3)), plane.scoreOne(VALID_CUSTOMER)]);
      expect(run.mock.calls.map((call) => call[1]).sort()).toEqual(multiRow ? [5] : [2, 3]);
      await plane.close();
    }
  });

  it('refuses rows that break the feature contract before they reach the model', async () => {
    const plane = dataPlane();
    await plane.loadModel(BUNDLED_MODEL);
    const run = runs(plane);
    await expect(plane.scoreOne({ ...VALID_CUSTOMER, tenure_months: 121 })).rejects.toBeInstanceOf(InvalidRowsError);
    const many = plane.scoreMany([VALID_CUSTOMER, { ...VALID_CUSTOMER, has_support_calls: Number.NaN }]);
    await expect(many).rejects.toMatchObject({ issues: [{ row: 1, feature: 'has_support_calls', problem: 'not_a_number' }] });
    expect(run).not.toHaveBeenCalled();
    await plane.close();
  });

  it('turns a failed run into InferenceFailedError, tells the observer, and recovers', async () => {
    const observer = { runFailed: vi.fn(), rowsScored: vi.fn() };
    const plane = dataPlane({}, observer);
    await plane.loadModel(BUNDLED_MODEL);
    const cause = new Error('onnxruntime exploded');
    runs(plane).mockRejectedValueOnce(cause);
    const failed = await plane.scoreMany(rows(3)).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(InferenceFailedError);
    expect(failed).toMatchObject({ statusCode: 500, publicMessage: 'Internal Server Error', cause, message: 'Inference failed: onnxruntime exploded' });
    expect(observer.runFailed).toHaveBeenCalledWith(expect.objectContaining({ model: plane.model, role: 'champion', rows: 3 }), cause);
    expect(observer.rowsScored).not.toHaveBeenCalled();
    expect((await plane.scoreOne(VALID_CUSTOMER)).probability).toBeCloseTo(EXAMPLE_PROBABILITY, 6);
    expect(observer.rowsScored).toHaveBeenCalledTimes(1);
    await plane.close();
  });

  it.each([
    ['no observer', undefined],
    ['an observer of scored runs only', { rowsScored: vi.fn() }],
    ['an observer of failed runs only', { runFailed: vi.fn() }],
  ])('scores and fails as usual with %s', async (_case, observer) => {
    const plane = dataPlane({ enabled: false }, observer);
    await plane.loadModel(LINEAR_A);
    expect((await plane.scoreOne(VALID_CUSTOMER)).model.version).toBe('2.0.0-a');
    runs(plane).mockRejectedValueOnce(new Error('onnxruntime exploded'));
    await expect(plane.scoreOne(VALID_CUSTOMER)).rejects.toBeInstanceOf(InferenceFailedError);
    await plane.close();
  });

  it('tells the observer each run\'s rows and seconds, and each caller\'s queue wait', async () => {
    const observer = { rowsScored: vi.fn(), queueWaited: vi.fn() };
    const plane = dataPlane({ maxDelayMs: 20 }, observer);
    await plane.loadModel(BUNDLED_MODEL);
    const started = performance.now();
    await Promise.all([plane.scoreOne(VALID_CUSTOMER), plane.scoreOne(VALID_CUSTOMER), plane.scoreMany(rows(4))]);
    const elapsedSeconds = (performance.now() - started) / 1000;
    expect(observer.rowsScored.mock.calls.map(([run]) => run.rows).sort()).toEqual([2, 4]);
    for (const [{ model, seconds }] of observer.rowsScored.mock.calls) {
      expect(model).toBe(plane.model);
      expect(seconds).toBeGreaterThan(0);
      expect(seconds).toBeLessThan(elapsedSeconds);
    }
    // Only the two coalesced callers queue; each waited the 20 ms delay, in seconds.
    expect(observer.queueWaited).toHaveBeenCalledTimes(2);
    for (const [seconds] of observer.queueWaited.mock.calls) {
      expect(seconds).toBeGreaterThanOrEqual(0.015);
      expect(seconds).toBeLessThan(elapsedSeconds);
    }
    await plane.close();
  });

  it('names on each score the run that made it and how long the row queued, and tells observers the run id and each waiting request', async () => {
    const observer = { rowsScored: vi.fn(), queueWaited: vi.fn() };
    const plane = dataPlane({ maxDelayMs: 20 }, observer);
    await plane.loadModel(BUNDLED_MODEL);
    const [first, second, many, later] = await Promise.all([
      plane.scoreOne(VALID_CUSTOMER, 'req-1'),
      plane.scoreOne(VALID_CUSTOMER, 'req-2'),
      plane.scoreMany(rows(3), 'req-3'),
      new Promise((resolve) => setTimeout(resolve, 60)).then(() => plane.scoreOne(VALID_CUSTOMER, 'req-4')),
    ]);
    // The two coalesced callers share one run; the separate 3-row call and the later caller each have their own.
    expect(first.runId).toBe(second.runId);
    expect(new Set(many.map((score) => score.runId))).toEqual(new Set([many[0]!.runId]));
    expect(new Set([first.runId, many[0]!.runId, later.runId]).size).toBe(3);
    const runIds = observer.rowsScored.mock.calls.map(([run]) => run.runId).sort();
    expect(runIds).toEqual([first.runId, many[0]!.runId, later.runId].sort());
    const coalesced = observer.rowsScored.mock.calls.find(([run]) => run.runId === first.runId)![0];
    expect(coalesced.requestIds).toEqual(['req-1', 'req-2']);
    // Queued rows waited the 20 ms delay; the multi-row call never queued.
    expect(first.queuedMs).toBeGreaterThanOrEqual(15);
    expect(second.queuedMs).toBeGreaterThanOrEqual(15);
    expect(many.every((score) => score.queuedMs === 0)).toBe(true);
    expect(observer.queueWaited.mock.calls.map(([, requestId]) => requestId)).toEqual(['req-1', 'req-2', 'req-4']);
    await plane.close();
  });

  it('keeps the current model when a load fails', async () => {
    const plane = dataPlane();
    const model = await plane.loadModel(A);
    await expect(plane.loadModel('/nonexistent/model.onnx')).rejects.toBeInstanceOf(ModelLoadError);
    expect(plane.model).toBe(model);
    expect((await plane.scoreOne(VALID_CUSTOMER)).model.version).toBe('2.0.0-a');
    await plane.close();
  });

  it('finishes queued rows on close, then refuses new ones and is no longer ready', async () => {
    const plane = dataPlane({ maxDelayMs: 60_000 });
    await plane.loadModel(BUNDLED_MODEL);
    const queued = [plane.scoreOne(VALID_CUSTOMER), plane.scoreOne(VALID_CUSTOMER)];
    const closing = plane.close();
    expect(plane.ready).toBe(false);
    await expect(plane.scoreOne(VALID_CUSTOMER)).rejects.toBeInstanceOf(ServiceClosingError);
    await expect(plane.scoreMany([VALID_CUSTOMER])).rejects.toBeInstanceOf(ServiceClosingError);
    expect((await Promise.all(queued)).map((score) => score.probability)).toEqual([expect.closeTo(EXAMPLE_PROBABILITY, 6), expect.closeTo(EXAMPLE_PROBABILITY, 6)]);
    await closing;
    expect(plane.model).toBeUndefined();
  });

  it('swaps models 50 times under 32 concurrent callers without a failure or a step back in time', async () => {
    const plane = dataPlane();
    const generations: ModelInfo[] = [await plane.loadModel(LINEAR_A)];
    let swapping = true;
    const answers: { caller: number; submittedAt: number; answeredAt: number; generation: number }[] = [];
    const failures: unknown[] = [];

    const caller = async (id: number) => {
      for (let call = 0; swapping || call < 3; call += 1) {
        const submittedAt = generations.length - 1;
        try {
          const score = await plane.scoreOne(rows(1)[0]!);
          answers.push({ caller: id, submittedAt, answeredAt: generations.length - 1, generation: generations.indexOf(score.model) });
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const callers = Array.from({ length: 32 }, (_, id) => caller(id));
    for (let swap = 1; swap <= 50; swap += 1) {
      const loading = plane.loadModel(swap % 2 === 0 ? LINEAR_A : LINEAR_B);
      generations.push(await loading);
      await new Promise((resolve) => setImmediate(resolve));
    }
    swapping = false;
    await Promise.all(callers);
    await plane.close();

    expect(failures).toEqual([]);
    expect(generations).toHaveLength(51);
    expect(new Set(generations.map((model) => model.version))).toEqual(new Set(['2.0.0-a', '2.0.0-b']));
    expect(answers.length).toBeGreaterThan(32 * 50);
    // Each answer comes from a model that was current at some moment between its call and its answer...
    for (const answer of answers) {
      expect(answer.generation).toBeGreaterThanOrEqual(answer.submittedAt);
      expect(answer.generation).toBeLessThanOrEqual(answer.answeredAt);
    }
    // ...so no caller sees an older model after it has seen a newer one.
    for (let id = 0; id < 32; id += 1) {
      const seen = answers.filter((answer) => answer.caller === id).map((answer) => answer.generation);
      expect(seen).toEqual([...seen].sort((x, y) => x - y));
    }
    expect(new Set(answers.map((answer) => answer.generation)).size).toBeGreaterThan(25);
  });
});

describe('DataPlane observers', () => {
  it('tells every observer, in order, the rows each run scored: features as the model read them, outputs, request ids', async () => {
    const heard: string[] = [];
    const first = { rowsScored: vi.fn((_run: ScoredRun) => heard.push('first')) };
    const second = { rowsScored: vi.fn((_run: ScoredRun) => heard.push('second')), runFailed: vi.fn() };
    const plane = dataPlane({ maxDelayMs: 20 }, first);
    plane.observe(second);
    await plane.loadModel(BUNDLED_MODEL);
    await Promise.all([plane.scoreOne(VALID_CUSTOMER, 'req-1'), plane.scoreOne({ ...VALID_CUSTOMER, tenure_months: 40 }, 'req-2')]);
    expect(heard).toEqual(['first', 'second']);
    const [run] = second.rowsScored.mock.calls[0]!;
    expect(run.rows).toBe(2);
    expect(run.requestIds).toEqual(['req-1', 'req-2']);
    expect(Array.from(run.features.subarray(5, 6))).toEqual([40]);
    expect(run.outputs.churn[0]).toBeCloseTo(EXAMPLE_PROBABILITY, 6);
    await plane.scoreMany(rows(3), 'req-3');
    expect(second.rowsScored.mock.calls[1]![0].requestIds).toEqual(['req-3', 'req-3', 'req-3']);
    await plane.close();
  });

  it('tells an observer that joins later which model serves now, and every later load', async () => {
    const plane = dataPlane();
    const model = await plane.loadModel(A);
    const late = { modelLoaded: vi.fn() };
    plane.observe(late);
    expect(late.modelLoaded).toHaveBeenCalledWith(model, 'champion');
    const next = await plane.loadModel(B);
    expect(late.modelLoaded).toHaveBeenLastCalledWith(next, 'champion');
    await plane.close();
  });

  it('keeps scoring when an observer throws, and reports the failure', async () => {
    const onObserverError = vi.fn();
    const failure = new Error('monitor broke');
    const after = { rowsScored: vi.fn() };
    const plane = dataPlane({}, { rowsScored: () => { throw failure; } }, { onObserverError });
    plane.observe(after);
    await plane.loadModel(BUNDLED_MODEL);
    expect((await plane.scoreOne(VALID_CUSTOMER)).probability).toBeCloseTo(EXAMPLE_PROBABILITY, 6);
    expect(onObserverError).toHaveBeenCalledWith(failure);
    expect(after.rowsScored).toHaveBeenCalledTimes(1);
    await plane.close();
  });
});

describe('DataPlane.predict: the one entry every protocol uses', () => {
  it('scores one row through the micro-batcher and many as one run, and counts what it served', async () => {
    const served = vi.fn();
    const plane = dataPlane({ maxDelayMs: 20 }, { predictionsServed: served });
    const model = await plane.loadModel(BUNDLED_MODEL);
    const [one, other] = await Promise.all([
      plane.predict({ rows: [VALID_CUSTOMER], protocol: 'churn', requestId: 'a' }),
      plane.predict({ rows: [VALID_CUSTOMER], protocol: 'v2', requestId: 'b' }),
    ]);
    expect(runs(plane).mock.calls.map((call) => call[1])).toEqual([2]);
    expect(one!.model).toBe(model);
    expect(one!.scores[0]!.probability).toBeCloseTo(EXAMPLE_PROBABILITY, 6);
    expect(other!.scores).toHaveLength(1);
    const many = await plane.predict({ rows: rows(5), protocol: 'churn', requestId: 'c' });
    expect(runs(plane).mock.calls.map((call) => call[1])).toEqual([2, 5]);
    expect(many.scores).toHaveLength(5);
    expect(served.mock.calls.map(([call]) => [call.protocol, call.model, call.scores.length, call.requestId])).toEqual([
      ['churn', model, 1, 'a'],
      ['v2', model, 1, 'b'],
      ['churn', model, 5, 'c'],
    ]);
    await plane.close();
  });

  it('resolves the model a caller names: another name or version is ModelNotFoundError, before any run', async () => {
    const served = vi.fn();
    const plane = dataPlane({}, { predictionsServed: served });
    await expect(plane.predict({ rows: [VALID_CUSTOMER], protocol: 'v2', model: { name: 'churn' } })).rejects.toBeInstanceOf(ModelNotReadyError);
    expect(plane.isReady({ name: 'churn', version: '9.9.9' })).toBe(false);
    await plane.loadModel(A);
    expect(plane.resolve({ name: 'churn', version: '2.0.0-a' }).version).toBe('2.0.0-a');
    expect(plane.isReady({ name: 'churn', version: '2.0.0-a' })).toBe(true);
    expect(() => plane.resolve({ name: 'other' })).toThrowError(new ModelNotFoundError("Model 'other' not found; this server serves 'churn'."));
    expect(() => plane.isReady({ name: 'other' })).toThrowError(ModelNotFoundError);
    expect(() => plane.isReady({ name: 'churn', version: '1.0.0' })).toThrowError(ModelNotFoundError);
    await expect(plane.predict({ rows: [VALID_CUSTOMER], protocol: 'v2', model: { name: 'churn', version: '1.0.0' } })).rejects.toThrowError(
      new ModelNotFoundError("Model 'churn' has no version '1.0.0'; the version served is '2.0.0-a'."),
    );
    expect(runs(plane)).not.toHaveBeenCalled();
    expect(served).not.toHaveBeenCalled();
    await plane.close();
    expect(plane.isReady({ name: 'churn' })).toBe(false);
  });

  it('refuses a version that a reload replaced while its rows were queued, and counts nothing served', async () => {
    const served = vi.fn();
    const plane = dataPlane({ maxDelayMs: 50 }, { predictionsServed: served });
    await plane.loadModel(A);
    const queued = plane.predict({ rows: [VALID_CUSTOMER], protocol: 'v2', model: { name: 'churn', version: '2.0.0-a' } });
    await plane.loadModel(B);
    await expect(queued).rejects.toBeInstanceOf(ModelNotFoundError);
    expect(served).not.toHaveBeenCalled();
    const unversioned = await plane.predict({ rows: [VALID_CUSTOMER], protocol: 'v2', model: { name: 'churn' } });
    expect(unversioned.model.version).toBe('2.0.0-b');
    await plane.close();
  });
});
