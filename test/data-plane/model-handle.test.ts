import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChurnModel } from '../../src/data-plane/churn-model.js';
import { ModelHandle } from '../../src/data-plane/model-handle.js';
import { ModelLoadError, ModelNotReadyError } from '../../src/errors.js';
import { deferred, versionedModels, type VersionedModels } from './model-fixtures.js';

const OPTIONS = { intraOpThreads: 1 };
let models: VersionedModels | undefined;
let A: string, B: string, C: string;
beforeAll(() => {
  models = versionedModels(['1.0.0-a', '1.0.0-b', '1.0.0-c']);
  [A, B, C] = models.paths as [string, string, string];
});
afterAll(() => models?.remove());
afterEach(() => vi.restoreAllMocks());

const ROW = Float32Array.from([2, 70.7, 151.65, 2, 0]);

/** A full garbage collection, without starting node with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('ModelHandle', () => {
  it('lends nothing before a load', async () => {
    const handle = new ModelHandle();
    expect(handle.current).toBeUndefined();
    await expect(handle.withModel(async () => 1)).rejects.toBeInstanceOf(ModelNotReadyError);
  });

  it('lends the loaded model and returns what the use returned', async () => {
    const handle = new ModelHandle();
    const loaded = await handle.load(A, OPTIONS);
    expect(handle.current).toBe(loaded);
    expect(loaded.version).toBe('1.0.0-a');
    expect(await handle.withModel(async (model) => model)).toBe(loaded);
    await handle.close();
    expect(handle.current).toBeUndefined();
  });

  it('keeps a replaced model until the run that borrowed it has finished', async () => {
    const handle = new ModelHandle();
    const first = await handle.load(A, OPTIONS);
    const close = vi.spyOn(ChurnModel.prototype, 'close');
    const hold = deferred();
    const running = handle.withModel(async (model) => {
      await hold.promise;
      return model.predict(ROW, 1);
    });
    const second = await handle.load(B, OPTIONS);
    expect(handle.current).toBe(second);
    expect(close).not.toHaveBeenCalled();
    hold.resolve();
    expect((await running).churn[0]).toBeCloseTo(0.5991, 4);
    await vi.waitFor(() => expect(close.mock.contexts).toEqual([first]));
    await handle.close();
    expect(close.mock.contexts).toEqual([first, second]);
  });

  it('releases a replaced model at once when nothing borrows it, and only once', async () => {
    const handle = new ModelHandle();
    const first = await handle.load(A, OPTIONS);
    const close = vi.spyOn(ChurnModel.prototype, 'close');
    await handle.withModel(async () => undefined);
    await handle.load(B, OPTIONS);
    await vi.waitFor(() => expect(close.mock.contexts).toEqual([first]));
    await handle.close();
    expect(close).toHaveBeenCalledTimes(2);
  });

  it('runs concurrent loads one after another, in the order asked', async () => {
    const handle = new ModelHandle();
    const load = ChurnModel.load.bind(ChurnModel);
    const steps: string[] = [];
    vi.spyOn(ChurnModel, 'load').mockImplementation(async (path, options) => {
      steps.push(`start ${path}`);
      const model = await load(path, options);
      steps.push(`end ${path}`);
      return model;
    });
    const [a, b, c] = await Promise.all([handle.load(A, OPTIONS), handle.load(B, OPTIONS), handle.load(C, OPTIONS)]);
    expect([a.version, b.version, c.version]).toEqual(['1.0.0-a', '1.0.0-b', '1.0.0-c']);
    expect(steps).toEqual([`start ${A}`, `end ${A}`, `start ${B}`, `end ${B}`, `start ${C}`, `end ${C}`]);
    expect(handle.current).toBe(c);
    await handle.close();
  });

  it('keeps the current model serving when a load fails, and loads again afterwards', async () => {
    const handle = new ModelHandle();
    const current = await handle.load(A, OPTIONS);
    await expect(handle.load('/nonexistent/model.onnx', OPTIONS)).rejects.toBeInstanceOf(ModelLoadError);
    expect(handle.current).toBe(current);
    expect((await handle.withModel((model) => model.predict(ROW, 1))).churn.length).toBe(1);
    expect((await handle.load(B, OPTIONS)).version).toBe('1.0.0-b');
    await handle.close();
  });

  it('waits on close for a run still borrowing the model', async () => {
    const handle = new ModelHandle();
    await handle.load(A, OPTIONS);
    const close = vi.spyOn(ChurnModel.prototype, 'close');
    const hold = deferred();
    const running = handle.withModel(async (model) => {
      await hold.promise;
      return model.predict(ROW, 1);
    });
    let closed = false;
    const closing = handle.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false);
    expect(close).not.toHaveBeenCalled();
    hold.resolve();
    await running;
    await closing;
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('waits on close for a load in progress, and releases what it loaded', async () => {
    const handle = new ModelHandle();
    const close = vi.spyOn(ChurnModel.prototype, 'close');
    const loading = handle.load(A, OPTIONS);
    await handle.close();
    const loaded = await loading;
    expect(close.mock.contexts).toEqual([loaded]);
    expect(handle.current).toBeUndefined();
  });

  it('keeps no reference to a replaced model once it is released, so reloads cannot leak models', async () => {
    const handle = new ModelHandle();
    const released: WeakRef<ChurnModel>[] = [];
    for (const path of [A, B, C, A, B]) released.push(new WeakRef(await handle.load(path, OPTIONS)));
    const current = released.pop()!;
    // Let the releases, which settle asynchronously, finish.
    for (let turn = 0; turn < 10; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(released.map((model) => model.deref())).toEqual([undefined, undefined, undefined, undefined]);
    expect(current.deref()).toBe(handle.current);
    await handle.close();
  });
});
