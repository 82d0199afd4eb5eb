import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { isClusterMessage, type ChallengerState, type ClusterMessage, type GatherRequest, type WorkerCounts, type WorkerOutcome } from './messages.js';
import type { ConfigName } from '../config.js';
import { ClusterMetrics } from '../metrics/cluster-metrics.js';
import { createSnapshotDirectory, ModelSnapshots, type SnapshotDirectory } from './model-snapshots.js';
import { Relay, type RelayTarget } from './relay.js';
import { ASKS_STARTING_WORKERS, type Topic, type TopicResult } from './topics.js';

/** A gather the primary makes on its own every `intervalMs` (the drift check). */
export interface PeriodicGather<T extends Topic> {
  topic: T;
  intervalMs: number;
  timeoutMs: number;
  onOutcomes: (outcomes: readonly WorkerOutcome<TopicResult<T>>[]) => void;
}

/** A periodic gather on any one topic. */
export type AnyPeriodicGather = { [T in Topic]: PeriodicGather<T> }[Topic];

/**
 * The primary's own part in the gathers on one topic: it hears every worker's answer and every
 * exit, and adds an outcome of its own to each gather (the metrics of workers that have exited).
 */
export interface TopicKeeper<T extends Topic> {
  answered(pid: number, result: TopicResult<T>): void;
  workerExited(pid: number): void;
  /** The primary's own result, added to every gather on the topic. */
  result(counts: WorkerCounts): TopicResult<T>;
}

/** How long a worker that failed to start waits before it is started again: doubling from `initialMs`, at most `maxMs`. */
export interface RestartBackoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoff = { initialMs: 1000, maxMs: 30_000 };

export interface SupervisorOptions {
  workers: number;
  /** How long workers may take to drain after SIGTERM before the primary gives up on them. */
  shutdownTimeoutMs: number;
  /** How long a model reload may take in every worker after SIGHUP. */
  reloadTimeoutMs: number;
  logger: Pick<Logger, 'info' | 'warn' | 'error' | 'fatal'>;
  /** Ends the process; the server flushes its logs first. */
  exit: (code: number) => void;
  periodicGathers?: readonly AnyPeriodicGather[];
  restartBackoff?: RestartBackoff;
  /**
   * Where workers write snapshots of the models they load. Without it every worker loads
   * MODEL_PATH; with it a worker started while a snapshot exists loads that instead.
   */
  modelSnapshots?: {
    /** The environment a worker is forked with: where to write snapshots, and the one to load, if any. */
    workerEnv(load: string | undefined): NodeJS.Dict<string>;
    /** Removes a snapshot no worker will load any more. */
    discard(path: string): void;
  };
  keepers?: { [T in Topic]?: TopicKeeper<T> };
  /**
   * Questions a worker asks the primary itself (not relayed to the other workers): each responder
   * answers the messages it knows, and says nothing (undefined) to the rest.
   */
  responders?: readonly PrimaryResponder[];
}

/** The primary's answer to one kind of question from a worker; undefined for any other message. */
export type PrimaryResponder = (message: unknown) => object | undefined;

/**
 * The environment that makes a worker start with `state`'s challenger, whatever the primary's own
 * CHALLENGER_* say (an undefined value removes the variable from a forked worker's environment).
 */
export function challengerEnv(state: ChallengerState | null): Partial<Record<ConfigName, string | undefined>> {
  if (state === null) return { CHALLENGER_MODEL_PATH: undefined };
  return { CHALLENGER_MODEL_PATH: state.path, CHALLENGER_MODE: state.mode, CHALLENGER_SHARE: String(state.share) };
}

