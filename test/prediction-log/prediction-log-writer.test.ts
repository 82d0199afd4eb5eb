import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PredictionRecord } from '../../src/prediction-log/prediction-log-store.js';
import { PredictionLogWriter, type DropReason, type PredictionLogWriterOptions } from '../../src/prediction-log/prediction-log-writer.js';

function record(requestId: string): PredictionRecord {
  return {
    predictionId: randomUUID(),
    role: 'champion',
    served: true,
    rowKey: randomUUID(),
    recordedAt: new Date('2026-11-30T10:00:00.000Z'),
    requestId,
    customerId: undefined,
    protocol: 'rest',
    modelName: 'churn',
    modelVersion: '1.2.0',
    modelSha256: 'ab'.repeat(32),
    features: { tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 },
    probability: 0.5,
    prediction: 1,
    tier: 'medium',
  };
}

function records(prefix: string, count: number): PredictionRecord[] {
  return Array.from({ length: count }, (_, index) => record(`${prefix}-${index}`));
}

/** A store the test steers: it takes, fails, or holds each insert until told. */
class FakeStore {
  readonly written: PredictionRecord[] = [];
  attempts = 0;
  mode: 'take' | 'fail' | 'throw-synchronously' | 'hang' = 'take';
  readonly #held: (() => void)[] = [];

  insert(batch: readonly PredictionRecord[]): Promise<void> {
    this.attempts += 1;
    if (this.mode === 'throw-synchronously') throw new Error('store exploded');
    if (this.mode === 'fail') return Promise.reject(new Error('store is down'));
    if (this.mode === 'hang') {
      return new Promise((resolve) => {
        this.#held.push(() => {
          this.written.push(...batch);
          resolve();
        });
      });
    }
    this.written.push(...batch);
    return Promise.resolve();
  }

  /** Lets every held insert finish, and takes the next ones at once. */
  recover(): void {
    this.mode = 'take';
    for (const release of this.#held.splice(0)) release();
  }
}

