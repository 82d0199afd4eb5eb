import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClusterMessage, CollectRequest, WorkerOutcome } from '../../src/cluster/messages.js';
import { Supervisor, type AnyPeriodicGather, type SupervisorOptions } from '../../src/cluster/supervisor.js';

/** A worker process as node:cluster's primary sees it; the test plays the process. */
class FakeWorker extends EventEmitter {
  readonly sent: (ClusterMessage | object)[] = [];
  readonly signals: NodeJS.Signals[] = [];
  readonly process: { pid: number; kill: (signal: NodeJS.Signals) => void };
  connected = true;

  constructor(readonly id: number) {
    super();
    // Cluster ids and process pids differ, as they do in a real cluster.
    this.process = { pid: 4100 + id, kill: (signal) => this.signals.push(signal) };
  }
  isConnected() {
    return this.connected;
  }
  send(message: ClusterMessage | object) {
    this.sent.push(message);
  }
  listen() {
    this.emit('listening');
  }
  /** A message from this worker to the primary. */
  tell(message: ClusterMessage | object) {
    this.emit('message', message);
  }
  /** The collect requests the primary sent this worker. */
  get asked(): CollectRequest[] {
    return this.sent.filter((message): message is CollectRequest => (message as { kind?: string }).kind === 'churn:collect');
  }
  /** This worker's answer to the last collect request it was sent. */
  answer(outcome: Omit<WorkerOutcome, 'pid'>) {
    this.tell({ kind: 'churn:collected', id: this.asked.at(-1)!.id, outcome: { pid: this.process.pid, ...outcome } as WorkerOutcome });
  }
}

/** node:cluster's primary: a worker that exits leaves `workers` before 'exit' is emitted. */
class FakeCluster extends EventEmitter {
  readonly workers: Record<string, FakeWorker> = {};
  readonly forked: FakeWorker[] = [];
  fork() {
    const worker = new FakeWorker(this.forked.length + 1);
    this.workers[worker.id] = worker;
    this.forked.push(worker);
    return worker;
  }
  exit(worker: FakeWorker, code: number, signal: NodeJS.Signals | null = null) {
    worker.connected = false;
    delete this.workers[worker.id];
    this.emit('exit', worker, code, signal);
  }
}

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}
const LEVELS: Record<number, string> = { 30: 'info', 50: 'error', 60: 'fatal' };

