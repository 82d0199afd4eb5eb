import ort from 'onnxruntime-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildTestApp } from '../helpers.js';

afterEach(() => vi.restoreAllMocks());

describe('runtime options', () => {
  it.each([
    [{}, 1],
    [{ INTRA_OP_THREADS: '2' }, 2],
  ])('gives onnxruntime the configured intra-op threads (%j)', async (env, threads) => {
    const create = vi.spyOn(ort.InferenceSession, 'create');
    const { app } = await buildTestApp({ ...env, LOG_LEVEL: 'silent' });
    await app.close();
    expect(create).toHaveBeenCalledTimes(1);
    expect(create.mock.calls[0]?.[1]).toMatchObject({ intraOpNumThreads: threads, interOpNumThreads: 1 });
  });

  it('logs the event-loop delay it tracked when the app closes', async () => {
    const { app, logs } = await buildTestApp();
    await app.close();
    const summary = logs.find((line) => line.msg === 'event loop delay since start');
    expect(summary?.eventLoopDelay).toEqual({
      p50Ms: expect.any(Number),
      p99Ms: expect.any(Number),
      maxMs: expect.any(Number),
      samples: expect.any(Number),
    });
  });
});
