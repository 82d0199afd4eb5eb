import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClusterMessage, CollectRequest, GatherReply, WorkerCounts, WorkerOutcome } from '../../src/cluster/messages.js';
import { Supervisor, type AnyPeriodicGather, type SupervisorOptions, type TopicKeeper } from '../../src/cluster/supervisor.js';

/** A worker process as node:cluster's primary sees it; the test plays the process. */
class FakeWorker extends EventEmitter {
  readonly sent: (ClusterMessage | object)[] = [];
  readonly signals: NodeJS.Signals[] = [];
  readonly process: { pid: number; kill: (signal: NodeJS.Signals) => void };
  connected = true;

  constructor(
    readonly id: number,
    readonly env: NodeJS.Dict<string> | undefined,
  ) {
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
  /** The answers to this worker's gathers. */
  get gathered(): GatherReply[] {
    return this.sent.filter((message): message is GatherReply => (message as { kind?: string }).kind === 'churn:gathered');
  }
  /** How the cluster stands, as the primary last told this worker. */
  get counts(): WorkerCounts | undefined {
    return this.sent.flatMap((message) => ((message as ClusterMessage).kind === 'churn:worker-counts' ? [(message as { counts: WorkerCounts }).counts] : [])).at(-1);
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
  fork(env?: NodeJS.Dict<string>) {
    const worker = new FakeWorker(this.forked.length + 1, env);
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
const LEVELS: Record<number, string> = { 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

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
      responders: [() => undefined, (message) => ((message as { kind?: string }).kind === 'rate-limit:hit' ? { kind: 'rate-limit:count', id: 7, current: 1 } : undefined)],
    });
    first.listen();
    second.listen();
    const counted = (worker: FakeWorker) => worker.sent.filter((message) => (message as { kind?: string }).kind === 'rate-limit:count');
    first.tell(question);
    expect(counted(first)).toEqual([{ kind: 'rate-limit:count', id: 7, current: 1 }]);
    expect(counted(second)).toEqual([]);
    first.connected = false;
    first.tell(question);
    expect(counted(first)).toHaveLength(1);
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
    const { pool, first, second } = supervise({ workers: 3 });
    const third = pool.forked[2]!;
    for (const worker of pool.forked) worker.listen();
    third.connected = false;
    first.tell({ kind: 'churn:gather', id: 7, topic: 'metrics', payload: undefined, timeoutMs: 3000 });
    expect(first.asked).toEqual([{ kind: 'churn:collect', id: 1, topic: 'metrics', payload: undefined }]);
    expect(second.asked).toHaveLength(1);
    expect(third.asked).toEqual([]);
    second.answer({ result: 'b' });
    first.answer({ result: 'a' });
    expect(first.gathered.at(-1)).toEqual({
      kind: 'churn:gathered',
      id: 7,
      outcomes: [
        { pid: second.process.pid, result: 'b' },
        { pid: first.process.pid, result: 'a' },
      ],
    });
    expect(second.gathered).toEqual([]);
  });

  it('reports a worker that exits during a gather, and answers no worker that has gone', () => {
    const { pool, first, second } = supervise();
    first.listen();
    second.listen();
    first.tell({ kind: 'churn:gather', id: 7, topic: 'metrics', payload: undefined, timeoutMs: 3000 });
    first.answer({ result: 'a' });
    pool.exit(second, 1);
    expect(first.gathered.at(-1)).toEqual({
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
      first.listen();
      second.listen();
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
      first.listen();
      second.listen();
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
      first.listen();
      supervisor.shutdown('SIGTERM');
      vi.advanceTimersByTime(5000);
      expect(first.asked).toEqual([]);
    });
  });

