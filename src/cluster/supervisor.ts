import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { isClusterMessage, type ClusterMessage, type WorkerOutcome } from './messages.js';
import { Relay, type RelayTarget } from './relay.js';
import type { Topic, TopicResult } from './topics.js';

/** A gather the primary makes on its own every `intervalMs` (the drift check). */
export interface PeriodicGather<T extends Topic> {
  topic: T;
  intervalMs: number;
  timeoutMs: number;
  onOutcomes: (outcomes: readonly WorkerOutcome<TopicResult<T>>[]) => void;
}

/** A periodic gather on any one topic. */
export type AnyPeriodicGather = { [T in Topic]: PeriodicGather<T> }[Topic];

export interface SupervisorOptions {
  workers: number;
  /** How long workers may take to drain after SIGTERM before the primary gives up on them. */
  shutdownTimeoutMs: number;
  /** How long a model reload may take in every worker after SIGHUP. */
  reloadTimeoutMs: number;
  logger: Pick<Logger, 'info' | 'error' | 'fatal'>;
  /** Ends the process; the server flushes its logs first. */
  exit: (code: number) => void;
  periodicGathers?: readonly AnyPeriodicGather[];
  /**
   * Questions a worker asks the primary itself (not relayed to the other workers): each responder
   * answers the messages it knows, and says nothing (undefined) to the rest.
   */
  responders?: readonly PrimaryResponder[];
}

/** The primary's answer to one kind of question from a worker; undefined for any other message. */
export type PrimaryResponder = (message: unknown) => object | undefined;

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
  fork(): Worker;
  /** The workers not yet gone. */
  readonly workers?: NodeJS.Dict<Worker> | undefined;
  on(event: 'exit', listener: (worker: Worker, code: number, signal: string) => void): unknown;
}

/**
 * Runs the service in `workers` processes sharing one port. Each worker has its own model
 * session, so a blocking inference in one never stalls the others.
 * - A worker that dies after it started serving is replaced; one that dies before it ever
 *   listened means the service cannot start (a missing model, say), so everything stops with 1.
 * - `shutdown` drains every worker; the exit code is 1 if any worker failed to drain.
 * - `reload` reloads the model in every worker.
 * - Gathers (metrics, drift, reloads) from one worker are relayed to all of them.
 */
export class Supervisor<Worker extends SupervisedWorker> {
  readonly #pool: WorkerPool<Worker>;
  readonly #options: SupervisorOptions;
  readonly #relay = new Relay<Worker>();
  readonly #listening = new WeakSet<Worker>();
  #stopping = false;
  #failedWorkers = 0;

  constructor(pool: WorkerPool<Worker>, options: SupervisorOptions) {
    this.#pool = pool;
    this.#options = options;
  }

  /** Forks the workers and starts the periodic gathers. */
  start(): void {
    const { workers, logger, periodicGathers = [] } = this.#options;
    this.#pool.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal));
    for (const gather of periodicGathers) {
      setInterval(() => {
        if (this.#stopping) return;
        this.#relay.ask(this.#connectedWorkers(), { topic: gather.topic, payload: undefined, timeoutMs: gather.timeoutMs }, (outcomes) => {
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
    for (let index = 0; index < workers; index += 1) this.#fork();
  }

  /** Drains every worker, then exits: 0 if all of them drained, 1 otherwise or after the timeout. */
  shutdown(signal: NodeJS.Signals): void {
    const { logger, exit, shutdownTimeoutMs } = this.#options;
    if (this.#stopping) return;
    this.#stopping = true;
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
    this.#relay.ask(this.#connectedWorkers(), { topic: 'reload', payload: undefined, timeoutMs: reloadTimeoutMs }, (outcomes) => {
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

  #fork(): void {
    const worker = this.#pool.fork();
    worker.once('listening', () => this.#listening.add(worker));
    worker.on('message', (message: unknown) => {
      for (const respond of this.#options.responders ?? []) {
        const reply = respond(message);
        if (reply === undefined) continue;
        if (worker.isConnected()) worker.send(reply);
        return;
      }
      if (!isClusterMessage(message)) return;
      if (message.kind === 'churn:gather') {
        this.#relay.ask(this.#connectedWorkers(), message, (outcomes) => {
          if (worker.isConnected()) worker.send({ kind: 'churn:gathered', id: message.id, outcomes });
        });
      } else if (message.kind === 'churn:collected') {
        this.#relay.receive(worker, message);
      }
    });
  }

  #onExit(worker: Worker, code: number, signal: string): void {
    const { logger, exit } = this.#options;
    this.#relay.workerExited(worker);
    const alive = this.#liveWorkers().length;
    if (this.#stopping) {
      // A worker stopped before it ever listened served nothing, so it lost nothing.
      if (code !== 0 && this.#listening.has(worker)) {
        this.#failedWorkers += 1;
        logger.error({ pid: worker.process.pid, code, signal }, 'a worker did not drain cleanly');
      }
      if (alive === 0) {
        if (this.#failedWorkers === 0) logger.info('all workers drained; shutdown complete');
        else logger.error({ failedWorkers: this.#failedWorkers }, 'shutdown finished with workers that did not drain');
        exit(this.#failedWorkers === 0 ? 0 : 1);
      }
      return;
    }
    if (!this.#listening.has(worker)) {
      logger.fatal({ pid: worker.process.pid, code, signal }, 'a worker failed to start; stopping the service');
      this.#stopping = true;
      this.#failedWorkers += 1;
      for (const other of this.#liveWorkers()) other.process.kill('SIGTERM');
      if (alive === 0) exit(1);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting a replacement');
    this.#fork();
  }
}

/** Runs the service in `options.workers` processes of node:cluster, with the primary's signals wired to the supervisor. */
export function superviseWorkers(options: SupervisorOptions): void {
  const supervisor = new Supervisor(cluster, options);
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
