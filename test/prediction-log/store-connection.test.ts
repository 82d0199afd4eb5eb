import { afterEach, describe, expect, it, vi } from 'vitest';
import { PredictionLogUnavailableError } from '../../src/errors.js';
import { SchemaNewerError } from '../../src/prediction-log/migrations.js';
import type { PredictionLogStore, PredictionRecord } from '../../src/prediction-log/prediction-log-store.js';
import { PredictionLogStoreConnection, type PredictionLogState } from '../../src/prediction-log/store-connection.js';

/** A store whose migrations fail as the test says: a queue of outcomes, then success. */
function fakeStore(kind: PredictionLogStore['kind'], migrateOutcomes: (Error | 'hang')[] = []) {
  const inserted: PredictionRecord[] = [];
  let insertFails = false;
  const store: PredictionLogStore = {
    kind,
    migrate: vi.fn(async () => {
      const outcome = migrateOutcomes.shift();
      if (outcome === 'hang') return new Promise<void>(() => undefined);
      if (outcome) throw outcome;
    }),
    insert: vi.fn(async (records: readonly PredictionRecord[]) => {
      if (insertFails) throw new Error('connection refused');
      inserted.push(...records);
    }),
    recent: vi.fn(async () => []),
    deleteRecordedBefore: vi.fn(async () => 0),
    deleteOutcomesObservedBefore: vi.fn(async () => 0),
    recordOutcomes: vi.fn(async () => ({ received: 0, matched: 0 }) as never),
    scoredOutcomes: vi.fn(async () => ({}) as never),
    pairedScores: vi.fn(async () => []),
    addDriftMinutes: vi.fn(async () => undefined),
    sumDriftMinutes: vi.fn(async () => []),
    deleteDriftMinutesBefore: vi.fn(async () => 0),
    close: vi.fn(async () => undefined),
  };
  return { store, inserted, failInserts: (fails: boolean) => (insertFails = fails) };
}

function connect(store: PredictionLogStore) {
  const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), fatal: vi.fn() };
  const states: PredictionLogState[] = [];
  const onConnected = vi.fn();
  const connection = new PredictionLogStoreConnection({ store, log, initialRetryDelayMs: 100, maxRetryDelayMs: 400, onStateChange: (state) => states.push(state), onConnected });
  return { connection, log, states, onConnected };
}

const RECORD = { predictionId: 'p-1' } as PredictionRecord;
const unreachable = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

afterEach(() => vi.useRealTimers());

describe('prediction log store connection', () => {
  it('starts without PostgreSQL, refuses writes and the store meanwhile, and migrates in the background with back-off, logging the episode once', async () => {
    vi.useFakeTimers();
    const { store } = fakeStore('postgres', [unreachable(), unreachable(), unreachable(), unreachable()]);
    const { connection, log, states, onConnected } = connect(store);
    await connection.start(1_000);
    expect(connection.state).toBe('connecting');
    expect(connection.ready).toBe(false);
    await expect(connection.insert([RECORD])).rejects.toBeInstanceOf(PredictionLogUnavailableError);
    expect(connection.migratedStore).toBeUndefined();
    await expect(connection.gatedStore.deleteDriftMinutesBefore(new Date())).rejects.toBeInstanceOf(PredictionLogUnavailableError);
    expect(store.deleteDriftMinutesBefore).not.toHaveBeenCalled();

    // Back-off: 100, 200, 400, then 400 (the cap) after the first four failures.
    await vi.advanceTimersByTimeAsync(99);
    expect(store.migrate).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.migrate).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(store.migrate).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(400);
    expect(store.migrate).toHaveBeenCalledTimes(4);
    await vi.advanceTimersByTimeAsync(399);
    expect(store.migrate).toHaveBeenCalledTimes(4);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.migrate).toHaveBeenCalledTimes(5);

    expect(log.error).toHaveBeenCalledTimes(1);
    expect(log.info).toHaveBeenCalledWith({ store: 'postgres', attempts: 5 }, 'prediction log: store connected and migrated');
    expect(states).toEqual(['up']);
    expect(onConnected).toHaveBeenCalledTimes(1);
    expect(connection.migratedStore).toBe(store);
    await connection.gatedStore.deleteDriftMinutesBefore(new Date(0));
    expect(store.deleteDriftMinutesBefore).toHaveBeenCalledWith(new Date(0));
    await connection.insert([RECORD]);
    expect(store.insert).toHaveBeenCalledWith([RECORD]);
  });

  it('goes down when a write fails and up when one works again', async () => {
    const { store, failInserts } = fakeStore('postgres');
    const { connection, states } = connect(store);
    await connection.start(1_000);
    failInserts(true);
    await expect(connection.insert([RECORD])).rejects.toThrow('connection refused');
    expect(connection.state).toBe('down');
    expect(connection.ready).toBe(false);
    // Routes still get the store: their own call answers 503 if it fails too.
    expect(connection.migratedStore).toBe(store);
    failInserts(false);
    await connection.insert([RECORD]);
    expect(states).toEqual(['up', 'down', 'up']);
  });

  it('stops the start on a schema newer than the code knows, when the database answers during the start', async () => {
    const { store } = fakeStore('postgres', [new SchemaNewerError('PostgreSQL', 9, 3)]);
    const { connection, log } = connect(store);
    await expect(connection.start(1_000)).rejects.toThrow('PostgreSQL has schema version 9, newer than this service knows (3)');
    expect(connection.state).toBe('incompatible');
    // The failed start reports it (one line); the connection does not repeat it.
    expect(log.fatal).not.toHaveBeenCalled();
  });

  it('finding a newer schema only after the start, stops writing for good and never retries', async () => {
    vi.useFakeTimers();
    const { store } = fakeStore('postgres', [unreachable(), new SchemaNewerError('PostgreSQL', 9, 3)]);
    const { connection, states, log } = connect(store);
    await connection.start(1_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(store.migrate).toHaveBeenCalledTimes(2);
    expect(log.fatal).toHaveBeenCalledWith(expect.anything(), expect.stringContaining('newer than this service knows (3); run a release that knows it'));
    expect(connection.state).toBe('incompatible');
    expect(states).toEqual(['incompatible']);
    await expect(connection.insert([RECORD])).rejects.toBeInstanceOf(PredictionLogUnavailableError);
  });

  it('waits at most the given time for a first attempt that hangs, and starts', async () => {
    vi.useFakeTimers();
    const { store } = fakeStore('postgres', ['hang']);
    const { connection } = connect(store);
    const started = connection.start(3_000);
    await vi.advanceTimersByTimeAsync(3_000);
    await started;
    expect(connection.state).toBe('connecting');
  });

  it('fails the start at once for SQLite (a file that cannot be migrated is a misconfigured volume) and does not retry', async () => {
    vi.useFakeTimers();
    const { store } = fakeStore('sqlite', [new Error('SQLITE_READONLY: attempt to write a readonly database')]);
    const { connection } = connect(store);
    await expect(connection.start(1_000)).rejects.toThrow('SQLITE_READONLY');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(store.migrate).toHaveBeenCalledTimes(1);
  });

  it('stops retrying once closed', async () => {
    vi.useFakeTimers();
    const { store } = fakeStore('postgres', [unreachable(), unreachable(), unreachable()]);
    const { connection } = connect(store);
    await connection.start(1_000);
    await connection.close();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(store.migrate).toHaveBeenCalledTimes(1);
    expect(store.close).toHaveBeenCalledTimes(1);
  });
});
