import { afterEach, describe, expect, it, vi } from 'vitest';
import { MicroBatcher } from '../../src/data-plane/micro-batcher.js';
import { ServiceClosingError } from '../../src/errors.js';

/** A run that records each call and answers every input with a value derived from it alone. */
function recordingRun() {
  const calls: number[][] = [];
  const run = vi.fn(async (inputs: number[]) => {
    calls.push([...inputs]);
    return inputs.map((input) => input * 10);
  });
  return { calls, run };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => vi.useRealTimers());

describe('MicroBatcher', () => {
  it('flushes as soon as the queue reaches the maximum batch size', async () => {
    const { calls, run } = recordingRun();
    const batcher = new MicroBatcher({ run, maxBatchRows: 3, maxDelayMs: 60_000 });
    const results = [1, 2, 3].map((input) => batcher.submit(input));
    // No timer has fired, no turn of the loop has passed: the size alone triggered the run.
    expect(calls).toEqual([[1, 2, 3]]);
    expect(await Promise.all(results)).toEqual([10, 20, 30]);
  });

  it('flushes at the next turn of the event loop, not before', async () => {
    const { calls, run } = recordingRun();
    const batcher = new MicroBatcher({ run, maxBatchRows: 100, maxDelayMs: 0 });
    const results = [batcher.submit(1), batcher.submit(2)];
    expect(calls).toEqual([]);
    await nextTurn();
    expect(calls).toEqual([[1, 2]]);
    expect(await Promise.all(results)).toEqual([10, 20]);
  });

  it('waits the configured delay before flushing when it is set', async () => {
    vi.useFakeTimers();
    const { calls, run } = recordingRun();
    const batcher = new MicroBatcher({ run, maxBatchRows: 100, maxDelayMs: 10 });
    const first = batcher.submit(1);
    vi.advanceTimersByTime(9);
    const second = batcher.submit(2);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual([[1, 2]]);
    expect(await Promise.all([first, second])).toEqual([10, 20]);
  });

  it('rejects every caller of a failed run, and the next run still works', async () => {
    let fail = true;
    const batcher = new MicroBatcher<number, number>({
      run: async (inputs) => {
        if (fail) throw new Error('inference failed');
        return inputs;
      },
      maxBatchRows: 100,
      maxDelayMs: 0,
    });
    const results = await Promise.allSettled([batcher.submit(1), batcher.submitMany([2, 3]), batcher.submit(4)]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const result of results) expect((result as PromiseRejectedResult).reason).toEqual(new Error('inference failed'));
    fail = false;
    expect(await batcher.submit(5)).toBe(5);
  });

  it('rejects every caller when the run returns the wrong number of outputs', async () => {
    const batcher = new MicroBatcher<number, number>({ run: async (inputs) => inputs.slice(1), maxBatchRows: 100, maxDelayMs: 0 });
    const results = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(results).toEqual([
      { status: 'rejected', reason: new Error('run returned 1 outputs for 2 inputs') },
      { status: 'rejected', reason: new Error('run returned 1 outputs for 2 inputs') },
    ]);
  });

  it('splits a long queue into runs of at most the maximum rows, never splitting one caller', async () => {
    const { calls, run } = recordingRun();
    const batcher = new MicroBatcher({ run, maxBatchRows: 4, maxDelayMs: 0 });
    const many = batcher.submitMany([1, 2, 3]);
    const single = batcher.submit(4);
    const large = batcher.submitMany([5, 6, 7, 8, 9, 10]);
    const last = batcher.submit(11);
    expect(await many).toEqual([10, 20, 30]);
    expect(await single).toBe(40);
    expect(await large).toEqual([50, 60, 70, 80, 90, 100]);
    expect(await last).toBe(110);
    // A caller larger than the cap runs alone and whole; everything else respects the cap.
    expect(calls).toEqual([[1, 2, 3, 4], [5, 6, 7, 8, 9, 10], [11]]);
  });

  it('gives each of 1,000 concurrent callers its own result, in order', async () => {
    const { calls, run } = recordingRun();
    const batcher = new MicroBatcher({ run, maxBatchRows: 64, maxDelayMs: 0 });
    const inputs = Array.from({ length: 1000 }, () => Math.random());
    const outputs = await Promise.all(inputs.map((input) => batcher.submit(input)));
    expect(outputs).toEqual(inputs.map((input) => input * 10));
    expect(calls.length).toBeGreaterThanOrEqual(Math.ceil(1000 / 64));
    expect(Math.max(...calls.map((call) => call.length))).toBeLessThanOrEqual(64);
  });

  it('finishes queued calls on close and refuses new ones', async () => {
    const { calls, run } = recordingRun();
    const batcher = new MicroBatcher({ run, maxBatchRows: 2, maxDelayMs: 60_000 });
    const queued = [1, 2, 3, 4, 5].map((input) => batcher.submit(input));
    await batcher.close();
    expect(await Promise.all(queued)).toEqual([10, 20, 30, 40, 50]);
    expect(calls.flat()).toEqual([1, 2, 3, 4, 5]);
    await expect(batcher.submit(6)).rejects.toBeInstanceOf(ServiceClosingError);
    expect(batcher.queuedRows).toBe(0);
  });

  it('runs jobs left over after a cap flush at the next turn, without waiting the delay again', async () => {
    const { calls, run } = recordingRun();
    const batcher = new MicroBatcher({ run, maxBatchRows: 3, maxDelayMs: 60_000 });
    const results = [batcher.submitMany([1, 2]), batcher.submitMany([3, 4])];
    // [3, 4] took the queue past the cap: [1, 2] ran at once, and [3, 4] has waited enough.
    expect(calls).toEqual([[1, 2]]);
    expect(batcher.queuedRows).toBe(2);
    await nextTurn();
    expect(calls).toEqual([[1, 2], [3, 4]]);
    expect(batcher.queuedRows).toBe(0);
    expect(await Promise.all(results)).toEqual([[10, 20], [30, 40]]);
  });

  it('splits a queue longer than the cap, queued before any flush, into capped runs a turn apart', async () => {
    const { calls, run } = recordingRun();
    const batcher = new MicroBatcher({ run, maxBatchRows: 3, maxDelayMs: 0 });
    const results = [batcher.submitMany([1, 2]), batcher.submitMany([3, 4]), batcher.submit(5), batcher.submitMany([6, 7])];
    // [1, 2] + [3, 4] passed the cap of 3, so [1, 2] ran at once and alone; 5 then filled [3, 4] to the cap.
    expect(calls).toEqual([[1, 2], [3, 4, 5]]);
    expect(batcher.queuedRows).toBe(2);
    await nextTurn();
    expect(calls).toEqual([[1, 2], [3, 4, 5], [6, 7]]);
    expect(await Promise.all(results)).toEqual([[10, 20], [30, 40], 50, [60, 70]]);
  });

  it('reports how long each caller waited in the queue', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
    const waits: number[] = [];
    const batcher = new MicroBatcher({ run: async (inputs: number[]) => inputs, maxBatchRows: 100, maxDelayMs: 10, onQueueWait: (ms) => waits.push(ms) });
    const first = batcher.submit(1);
    vi.advanceTimersByTime(4);
    const second = batcher.submitMany([2, 3]);
    vi.advanceTimersByTime(6);
    await Promise.all([first, second]);
    expect(waits).toEqual([10, 6]);
  });

  it('rejects bad options', () => {
    const run = async (inputs: number[]) => inputs;
    expect(() => new MicroBatcher({ run, maxBatchRows: 0, maxDelayMs: 0 })).toThrowError('maxBatchRows must be at least 1');
    expect(() => new MicroBatcher({ run, maxBatchRows: Number.NaN, maxDelayMs: 0 })).toThrowError(RangeError);
    expect(() => new MicroBatcher({ run, maxBatchRows: 1, maxDelayMs: -1 })).toThrowError('maxDelayMs must not be negative');
    expect(() => new MicroBatcher({ run, maxBatchRows: 1, maxDelayMs: 0 })).not.toThrow();
  });

  it('answers an empty submitMany at once without a run', async () => {
    const { calls, run } = recordingRun();
    const batcher = new MicroBatcher({ run, maxBatchRows: 2, maxDelayMs: 0 });
    expect(await batcher.submitMany([])).toEqual([]);
    await nextTurn();
    expect(calls).toEqual([]);
  });

  it('on close, waits for runs already in flight even when nothing is queued', async () => {
    let finish!: () => void;
    const batcher = new MicroBatcher<number, number>({
      run: (inputs) => new Promise((resolve) => (finish = () => resolve(inputs))),
      maxBatchRows: 1,
      maxDelayMs: 0,
    });
    const result = batcher.submit(1);
    expect(batcher.queuedRows).toBe(0);
    let closed = false;
    const closing = batcher.close().then(() => (closed = true));
    await nextTurn();
    expect(closed).toBe(false);
    finish();
    await closing;
    expect(await result).toBe(1);
  });

  it('keeps one delay timer at a time: a second caller joins the first one\'s wait, and no stray timer flushes later callers early', async () => {
    vi.useFakeTimers();
    const { calls, run } = recordingRun();
    const batcher = new MicroBatcher({ run, maxBatchRows: 100, maxDelayMs: 10 });
    const results = [batcher.submit(1)];
    vi.advanceTimersByTime(5);
    results.push(batcher.submit(2));
    vi.advanceTimersByTime(5);
    expect(calls).toEqual([[1, 2]]);
    vi.advanceTimersByTime(2);
    results.push(batcher.submit(3));
    vi.advanceTimersByTime(9);
    expect(calls).toEqual([[1, 2]]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual([[1, 2], [3]]);
    expect(await Promise.all(results)).toEqual([10, 20, 30]);
  });

  it('a flush by the row cap cancels the pending delay, so the next caller waits its own full delay', async () => {
    vi.useFakeTimers();
    const { calls, run } = recordingRun();
    const batcher = new MicroBatcher({ run, maxBatchRows: 2, maxDelayMs: 10 });
    const results = [batcher.submit(1), batcher.submit(2)];
    expect(calls).toEqual([[1, 2]]);
    vi.advanceTimersByTime(1);
    results.push(batcher.submit(3));
    vi.advanceTimersByTime(9);
    expect(calls).toEqual([[1, 2]]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual([[1, 2], [3]]);
    expect(await Promise.all(results)).toEqual([10, 20, 30]);
  });
});