/** A worker process as the supervisor uses it (node:cluster's Worker has all of it). */
export interface SupervisedWorker extends RelayTarget {
  readonly process: { readonly pid?: number | undefined; kill(signal: NodeJS.Signals): unknown };
  isConnected(): boolean;
  send(message: ClusterMessage | object): unknown;
  once(event: 'listening', listener: () => void): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** What the supervisor uses of the cluster primary (node:cluster has all of it). */
export interface WorkerPool<Worker extends SupervisedWorker> {
  /** Starts a worker with `env` added to the primary's environment. */
  fork(env?: NodeJS.Dict<string>): Worker;
  /** The workers not yet gone. */
  readonly workers?: NodeJS.Dict<Worker> | undefined;
  on(event: 'exit', listener: (worker: Worker, code: number, signal: string) => void): unknown;
}

/** One of the `workers` places: the worker in it, and how it stands. */
interface Slot<Worker> {
  worker: Worker | undefined;
  state: 'starting' | 'serving' | 'failed';
  /** Failed starts in a row. */
  failedStarts: number;
  retry: NodeJS.Timeout | undefined;
}

/**
 * Runs the service in `workers` processes sharing one port. Each worker has its own model
 * session, so a blocking inference in one never stalls the others.
 * - A worker that dies after it started serving is replaced at once.
 * - A worker that fails to start (its model does not load, say) is started again after a back-off
 *   while another worker serves; the others keep serving meanwhile, and the service reports itself
 *   degraded. When no worker serves and none is starting, no worker can serve: everything stops
 *   with 1 (at start, when every worker fails its first start).
 * - Every worker serves the same model: a worker started while others serve loads the snapshot
 *   of their model (the last one loaded from MODEL_PATH), not the file at MODEL_PATH, which may
 *   have changed or broken since.
 * - `shutdown` drains every worker; the exit code is 1 if any worker failed to drain.
 * - A worker started after a rollout change (challenger loaded, dropped or promoted) starts with
 *   the challenger the others hold, from the state they last reported. While such a change or a
 *   reload is in flight, no worker starts: it would start from the state before the change and,
 *   not yet connected, not be asked to make it. It starts once every worker asked has answered
 *   (or the gather timed out), from the state they reported.
 * - A snapshot (of the model or of the challenger) that is no longer the latest is deleted once
 *   no living worker started from it: such a worker's model still names that file, and copies it
 *   when a promotion makes the model the other one's.
 * - `reload` reloads the model in every worker.
 * - Gathers (metrics, drift, reloads) from one worker are relayed to the others; workers still
 *   starting are asked only for reloads. Keepers add what only the primary holds.
 */
export class Supervisor<Worker extends SupervisedWorker> {
  readonly #pool: WorkerPool<Worker>;
  readonly #options: SupervisorOptions;
  readonly #relay = new Relay<Worker>();
  readonly #listening = new WeakSet<Worker>();
  readonly #slots: Slot<Worker>[] = [];
  readonly #slotOf = new Map<Worker, Slot<Worker>>();
  /** The snapshots of the champion and the challenger the workers reported (ChallengerState.path for the latter). */
  readonly #snapshots: ModelSnapshots<Worker> | undefined;
  #stopping = false;
  #failedWorkers = 0;
  /** A start has failed since every worker last served: say so when they all serve again. */
  #degraded = false;
  /** The challenger the workers last said they hold; undefined until one has (a worker then starts with the primary's own CHALLENGER_*). */
  #challenger: ChallengerState | null | undefined;
  /** Gathers in flight that change what the workers serve (the topics that ask starting workers too). */
  #changesInFlight = 0;
  /** Slots whose worker starts once those gathers have ended. */
  readonly #heldStarts = new Set<Slot<Worker>>();

  constructor(pool: WorkerPool<Worker>, options: SupervisorOptions) {
    this.#pool = pool;
    this.#options = options;
    this.#snapshots = options.modelSnapshots ? new ModelSnapshots(options.modelSnapshots.discard) : undefined;
  }