function supervise(options: Partial<SupervisorOptions> = {}) {
  const pool = new FakeCluster();
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  const exits: number[] = [];
  const supervisor = new Supervisor(pool, { workers: 2, shutdownTimeoutMs: 10_000, reloadTimeoutMs: 60_000, logger, exit: (code) => exits.push(code), ...options });
  supervisor.start();
  const [first, second] = pool.forked as [FakeWorker, FakeWorker];
  return { pool, supervisor, exits, first, second, logged: () => lines.map((line) => `${LEVELS[line.level]}: ${line.msg}`), lines };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('Supervisor', () => {
  it('starts the workers it was asked for', () => {
    const { pool, logged } = supervise({ workers: 3 });
    expect(pool.forked).toHaveLength(3);
    expect(logged()).toEqual(['info: starting worker processes']);
  });

  it('replaces a worker that dies after it listened', () => {
    const { pool, first, second, exits, logged, lines } = supervise();
    first.listen();
    second.listen();
    pool.exit(first, 1);
    expect(pool.forked).toHaveLength(3);
    expect(Object.values(pool.workers)).toEqual([second, pool.forked[2]]);
    expect(second.signals).toEqual([]);
    expect(exits).toEqual([]);
    expect(logged().at(-1)).toBe('error: worker died; starting a replacement');
    expect(lines.at(-1)).toMatchObject({ pid: first.process.pid, code: 1 });
  });

  it('stops the service when a worker dies before it ever listened: SIGTERM to the others, 1 once none is left', () => {
    const { pool, first, second, exits, logged, lines } = supervise();
    first.listen();
    pool.exit(second, 1);
    expect(logged().at(-1)).toBe('fatal: a worker failed to start; stopping the service');
    expect(lines.at(-1)).toMatchObject({ pid: second.process.pid, code: 1 });
    expect(first.signals).toEqual(['SIGTERM']);
    expect(pool.forked).toHaveLength(2);
    expect(exits).toEqual([]);
    pool.exit(first, 0);
    expect(pool.forked).toHaveLength(2);
    expect(exits).toEqual([1]);
  });

  it('exits 1 at once when the only worker dies before it listened', () => {
    const { pool, first, exits } = supervise({ workers: 1 });
    pool.exit(first, 1);
    expect(exits).toEqual([1]);
    expect(pool.forked).toHaveLength(1);
  });

  it('exits 1 when every worker dies before it listened, the later ones while stopping', () => {
    const { pool, first, second, exits } = supervise();
    pool.exit(first, 1);
    expect(exits).toEqual([]);
    pool.exit(second, 1);
    expect(exits).toEqual([1]);
  });

  it('drains every worker on shutdown and exits 0 once all of them have', () => {
    const { pool, supervisor, first, second, exits, logged } = supervise();
    first.listen();
    second.listen();
    supervisor.shutdown('SIGTERM');
    supervisor.shutdown('SIGINT');
    expect(first.signals).toEqual(['SIGTERM']);
    expect(second.signals).toEqual(['SIGTERM']);
    expect(logged().at(-1)).toBe('info: shutting down: draining every worker');
    pool.exit(first, 0);
    expect(exits).toEqual([]);
    pool.exit(second, 0);
    expect(pool.forked).toHaveLength(2);
    expect(exits).toEqual([0]);
    expect(logged().at(-1)).toBe('info: all workers drained; shutdown complete');
  });

  it('exits 1 after a shutdown in which a worker that had listened exited non-zero', () => {
    const { pool, supervisor, first, second, exits, logged } = supervise();
    first.listen();
    second.listen();
    supervisor.shutdown('SIGTERM');
    pool.exit(first, 1);
    expect(logged().at(-1)).toBe('error: a worker did not drain cleanly');
    pool.exit(second, 0);
    expect(exits).toEqual([1]);
    expect(logged().at(-1)).toBe('error: shutdown finished with workers that did not drain');
  });

  it('does not count a worker that never listened as failing to drain', () => {
    const { pool, supervisor, first, second, exits } = supervise();
    first.listen();
    supervisor.shutdown('SIGTERM');
    pool.exit(second, 1);
    pool.exit(first, 0);
    expect(exits).toEqual([0]);
  });

  it('exits 1 when workers are still running at the shutdown timeout', () => {
    const { pool, supervisor, first, second, exits, logged, lines } = supervise();
    first.listen();
    second.listen();
    supervisor.shutdown('SIGTERM');
    pool.exit(first, 0);
    vi.advanceTimersByTime(9999);
    expect(exits).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(exits).toEqual([1]);
    expect(logged().at(-1)).toBe('error: workers still running after 10000 ms; exiting');
    expect(lines.at(-1)).toMatchObject({ workers: [second.process.pid] });
  });

  it('answers a worker\'s own question with the responder that knows it, to that worker only, never as a gather', () => {
    const question = { kind: 'rate-limit:hit', id: 7, key: 'k', windowMs: 60_000 };
    const { first, second } = supervise({
      responders: [(message) => undefined, (message) => ((message as { kind?: string }).kind === 'rate-limit:hit' ? { kind: 'rate-limit:count', id: 7, current: 1 } : undefined)],
    });
    first.tell(question);
    expect(first.sent).toEqual([{ kind: 'rate-limit:count', id: 7, current: 1 }]);
    expect(second.sent).toEqual([]);
    first.connected = false;
    first.tell(question);
    expect(first.sent).toHaveLength(1);
    // Gathers still go through the relay.
    second.tell({ kind: 'churn:gather', id: 1, topic: 'metrics', payload: undefined, timeoutMs: 1000 });
    expect(second.asked).toHaveLength(1);
  });

  it('reloads the model in every connected worker and logs the outcome', () => {
    const { supervisor, first, second, logged, lines } = supervise();
    supervisor.reload();
    expect(logged().at(-1)).toBe('info: SIGHUP: reloading the model in every worker');
    expect(first.asked).toEqual([{ kind: 'churn:collect', id: 1, topic: 'reload', payload: undefined }]);
    expect(second.asked).toEqual([{ kind: 'churn:collect', id: 1, topic: 'reload', payload: undefined }]);
    first.answer({ result: { model_version: '2.0.0' } });
    second.answer({ result: { model_version: '2.0.0' } });
    expect(logged().at(-1)).toBe('info: model reloaded in every worker');
    expect(lines.at(-1)!.outcomes).toEqual([
      { pid: first.process.pid, result: { model_version: '2.0.0' } },
      { pid: second.process.pid, result: { model_version: '2.0.0' } },
    ]);

    second.connected = false;
    supervisor.reload();
    expect(second.asked).toHaveLength(1);
    first.answer({ error: 'Model not found' });
    expect(logged().at(-1)).toBe('error: model reload failed in some workers; they keep their current model');
    expect(lines.at(-1)!.outcomes).toEqual([{ pid: first.process.pid, error: 'Model not found' }]);
  });

  it('reports a worker that does not answer a reload in time by its process pid', () => {
    const { supervisor, first, second, lines } = supervise();
    supervisor.reload();
    first.answer({ result: { model_version: '2.0.0' } });
    vi.advanceTimersByTime(60_000);
    expect(lines.at(-1)!.outcomes).toEqual([
      { pid: first.process.pid, result: { model_version: '2.0.0' } },
      { pid: second.process.pid, error: 'the worker did not answer in time' },
    ]);
  });

  it('does not reload while stopping', () => {
    const { supervisor, first } = supervise();
    supervisor.shutdown('SIGTERM');
    supervisor.reload();
    expect(first.asked).toEqual([]);
  });

  it("relays a worker's gather to every connected worker and sends it back every outcome", () => {
    const { pool, first, second } = supervise();
    const third = pool.fork();
    third.connected = false;
    first.tell({ kind: 'churn:gather', id: 7, topic: 'metrics', payload: undefined, timeoutMs: 3000 });
    expect(first.asked).toEqual([{ kind: 'churn:collect', id: 1, topic: 'metrics', payload: undefined }]);
    expect(second.asked).toHaveLength(1);
    expect(third.asked).toEqual([]);
    second.answer({ result: 'b' });
    first.answer({ result: 'a' });
    expect(first.sent.at(-1)).toEqual({
      kind: 'churn:gathered',
      id: 7,
      outcomes: [
        { pid: second.process.pid, result: 'b' },
        { pid: first.process.pid, result: 'a' },
      ],
    });
    expect(second.sent).toHaveLength(1);
  });

  it('reports a worker that exits during a gather, and answers no worker that has gone', () => {
    const { pool, first, second } = supervise();
    first.listen();
    second.listen();
    first.tell({ kind: 'churn:gather', id: 7, topic: 'metrics', payload: undefined, timeoutMs: 3000 });
    first.answer({ result: 'a' });
    pool.exit(second, 1);
    expect(first.sent.at(-1)).toEqual({
      kind: 'churn:gathered',
      id: 7,
      outcomes: [
        { pid: first.process.pid, result: 'a' },
        { pid: second.process.pid, error: 'the worker exited' },
      ],
    });

    const [, , replacement] = pool.forked as [FakeWorker, FakeWorker, FakeWorker];
    // It asks, and its channel closes before the answers are in.
    replacement.tell({ kind: 'churn:gather', id: 1, topic: 'drift', payload: undefined, timeoutMs: 3000 });
    replacement.connected = false;
    first.answer({ result: null });
    vi.advanceTimersByTime(3000);
    expect(replacement.sent.filter((message) => (message as { kind?: string }).kind === 'churn:gathered')).toEqual([]);
  });

  describe('periodic gathers', () => {
    const drift = (onOutcomes: (outcomes: readonly WorkerOutcome<unknown>[]) => void): AnyPeriodicGather => ({ topic: 'drift', intervalMs: 1000, timeoutMs: 500, onOutcomes });

    it('gathers every interval and hands the outcomes over', () => {
      const received: (readonly WorkerOutcome<unknown>[])[] = [];
      const { first, second } = supervise({ periodicGathers: [drift((outcomes) => received.push(outcomes))] });
      vi.advanceTimersByTime(1000);
      expect(first.asked).toEqual([{ kind: 'churn:collect', id: 1, topic: 'drift', payload: undefined }]);
      first.answer({ result: null });
      second.answer({ result: null });
      expect(received).toEqual([
        [
          { pid: first.process.pid, result: null },
          { pid: second.process.pid, result: null },
        ],
      ]);
      vi.advanceTimersByTime(1000);
      expect(first.asked).toHaveLength(2);
    });

    it('logs a handler that throws, and never throws it out', () => {
      const { first, second, logged, lines } = supervise({
        periodicGathers: [
          drift(() => {
            throw new Error('bad counts');
          }),
        ],
      });
      vi.advanceTimersByTime(1000);
      first.answer({ result: null });
      expect(() => second.answer({ result: null })).not.toThrow();
      expect(logged().at(-1)).toBe('error: periodic check failed');
      expect(lines.at(-1)).toMatchObject({ topic: 'drift', err: { message: 'bad counts' } });
      vi.advanceTimersByTime(1000);
      expect(first.asked).toHaveLength(2);
    });

    it('stop while the service is stopping', () => {
      const { supervisor, first } = supervise({ periodicGathers: [drift(() => undefined)] });
      supervisor.shutdown('SIGTERM');
      vi.advanceTimersByTime(5000);
      expect(first.asked).toEqual([]);
    });
  });
});
