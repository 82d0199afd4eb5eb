import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadChurnModel } from '../../src/data-plane/churn-model.js';
import type { Model, ModelLoader } from '../../src/data-plane/model.js';
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

/** Real models through the loader seam, each load's start and end and each release recorded. */
function recordingLoader() {
  const closed: Model[] = [];
  const steps: string[] = [];
  const loader: ModelLoader = async (path) => {
    steps.push(`start ${path}`);
    const model = await loadChurnModel(path, OPTIONS);
    steps.push(`end ${path}`);
    const recorded: Model = {
      ...model,
      close: async () => {
        closed.push(recorded);
        await model.close();
      },
    };
    return recorded;
  };
  return { handle: new ModelHandle(loader), closed, steps };
}

/** A full garbage collection, without starting node with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('ModelHandle', () => {
  it('lends nothing before a load', async () => {
    const { handle } = recordingLoader();
    expect(handle.current).toBeUndefined();
    await expect(handle.withModel(async () => 1)).rejects.toBeInstanceOf(ModelNotReadyError);
  });

  it('lends the loaded model and returns what the use returned', async () => {
    const { handle } = recordingLoader();
    const loaded = await handle.load(A);
    expect(handle.current).toBe(loaded);
    expect(loaded.version).toBe('1.0.0-a');
    expect(await handle.withModel(async (model) => model)).toBe(loaded);
    await handle.close();
    expect(handle.current).toBeUndefined();
  });

  it('keeps a replaced model until the run that borrowed it has finished', async () => {
    const { handle, closed } = recordingLoader();
    const first = await handle.load(A);
    const hold = deferred();
    const running = handle.withModel(async (model) => {
      await hold.promise;
      return model.predict(ROW, 1);
    });
    const second = await handle.load(B);
    expect(handle.current).toBe(second);
    expect(closed).toEqual([]);
    hold.resolve();
    expect((await running).churn[0]).toBeCloseTo(0.6338, 4);
    await vi.waitFor(() => expect(closed).toEqual([first]));
    await handle.close();
    expect(closed).toEqual([first, second]);
  });

  it('releases a replaced model at once when nothing borrows it, and only once', async () => {
    const { handle, closed } = recordingLoader();
    const first = await handle.load(A);
    await handle.withModel(async () => undefined);
    const second = await handle.load(B);
    await vi.waitFor(() => expect(closed).toEqual([first]));
    await handle.close();
    expect(closed).toEqual([first, second]);
  });

  it('runs concurrent loads one after another, in the order asked', async () => {
    const { handle, steps } = recordingLoader();
    const [a, b, c] = await Promise.all([handle.load(A), handle.load(B), handle.load(C)]);
    expect([a.version, b.version, c.version]).toEqual(['1.0.0-a', '1.0.0-b', '1.0.0-c']);
    expect(steps).toEqual([`start ${A}`, `end ${A}`, `start ${B}`, `end ${B}`, `start ${C}`, `end ${C}`]);
    expect(handle.current).toBe(c);
    await handle.close();
  });

  it('keeps the current model serving when a load fails, and loads again afterwards', async () => {
    const { handle } = recordingLoader();
    const current = await handle.load(A);
    await expect(handle.load('/nonexistent/model.onnx')).rejects.toBeInstanceOf(ModelLoadError);
    expect(handle.current).toBe(current);
    expect((await handle.withModel((model) => model.predict(ROW, 1))).churn.length).toBe(1);
    expect((await handle.load(B)).version).toBe('1.0.0-b');
    await handle.close();
  });

  it('waits on close for a run still borrowing the model', async () => {
    const { handle, closed } = recordingLoader();
    await handle.load(A);
    const hold = deferred();
    const running = handle.withModel(async (model) => {
      await hold.promise;
      return model.predict(ROW, 1);
    });
    let closedAll = false;
    const closing = handle.close().then(() => (closedAll = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closedAll).toBe(false);
    expect(closed).toEqual([]);
    hold.resolve();
    await running;
    await closing;
    expect(closed).toHaveLength(1);
  });

  it('waits on close for a load in progress, and releases what it loaded', async () => {
    const { handle, closed } = recordingLoader();
    const loading = handle.load(A);
    await handle.close();
    const loaded = await loading;
    expect(closed).toEqual([loaded]);
    expect(handle.current).toBeUndefined();
  });

  it('keeps no reference to a replaced model once it is released, so reloads cannot leak models', async () => {
    // Records nothing: a recorded release would itself keep the model reachable.
    const handle = new ModelHandle((path) => loadChurnModel(path, OPTIONS));
    const released: WeakRef<Model>[] = [];
    for (const path of [A, B, C, A, B]) released.push(new WeakRef(await handle.load(path)));
    const current = released.pop()!;
    // Let the releases, which settle asynchronously, finish.
    for (let turn = 0; turn < 10; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(released.map((model) => model.deref())).toEqual([undefined, undefined, undefined, undefined]);
    expect(current.deref()).toBe(handle.current);
    await handle.close();
  });
});