function requestIds(written: readonly PredictionRecord[]): (string | undefined)[] {
  return written.map((logged) => logged.requestId);
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
async function settleAll(): Promise<void> {
  for (let round = 0; round < 5; round += 1) await settle();
}

const writers: PredictionLogWriter[] = [];
afterEach(async () => {
  await Promise.all(writers.splice(0).map((writer) => writer.drain(0)));
});

function writerFor(store: FakeStore, overrides: Partial<PredictionLogWriterOptions> = {}) {
  const log = { warn: vi.fn(), error: vi.fn(), info: vi.fn() };
  const dropped: [number, DropReason][] = [];
  const writer = new PredictionLogWriter({
    store,
    maxBuffered: 10,
    maxBatch: 3,
    // Never fires within a test unless a test fakes the clock: flushes come from full batches and drains.
    flushIntervalMs: 3_600_000,
    onDropped: (count, reason) => dropped.push([count, reason]),
    log,
    ...overrides,
  });
  writers.push(writer);
  return { writer, log, dropped };
}

describe('PredictionLogWriter', () => {
  it('refuses a batch larger than the buffer', () => {
    expect(() => new PredictionLogWriter({ store: new FakeStore(), maxBuffered: 2, maxBatch: 3, flushIntervalMs: 1000, log: console })).toThrow(
      'need 1 <= maxBatch (3) <= maxBuffered (2)',
    );
  });

  it('record returns before anything is written: the write starts after the caller is done', async () => {
    const store = new FakeStore();
    const { writer } = writerFor(store);
    writer.record(records('a', 3));
    expect(store.attempts).toBe(0);
    expect(writer.pending).toBe(3);
    await settleAll();
    expect(requestIds(store.written)).toEqual(['a-0', 'a-1', 'a-2']);
    expect(writer.pending).toBe(0);
  });

  it('a partial batch waits for the flush interval', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const store = new FakeStore();
      const { writer } = writerFor(store, { flushIntervalMs: 1000 });
      writer.record(records('a', 2));
      await settleAll();
      expect(store.written).toEqual([]);
      vi.advanceTimersByTime(1000);
      await settleAll();
      expect(requestIds(store.written)).toEqual(['a-0', 'a-1']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a hung store never blocks the caller; records beyond the bound are counted, with one log line per episode', async () => {
    const store = new FakeStore();
    store.mode = 'hang';
    const { writer, log, dropped } = writerFor(store);
    writer.record(records('a', 3));
    await settleAll();
    expect(store.attempts).toBe(1);
    writer.record(records('b', 6));
    writer.record(records('c', 4));
    writer.record(records('d', 2));
    expect(writer.pending).toBe(10);
    expect(dropped).toEqual([
      [3, 'buffer_full'],
      [2, 'buffer_full'],
    ]);
    expect(writer.droppedTotal).toBe(5);
    expect(log.warn).toHaveBeenCalledTimes(1);
    expect(log.warn.mock.calls[0]![1]).toContain('the buffer is full');

    store.recover();
    await settleAll();
    expect(log.warn).toHaveBeenCalledTimes(2);
    expect(log.warn.mock.calls[1]![0]).toEqual({ dropped: 5 });
    expect(requestIds(store.written)).toEqual(['a-0', 'a-1', 'a-2', 'b-0', 'b-1', 'b-2', 'b-3', 'b-4', 'b-5']);
    // A partial batch waits for the interval.
    expect(writer.pending).toBe(1);

    // A new episode is logged again.
    store.mode = 'hang';
    writer.record(records('e', 14));
    expect(log.warn).toHaveBeenCalledTimes(3);
  });

  it('a failing store keeps the records and retries them in order; once recovered each is written once', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const store = new FakeStore();
      store.mode = 'fail';
      const { writer, log } = writerFor(store, { flushIntervalMs: 1000 });
      writer.record(records('a', 3));
      await settleAll();
      writer.record(records('b', 3));
      await settleAll();
      expect(store.attempts).toBe(1);
      expect(writer.pending).toBe(6);
      vi.advanceTimersByTime(1000);
      await settleAll();
      expect(store.attempts).toBe(2);
      expect(log.error).toHaveBeenCalledTimes(1);

      store.recover();
      vi.advanceTimersByTime(1000);
      await settleAll();
      expect(requestIds(store.written)).toEqual(['a-0', 'a-1', 'a-2', 'b-0', 'b-1', 'b-2']);
      expect(writer.writtenTotal).toBe(6);
      expect(writer.pending).toBe(0);
      expect(log.info).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a store that throws synchronously is a failed write, not a failed caller', async () => {
    const store = new FakeStore();
    store.mode = 'throw-synchronously';
    const { writer, log } = writerFor(store);
    expect(() => writer.record(records('a', 3))).not.toThrow();
    await settleAll();
    expect(log.error).toHaveBeenCalledTimes(1);
    expect(writer.pending).toBe(3);
  });

  it('drain writes every buffered record, batch after batch', async () => {
    const store = new FakeStore();
    const { writer, dropped } = writerFor(store, { maxBuffered: 20 });
    store.mode = 'hang';
    writer.record(records('a', 3));
    await settleAll();
    writer.record(records('b', 8));
    store.recover();
    await writer.drain(60_000);
    expect(requestIds(store.written)).toEqual([...requestIds(records('a', 3)), ...requestIds(records('b', 8))]);
    expect(writer.pending).toBe(0);
    expect(dropped).toEqual([]);
  });

  it('drain retries a failing store until it takes the records', async () => {
    const store = new FakeStore();
    store.mode = 'fail';
    const { writer } = writerFor(store, { flushIntervalMs: 1 });
    writer.record(records('a', 2));
    const drained = writer.drain(60_000);
    await settleAll();
    store.recover();
    await drained;
    expect(requestIds(store.written)).toEqual(['a-0', 'a-1']);
  });

  it('drain gives up on a hung store at its deadline and counts what it could not write', async () => {
    const store = new FakeStore();
    store.mode = 'hang';
    const { writer, log, dropped } = writerFor(store);
    writer.record(records('a', 5));
    await writer.drain(5);
    expect(dropped).toEqual([[5, 'drain_timeout']]);
    expect(writer.pending).toBe(0);
    expect(log.error).toHaveBeenCalledWith({ unwritten: 5 }, expect.stringContaining('did not take every buffered record'));
  });

  it('records after the drain are counted as dropped', async () => {
    const store = new FakeStore();
    const { writer, dropped } = writerFor(store);
    await writer.drain(1000);
    writer.record(records('late', 2));
    expect(dropped).toEqual([[2, 'after_close']]);
    expect(store.written).toEqual([]);
  });
});