  /** Forks the workers and starts the periodic gathers. */
  start(): void {
    const { workers, logger, periodicGathers = [] } = this.#options;
    this.#pool.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal));
    for (const gather of periodicGathers) {
      setInterval(() => {
        if (this.#stopping) return;
        this.#gather(gather.topic, undefined, gather.timeoutMs, (outcomes) => {
          // A periodic check is a side job: its failure is logged, and never takes the primary (and
          // with it every worker) down.
          try {
            // The workers answered `gather.topic` with their collectors for it.
            (gather.onOutcomes as (outcomes: readonly WorkerOutcome[]) => void)(outcomes);
          } catch (error) {
            logger.error({ err: error, topic: gather.topic }, 'periodic check failed');
          }
        });
      }, gather.intervalMs).unref();
    }
    logger.info({ workers }, 'starting worker processes');
    for (let index = 0; index < workers; index += 1) {
      const slot: Slot<Worker> = { worker: undefined, state: 'starting', failedStarts: 0, retry: undefined };
      this.#slots.push(slot);
      this.#startWorker(slot);
    }
  }

  /** How many workers serve, start, or wait to be started again. */
  get counts(): WorkerCounts {
    const inState = (state: Slot<Worker>['state']) => this.#slots.filter((slot) => slot.state === state).length;
    return { expected: this.#options.workers, serving: inState('serving'), starting: inState('starting'), failed: inState('failed') };
  }

  /** Drains every worker, then exits: 0 if all of them drained, 1 otherwise or after the timeout. */
  shutdown(signal: NodeJS.Signals): void {
    const { logger, exit, shutdownTimeoutMs } = this.#options;
    if (this.#stopping) return;
    this.#stop();
    logger.info({ signal, workers: this.#liveWorkers().length }, 'shutting down: draining every worker');
    for (const worker of this.#liveWorkers()) worker.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error({ workers: this.#liveWorkers().map((worker) => worker.process.pid) }, `workers still running after ${shutdownTimeoutMs} ms; exiting`);
      exit(1);
    }, shutdownTimeoutMs).unref();
  }

  /** Reloads the model in every worker and logs how that went. */
  reload(): void {
    const { logger, reloadTimeoutMs } = this.#options;
    if (this.#stopping) return;
    logger.info('SIGHUP: reloading the model in every worker');
    this.#gather('reload', undefined, reloadTimeoutMs, (outcomes) => {
      const failed = outcomes.filter((outcome) => outcome.error !== undefined);
      if (failed.length > 0) logger.error({ outcomes }, 'model reload failed in some workers; they keep their current model');
      else logger.info({ outcomes }, 'model reloaded in every worker');
    });
  }

  #liveWorkers(): Worker[] {
    return Object.values(this.#pool.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
  }

  #connectedWorkers(): Worker[] {
    return this.#liveWorkers().filter((worker) => worker.isConnected());
  }

  #stop(): void {
    this.#stopping = true;
    for (const slot of this.#slots) clearTimeout(slot.retry);
    this.#heldStarts.clear();
  }

  /** A gather that changed what the workers serve has ended: the starts it held go ahead, from the state reported since. */
  #changeEnded(): void {
    this.#changesInFlight -= 1;
    if (this.#changesInFlight > 0 || this.#stopping) return;
    const held = [...this.#heldStarts];
    this.#heldStarts.clear();
    for (const slot of held) this.#startWorker(slot);
  }

  // ---- Workers: start, serve, exit, start again ----

  #startWorker(slot: Slot<Worker>): void {
    slot.retry = undefined;
    if (this.#changesInFlight > 0) {
      if (!this.#heldStarts.has(slot)) this.#options.logger.info({ changesInFlight: this.#changesInFlight }, 'a worker starts once the model change in flight has reached every worker');
      this.#heldStarts.add(slot);
      slot.state = 'starting';
      this.#announceCounts();
      return;
    }
    const snapshots = this.#snapshots;
    const load = snapshots?.latest('model');
    const env = this.#options.modelSnapshots?.workerEnv(load);
    const worker = this.#pool.fork(this.#challenger === undefined ? env : { ...env, ...challengerEnv(this.#challenger) });
    snapshots?.lend(worker, [...(load === undefined ? [] : [load]), ...(this.#challenger ? [this.#challenger.path] : [])]);
    slot.worker = worker;
    slot.state = 'starting';
    this.#slotOf.set(worker, slot);
    worker.once('listening', () => this.#onListening(worker));
    worker.on('message', (message: unknown) => {
      for (const respond of this.#options.responders ?? []) {
        const reply = respond(message);
        if (reply === undefined) continue;
        if (worker.isConnected()) worker.send(reply);
        return;
      }
      if (isClusterMessage(message)) this.#onMessage(worker, message);
    });
    this.#announceCounts();
  }

  #onListening(worker: Worker): void {
    const { logger } = this.#options;
    this.#listening.add(worker);
    const slot = this.#slotOf.get(worker);
    if (!slot || this.#stopping) return;
    slot.state = 'serving';
    slot.failedStarts = 0;
    // Workers that failed while none served wait for one that does: what it loaded can be loaded.
    for (const waiting of this.#slots) if (waiting.state === 'failed' && waiting.retry === undefined) this.#retryLater(waiting);
    const counts = this.counts;
    if (this.#degraded && counts.serving === counts.expected) {
      this.#degraded = false;
      logger.info({ workers: counts }, 'every worker is serving again');
    }
    this.#announceCounts();
  }

  #onExit(worker: Worker, code: number, signal: string): void {
    const { logger, exit } = this.#options;
    this.#relay.workerExited(worker);
    const { pid } = worker.process;
    if (pid !== undefined) for (const keeper of Object.values(this.#options.keepers ?? {})) keeper.workerExited(pid);
    this.#snapshots?.returned(worker);
    const slot = this.#slotOf.get(worker);
    this.#slotOf.delete(worker);
    const alive = this.#liveWorkers().length;
    if (this.#stopping) {
      // A worker stopped before it ever listened served nothing, so it lost nothing.
      if (code !== 0 && this.#listening.has(worker)) {
        this.#failedWorkers += 1;
        logger.error({ pid, code, signal }, 'a worker did not drain cleanly');
      }
      if (alive === 0) {
        if (this.#failedWorkers === 0) logger.info('all workers drained; shutdown complete');
        else logger.error({ failedWorkers: this.#failedWorkers }, 'shutdown finished with workers that did not drain');
        exit(this.#failedWorkers === 0 ? 0 : 1);
      }
      return;
    }
    if (!slot) return;
    slot.worker = undefined;
    if (this.#listening.has(worker)) {
      logger.error({ pid, code, signal }, 'worker died; starting a replacement');
      this.#startWorker(slot);
      return;
    }
    slot.state = 'failed';
    slot.failedStarts += 1;
    const counts = this.counts;
    if (counts.serving === 0 && counts.starting === 0) {
      // No worker serves and none may yet: nothing can serve.
      logger.fatal({ pid, code, signal, workers: counts }, 'a worker failed to start; stopping the service');
      this.#stop();
      this.#failedWorkers += 1;
      for (const other of this.#liveWorkers()) other.process.kill('SIGTERM');
      if (alive === 0) exit(1);
      return;
    }
    this.#degraded = true;
    if (counts.serving > 0) {
      const retryInMs = this.#retryLater(slot);
      logger.error({ pid, code, signal, failedStarts: slot.failedStarts, retryInMs, workers: counts }, 'a worker failed to start; degraded: the others keep serving, and it is started again after a back-off');
    } else {
      logger.error({ pid, code, signal, workers: counts }, 'a worker failed to start; it is started again once another worker serves');
    }
    this.#announceCounts();
  }

  /** Starts the worker of `slot` again after its back-off, and returns the wait in ms. */
  #retryLater(slot: Slot<Worker>): number {
    const { initialMs, maxMs } = this.#options.restartBackoff ?? DEFAULT_RESTART_BACKOFF;
    const delayMs = Math.min(maxMs, initialMs * 2 ** Math.max(0, slot.failedStarts - 1));
    slot.retry = setTimeout(() => this.#startWorker(slot), delayMs);
    return delayMs;
  }

  /** Tells every worker how the cluster stands (readiness reports it). */
  #announceCounts(): void {
    const counts = this.counts;
    for (const worker of this.#connectedWorkers()) worker.send({ kind: 'churn:worker-counts', counts });
  }

  // ---- Messages from workers ----

  #onMessage(worker: Worker, message: ClusterMessage): void {
    switch (message.kind) {
      case 'churn:gather':
        this.#relayGather(worker, message);
        break;
      case 'churn:collected':
        this.#relay.receive(worker, message);
        break;
      case 'churn:model-snapshot':
        this.#snapshots?.written('model', message.path);
        if (message.challenger !== undefined) this.#challengerHeld(message.challenger);
        break;
      case 'churn:challenger-state':
        this.#challengerHeld(message.state);
        break;
      default:
        // The other kinds go from the primary to the workers.
        break;
    }
  }

  #challengerHeld(state: ChallengerState | null): void {
    this.#challenger = state;
    this.#snapshots?.written('challenger', state?.path ?? null);
  }

  #relayGather(worker: Worker, request: GatherRequest): void {
    this.#gather(request.topic, request.payload, request.timeoutMs, (outcomes) => {
      if (worker.isConnected()) worker.send({ kind: 'churn:gathered', id: request.id, outcomes });
    });
  }

  /** Asks the workers `topic` asks, and hands over their outcomes, with the keeper's own when the topic has one. */
  #gather(topic: string, payload: unknown, timeoutMs: number, done: (outcomes: WorkerOutcome[]) => void): void {
    // The topics that ask starting workers too are those that change what the workers serve.
    const changesModels = ASKS_STARTING_WORKERS[topic as Topic] ?? true;
    const targets = this.#connectedWorkers().filter((worker) => changesModels || this.#listening.has(worker));
    // Workers relay only topics of the catalogue, so the keeper is the one for `topic`.
    const keeper = this.#options.keepers?.[topic as Topic] as TopicKeeper<Topic> | undefined;
    if (changesModels) this.#changesInFlight += 1;
    this.#relay.ask(targets, { topic, payload, timeoutMs }, (outcomes) => {
      // Each worker told its new state before its answer, so a worker started now starts from it.
      if (changesModels) this.#changeEnded();
      if (!keeper) return done(outcomes);
      for (const outcome of outcomes) if (outcome.error === undefined) keeper.answered(outcome.pid, outcome.result as TopicResult<Topic>);
      done([...outcomes, { pid: process.pid, result: keeper.result(this.counts), fromPrimary: true }]);
    });
  }
}

/**
 * Runs the service in `options.workers` processes of node:cluster, with the primary's signals
 * wired to the supervisor, a private directory for the workers' model snapshots (removed when the
 * primary exits), and the metrics of exited workers kept for every scrape.
 */
export function superviseWorkers(options: Omit<SupervisorOptions, 'modelSnapshots' | 'keepers'>): void {
  let snapshots: SnapshotDirectory | undefined;
  try {
    snapshots = createSnapshotDirectory();
  } catch (error) {
    // A read-only file system without a writable temporary directory: serve as before rather than not at all.
    options.logger.warn({ err: error }, 'no directory for model snapshots; a replacement worker loads MODEL_PATH, which may have changed since the others loaded it');
  }
  const modelSnapshots = snapshots && {
    workerEnv: (load: string | undefined): Partial<Record<ConfigName, string>> => ({
      MODEL_SNAPSHOT_DIR: snapshots.path,
      ...(load === undefined ? {} : { MODEL_SNAPSHOT_PATH: load }),
    }),
    discard: snapshots.discard,
  };
  const supervisor = new Supervisor(cluster, { ...options, ...(modelSnapshots && { modelSnapshots }), keepers: { metrics: new ClusterMetrics() } });
  const shutdown = (signal: NodeJS.Signals) => supervisor.shutdown(signal);
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  process.on('SIGHUP', () => supervisor.reload());
  // Workers accept from the shared listening socket themselves. Under the default round-robin
  // policy the primary accepts and hands each connection over; one handed back by a worker that
  // has just closed its listener is queued in the primary and never closed when no worker is left
  // (Node's RoundRobinHandle), so a drain would reset requests already written to it.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  supervisor.start();
}