  describe('a worker that fails to start', () => {
    it('is started again after a back-off while another worker serves, which keeps serving', () => {
      const { pool, first, second, exits, logged, lines } = supervise();
      first.listen();
      pool.exit(second, 1);
      expect(first.signals).toEqual([]);
      expect(exits).toEqual([]);
      expect(logged().at(-1)).toBe('error: a worker failed to start; degraded: the others keep serving, and it is started again after a back-off');
      expect(lines.at(-1)).toMatchObject({ pid: second.process.pid, code: 1, failedStarts: 1, retryInMs: 1000, workers: { expected: 2, serving: 1, starting: 0, failed: 1 } });
      vi.advanceTimersByTime(999);
      expect(pool.forked).toHaveLength(2);
      vi.advanceTimersByTime(1);
      expect(pool.forked).toHaveLength(3);
      expect(Object.values(pool.workers)).toEqual([first, pool.forked[2]]);
    });

    it('waits twice as long after each failed start, up to the cap, and afresh once it has served', () => {
      const { pool, first, second, lines } = supervise({ restartBackoff: { initialMs: 1000, maxMs: 5000 } });
      first.listen();
      const waits: number[] = [];
      let failing = second;
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        pool.exit(failing, 1);
        const wait = lines.at(-1)!.retryInMs as number;
        waits.push(wait);
        vi.advanceTimersByTime(wait - 1);
        expect(pool.forked).toHaveLength(1 + attempt);
        vi.advanceTimersByTime(1);
        expect(pool.forked).toHaveLength(2 + attempt);
        failing = pool.forked.at(-1)!;
      }
      expect(waits).toEqual([1000, 2000, 4000, 5000, 5000]);
      failing.listen();
      // It served, then died: replaced at once; if that replacement fails, the back-off starts afresh.
      pool.exit(failing, 137, 'SIGKILL');
      pool.exit(pool.forked.at(-1)!, 1);
      expect(lines.at(-1)).toMatchObject({ failedStarts: 1, retryInMs: 1000 });
    });

    it('waits, while no worker serves yet, until another one does', () => {
      const { pool, first, second, exits, logged } = supervise();
      pool.exit(first, 1);
      expect(logged().at(-1)).toBe('error: a worker failed to start; it is started again once another worker serves');
      vi.advanceTimersByTime(60_000);
      expect(pool.forked).toHaveLength(2);
      expect(second.signals).toEqual([]);
      second.listen();
      vi.advanceTimersByTime(999);
      expect(pool.forked).toHaveLength(2);
      vi.advanceTimersByTime(1);
      expect(pool.forked).toHaveLength(3);
      expect(exits).toEqual([]);
    });

    it('stops the service when no worker serves and none is starting: no worker can serve', () => {
      const { pool, first, second, exits, logged } = supervise();
      first.listen();
      pool.exit(second, 1);
      pool.exit(first, 137, 'SIGKILL');
      const replacement = pool.forked[2]!;
      expect(exits).toEqual([]);
      pool.exit(replacement, 1);
      expect(logged().at(-1)).toBe('fatal: a worker failed to start; stopping the service');
      expect(exits).toEqual([1]);
      // The start that was waiting for its back-off is called off.
      vi.advanceTimersByTime(60_000);
      expect(pool.forked).toHaveLength(3);
    });

    it('is not started again once the service is stopping', () => {
      const { pool, supervisor, first, second } = supervise();
      first.listen();
      pool.exit(second, 1);
      supervisor.shutdown('SIGTERM');
      vi.advanceTimersByTime(60_000);
      expect(pool.forked).toHaveLength(2);
    });

    it('is not started again once the service is stopping, even when another worker comes to serve', () => {
      const { pool, supervisor, first, second } = supervise();
      pool.exit(first, 1);
      supervisor.shutdown('SIGTERM');
      second.listen();
      vi.advanceTimersByTime(60_000);
      expect(pool.forked).toHaveLength(2);
    });

    it('tells every worker how the cluster stands, and logs when every worker serves again', () => {
      const { pool, supervisor, first, second, logged } = supervise();
      first.listen();
      expect(first.counts).toEqual({ expected: 2, serving: 1, starting: 1, failed: 0 });
      pool.exit(second, 1);
      expect(first.counts).toEqual({ expected: 2, serving: 1, starting: 0, failed: 1 });
      expect(supervisor.counts).toEqual(first.counts);
      vi.advanceTimersByTime(1000);
      const retried = pool.forked[2]!;
      expect(first.counts).toEqual({ expected: 2, serving: 1, starting: 1, failed: 0 });
      retried.listen();
      expect(first.counts).toEqual({ expected: 2, serving: 2, starting: 0, failed: 0 });
      expect(retried.counts).toEqual(first.counts);
      expect(logged().at(-1)).toBe('info: every worker is serving again');
    });
  });

  describe('model snapshots', () => {
    function withSnapshots() {
      const discarded: string[] = [];
      const modelSnapshots = {
        workerEnv: (load: string | undefined) => ({ SNAPSHOTS: '/snapshots', ...(load === undefined ? {} : { LOAD: load }) }),
        discard: (path: string) => void discarded.push(path),
      };
      return { discarded, ...supervise({ modelSnapshots }) };
    }

    it('starts the first workers on MODEL_PATH, and a replacement on the latest snapshot a worker wrote', () => {
      const { pool, first, second, discarded } = withSnapshots();
      expect([first.env, second.env]).toEqual([{ SNAPSHOTS: '/snapshots' }, { SNAPSHOTS: '/snapshots' }]);
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/a/churn_model.onnx' });
      first.listen();
      second.tell({ kind: 'churn:model-snapshot', path: '/snapshots/b/churn_model.onnx' });
      second.listen();
      expect(discarded).toEqual(['/snapshots/a/churn_model.onnx']);
      pool.exit(first, 137, 'SIGKILL');
      expect(pool.forked[2]!.env).toEqual({ SNAPSHOTS: '/snapshots', LOAD: '/snapshots/b/churn_model.onnx' });
    });

    it('starts a replacement with the challenger the workers last reported, and without one once it was dropped', () => {
      const { pool, first, second } = withSnapshots();
      first.listen();
      second.listen();
      first.tell({ kind: 'churn:challenger-state', state: { path: '/snapshots/c/churn_model.onnx', mode: 'canary', share: 0.1 } });
      pool.exit(first, 137, 'SIGKILL');
      expect(pool.forked[2]!.env).toEqual({ SNAPSHOTS: '/snapshots', CHALLENGER_MODEL_PATH: '/snapshots/c/churn_model.onnx', CHALLENGER_MODE: 'canary', CHALLENGER_SHARE: '0.1' });
      pool.forked[2]!.listen();
      second.tell({ kind: 'churn:challenger-state', state: null });
      pool.exit(second, 137, 'SIGKILL');
      const replacement = pool.forked[3]!.env!;
      expect(replacement).toEqual({ SNAPSHOTS: '/snapshots', CHALLENGER_MODEL_PATH: undefined });
      expect('CHALLENGER_MODEL_PATH' in replacement).toBe(true);
    });

    it('starts a worker again on the snapshot that is the latest by then', () => {
      const { pool, first, second } = withSnapshots();
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/a/churn_model.onnx' });
      first.listen();
      pool.exit(second, 1);
      // A reload in the serving worker, during the back-off.
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/b/churn_model.onnx' });
      vi.advanceTimersByTime(1000);
      expect(pool.forked[2]!.env).toEqual({ SNAPSHOTS: '/snapshots', LOAD: '/snapshots/b/churn_model.onnx' });
    });

    it('keeps a superseded snapshot while a worker started on it runs: its model still names the file', () => {
      const { pool, first, second, discarded } = withSnapshots();
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/a/churn_model.onnx' });
      first.listen();
      second.listen();
      pool.exit(second, 137, 'SIGKILL');
      const replacement = pool.forked[2]!;
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/b/churn_model.onnx' });
      expect(discarded).toEqual([]);
      // Serving, it may still copy the file: a promotion makes its model the challenger, reported as a snapshot.
      replacement.listen();
      expect(discarded).toEqual([]);

      pool.exit(replacement, 137, 'SIGKILL');
      expect(discarded).toEqual(['/snapshots/a/churn_model.onnx']);
      const next = pool.forked[3]!;
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/c/churn_model.onnx' });
      expect(discarded).toHaveLength(1);
      pool.exit(next, 1);
      expect(discarded).toEqual(['/snapshots/a/churn_model.onnx', '/snapshots/b/churn_model.onnx']);
    });

    it('deletes the challenger snapshots no worker holds: the superseded ones, once every worker started on them has exited', () => {
      const { pool, first, second, discarded } = withSnapshots();
      first.listen();
      second.listen();
      // One admin call: each worker reports a snapshot of its own.
      first.tell({ kind: 'churn:challenger-state', state: { path: '/snapshots/c1/churn_model.onnx', mode: 'shadow', share: 1 } });
      second.tell({ kind: 'churn:challenger-state', state: { path: '/snapshots/c2/churn_model.onnx', mode: 'shadow', share: 1 } });
      expect(discarded).toEqual(['/snapshots/c1/churn_model.onnx']);
      pool.exit(first, 137, 'SIGKILL');
      const replacement = pool.forked[2]!;
      expect(replacement.env).toMatchObject({ CHALLENGER_MODEL_PATH: '/snapshots/c2/churn_model.onnx' });
      replacement.listen();
      // Dropped everywhere: the replacement's challenger file stays while it runs.
      second.tell({ kind: 'churn:challenger-state', state: null });
      replacement.tell({ kind: 'churn:challenger-state', state: null });
      expect(discarded).toEqual(['/snapshots/c1/churn_model.onnx']);
      pool.exit(replacement, 137, 'SIGKILL');
      expect(discarded).toEqual(['/snapshots/c1/churn_model.onnx', '/snapshots/c2/churn_model.onnx']);
    });

    it('takes a promotion\'s champion and challenger from one notice: a replacement gets both, never one without the other', () => {
      const { pool, first, second } = withSnapshots();
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/a/churn_model.onnx' });
      first.listen();
      second.listen();
      first.tell({ kind: 'churn:challenger-state', state: { path: '/snapshots/b/churn_model.onnx', mode: 'canary', share: 0.1 } });
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/b2/churn_model.onnx', challenger: { path: '/snapshots/a2/churn_model.onnx', mode: 'shadow', share: 0.1 } });
      pool.exit(second, 137, 'SIGKILL');
      expect(pool.forked[2]!.env).toMatchObject({ LOAD: '/snapshots/b2/churn_model.onnx', CHALLENGER_MODEL_PATH: '/snapshots/a2/churn_model.onnx', CHALLENGER_MODE: 'shadow' });
      pool.forked[2]!.listen();
      // A reload that made the challenger champion: no challenger since, in the same notice.
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/a3/churn_model.onnx', challenger: null });
      pool.exit(pool.forked[2]!, 137, 'SIGKILL');
      expect(pool.forked[3]!.env).toMatchObject({ LOAD: '/snapshots/a3/churn_model.onnx', CHALLENGER_MODEL_PATH: undefined });
    });

    it('keeps a snapshot that is the latest again, after it was superseded, when the worker it was lent to exits', () => {
      const { pool, first, second, discarded } = withSnapshots();
      first.listen();
      second.listen();
      first.tell({ kind: 'churn:challenger-state', state: { path: '/snapshots/c/churn_model.onnx', mode: 'shadow', share: 1 } });
      pool.exit(second, 137, 'SIGKILL');
      const replacement = pool.forked[2]!;
      replacement.listen();
      // A promotion supersedes it; the rollback's copy fails, so a worker reports the path it loaded again.
      first.tell({ kind: 'churn:challenger-state', state: { path: '/snapshots/a/churn_model.onnx', mode: 'shadow', share: 1 } });
      replacement.tell({ kind: 'churn:challenger-state', state: { path: '/snapshots/c/churn_model.onnx', mode: 'shadow', share: 1 } });
      pool.exit(replacement, 137, 'SIGKILL');
      expect(discarded).not.toContain('/snapshots/c/churn_model.onnx');
      expect(pool.forked[3]!.env).toMatchObject({ CHALLENGER_MODEL_PATH: '/snapshots/c/churn_model.onnx' });
    });

    it('keeps a snapshot that stands for the challenger while it is superseded as the champion, and the other way round', () => {
      const { pool, first, second, discarded } = withSnapshots();
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/a/churn_model.onnx' });
      first.listen();
      second.listen();
      // A challenger whose own copy could not be written is reported by the path it was loaded from: the champion's snapshot.
      first.tell({ kind: 'churn:challenger-state', state: { path: '/snapshots/a/churn_model.onnx', mode: 'shadow', share: 1 } });
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/b/churn_model.onnx' });
      expect(discarded).toEqual([]);
      pool.exit(second, 137, 'SIGKILL');
      expect(pool.forked[2]!.env).toMatchObject({ LOAD: '/snapshots/b/churn_model.onnx', CHALLENGER_MODEL_PATH: '/snapshots/a/churn_model.onnx' });
      first.tell({ kind: 'churn:challenger-state', state: null });
      expect(discarded).toEqual([]);
      pool.exit(pool.forked[2]!, 137, 'SIGKILL');
      expect(discarded).toEqual(['/snapshots/a/churn_model.onnx']);
    });

    it('starts a replacement on MODEL_PATH when the last load left no snapshot', () => {
      const { pool, first, second, discarded } = withSnapshots();
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/a/churn_model.onnx' });
      first.listen();
      second.listen();
      first.tell({ kind: 'churn:model-snapshot', path: null });
      expect(discarded).toEqual(['/snapshots/a/churn_model.onnx']);
      pool.exit(second, 137, 'SIGKILL');
      expect(pool.forked[2]!.env).toEqual({ SNAPSHOTS: '/snapshots' });
    });
  });

  describe('gathers and workers still starting', () => {
    it('asks only the serving workers for metrics and drift: a replacement still loading holds no scrape up', () => {
      const { pool, first, second } = supervise();
      first.listen();
      second.listen();
      pool.exit(second, 137, 'SIGKILL');
      const replacement = pool.forked[2]!;
      first.tell({ kind: 'churn:gather', id: 1, topic: 'metrics', payload: undefined, timeoutMs: 3000 });
      first.answer({ result: [] });
      // Answered at once, no timer run down.
      expect(first.gathered).toEqual([{ kind: 'churn:gathered', id: 1, outcomes: [{ pid: first.process.pid, result: [] }] }]);
      first.tell({ kind: 'churn:gather', id: 2, topic: 'drift', payload: undefined, timeoutMs: 3000 });
      first.answer({ result: null });
      expect(first.gathered.at(-1)).toEqual({ kind: 'churn:gathered', id: 2, outcomes: [{ pid: first.process.pid, result: null }] });
      expect(replacement.asked).toEqual([]);
      replacement.listen();
      first.tell({ kind: 'churn:gather', id: 3, topic: 'metrics', payload: undefined, timeoutMs: 3000 });
      expect(replacement.asked).toHaveLength(1);
    });

    it('asks the workers still starting for a reload too, so none comes up with the model the others replaced', () => {
      const { supervisor, first, second } = supervise();
      first.listen();
      supervisor.reload();
      expect(first.asked).toHaveLength(1);
      expect(second.asked).toEqual([{ kind: 'churn:collect', id: 1, topic: 'reload', payload: undefined }]);
    });

    it('starts no worker while a promotion is in flight: a retried start waits for it, then starts from the state it left', () => {
      const { pool, first, second, logged } = supervise({ modelSnapshots: { workerEnv: (load) => (load === undefined ? {} : { LOAD: load }), discard: () => undefined } });
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/a/churn_model.onnx' });
      first.listen();
      pool.exit(second, 1);
      first.tell({ kind: 'churn:challenger-state', state: { path: '/snapshots/b/churn_model.onnx', mode: 'canary', share: 0.1 } });
      first.tell({ kind: 'churn:gather', id: 1, topic: 'challenger-promote', payload: { call: {}, sha256: 'b'.repeat(64) }, timeoutMs: 10_000 });
      // The back-off runs out while the promotion is in flight: the start waits.
      vi.advanceTimersByTime(1000);
      expect(pool.forked).toHaveLength(2);
      expect(first.counts).toMatchObject({ starting: 1, failed: 0 });
      expect(logged().at(-1)).toBe('info: a worker starts once the model change in flight has reached every worker');
      first.tell({ kind: 'churn:model-snapshot', path: '/snapshots/b2/churn_model.onnx', challenger: { path: '/snapshots/a2/churn_model.onnx', mode: 'shadow', share: 0.1 } });
      first.answer({ result: {} });
      expect(first.gathered).toEqual([{ kind: 'churn:gathered', id: 1, outcomes: [{ pid: first.process.pid, result: {} }] }]);
      expect(pool.forked).toHaveLength(3);
      expect(pool.forked[2]!.env).toMatchObject({ LOAD: '/snapshots/b2/churn_model.onnx', CHALLENGER_MODEL_PATH: '/snapshots/a2/churn_model.onnx', CHALLENGER_MODE: 'shadow' });
    });

    it('holds the replacement of a worker that died during a reload until every worker asked has answered, or the reload timed out', () => {
      const { supervisor, pool, first, second } = supervise({ workers: 3 });
      const third = pool.forked[2]!;
      for (const worker of [first, second, third]) worker.listen();
      supervisor.reload();
      pool.exit(second, 137, 'SIGKILL');
      expect(pool.forked).toHaveLength(3);
      first.answer({ result: { model_version: '2.0.0' } });
      expect(pool.forked).toHaveLength(3);
      // The third never answers: the reload's timeout ends it, and the replacement starts.
      vi.advanceTimersByTime(60_000);
      expect(pool.forked).toHaveLength(4);
      // Gathers that change nothing hold no start.
      pool.forked[3]!.listen();
      first.tell({ kind: 'churn:gather', id: 2, topic: 'metrics', payload: undefined, timeoutMs: 3000 });
      pool.exit(third, 137, 'SIGKILL');
      expect(pool.forked).toHaveLength(5);
    });

    it('starts no held worker once the service is stopping', () => {
      const { supervisor, pool, first, second } = supervise();
      first.listen();
      second.listen();
      supervisor.reload();
      pool.exit(second, 137, 'SIGKILL');
      supervisor.shutdown('SIGTERM');
      first.answer({ result: { model_version: '2.0.0' } });
      expect(pool.forked).toHaveLength(2);
    });

    it("adds the topic keeper's own outcome, and tells it every answer and every exit", () => {
      const keeper = {
        answered: vi.fn<TopicKeeper<'metrics'>['answered']>(),
        workerExited: vi.fn<TopicKeeper<'metrics'>['workerExited']>(),
        result: vi.fn<TopicKeeper<'metrics'>['result']>(() => []),
      };
      const { pool, first, second } = supervise({ keepers: { metrics: keeper } });
      first.listen();
      second.listen();
      first.tell({ kind: 'churn:gather', id: 5, topic: 'metrics', payload: undefined, timeoutMs: 3000 });
      first.answer({ result: [] });
      second.answer({ error: 'collector failed' });
      expect(keeper.answered.mock.calls).toEqual([[first.process.pid, []]]);
      expect(keeper.result).toHaveBeenCalledWith({ expected: 2, serving: 2, starting: 0, failed: 0 });
      expect(first.gathered.at(-1)!.outcomes).toEqual([
        { pid: first.process.pid, result: [] },
        { pid: second.process.pid, error: 'collector failed' },
        { pid: process.pid, result: [], fromPrimary: true },
      ]);
      pool.exit(second, 137, 'SIGKILL');
      expect(keeper.workerExited.mock.calls).toEqual([[second.process.pid]]);
      // Topics without a keeper get the workers' outcomes alone.
      first.tell({ kind: 'churn:gather', id: 6, topic: 'drift', payload: undefined, timeoutMs: 3000 });
      first.answer({ result: null });
      expect(first.gathered.at(-1)!.outcomes).toEqual([{ pid: first.process.pid, result: null }]);
    });
  });
});
