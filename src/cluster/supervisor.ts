import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { isCountRequest, PrimaryCounts } from '../rate-limit/cluster-counts.js';
import { isClusterMessage, type CollectReply, type GatherRequest, type WorkerOutcome } from './messages.js';

export interface SupervisorOptions {
  workers: number;
  /** How long workers may take to drain after SIGTERM before the primary gives up on them. */
  shutdownTimeoutMs: number;
  /** How long a model reload may take in every worker after SIGHUP. */
  reloadTimeoutMs: number;
  logger: Logger;
  /** Ends the process; the server flushes its logs first. */
  exit: (code: number) => void;
  /** Gathers the primary makes on its own, every intervalMs (the drift check). */
  periodicGathers?: { topic: string; intervalMs: number; timeoutMs: number; onOutcomes: (outcomes: WorkerOutcome[]) => void }[];
}

interface Relay {
  waiting: Map<number, number>;
  outcomes: WorkerOutcome[];
  timer: NodeJS.Timeout;
  done: (outcomes: WorkerOutcome[]) => void;
}

const liveWorkers = () => Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);

/**
 * Runs the service in `workers` processes sharing one port (node:cluster). Each worker has its own
 * model session, so a blocking inference in one never stalls the others.
 * - A worker that dies after it started serving is replaced; one that dies before it ever
 *   listened means the service cannot start (a missing model, say), so everything stops with 1.
 * - SIGTERM and SIGINT drain every worker; the exit code is 1 if any worker failed to drain.
 * - SIGHUP reloads the model in every worker.
 * - Gathers (metrics, drift, reloads) from one worker are relayed to all of them.
 */
export function superviseWorkers({ workers, shutdownTimeoutMs, reloadTimeoutMs, logger, exit, periodicGathers = [] }: SupervisorOptions): void {
  const listening = new WeakSet<Worker>();
  const relays = new Map<number, Relay>();
  let nextRelayId = 1;
  let stopping = false;
  let failedWorkers = 0;
  // The one rate-limit count of every worker: each worker's store asks here (no relay).
  const rateLimitCounts = new PrimaryCounts();

  const finishRelay = (relayId: number) => {
    const relay = relays.get(relayId);
    if (!relay) return;
    relays.delete(relayId);
    clearTimeout(relay.timer);
    for (const [pid] of relay.waiting) relay.outcomes.push({ pid, error: 'the worker did not answer in time' });
    relay.done(relay.outcomes);
  };

  /** Asks every live worker and calls `done` with all outcomes, or those in by `timeoutMs`. */
  const relay = (request: Omit<GatherRequest, 'kind' | 'id'>, done: Relay['done']) => {
    const relayId = nextRelayId++;
    const targets = liveWorkers().filter((worker) => worker.isConnected());
    const entry: Relay = {
      // Keyed by worker id: a reply names its worker by the channel it came from.
      waiting: new Map(targets.map((worker) => [worker.id, worker.process.pid ?? -1])),
      outcomes: [],
      timer: setTimeout(() => finishRelay(relayId), request.timeoutMs),
      done,
    };
    relays.set(relayId, entry);
    for (const worker of targets) worker.send({ kind: 'churn:collect', id: relayId, topic: request.topic, payload: request.payload });
    if (targets.length === 0) finishRelay(relayId);
  };

  const onCollected = (worker: Worker, reply: CollectReply) => {
    const entry = relays.get(reply.id);
    if (!entry || !entry.waiting.delete(worker.id)) return;
    entry.outcomes.push(reply.outcome);
    if (entry.waiting.size === 0) finishRelay(reply.id);
  };

  const fork = () => {
    const worker = cluster.fork();
    worker.once('listening', () => listening.add(worker));
    worker.on('message', (message: unknown) => {
      if (isCountRequest(message)) {
        if (worker.isConnected()) worker.send(rateLimitCounts.answer(message));
        return;
      }
      if (!isClusterMessage(message)) return;
      if (message.kind === 'churn:gather') {
        relay(message, (outcomes) => {
          if (worker.isConnected()) worker.send({ kind: 'churn:gathered', id: message.id, outcomes });
        });
      } else if (message.kind === 'churn:collected') {
        onCollected(worker, message);
      }
    });
  };

  cluster.on('exit', (worker, code, signal) => {
    // A worker that is gone answers no gather.
    for (const [relayId, entry] of relays) {
      if (entry.waiting.delete(worker.id)) entry.outcomes.push({ pid: worker.process.pid ?? -1, error: 'the worker exited' });
      if (entry.waiting.size === 0) finishRelay(relayId);
    }
    const alive = liveWorkers().length;
    if (stopping) {
      // A worker stopped before it ever listened served nothing, so it lost nothing.
      if (code !== 0 && listening.has(worker)) {
        failedWorkers += 1;
        logger.error({ pid: worker.process.pid, code, signal }, 'a worker did not drain cleanly');
      }
      if (alive === 0) {
        if (failedWorkers === 0) logger.info('all workers drained; shutdown complete');
        else logger.error({ failedWorkers }, 'shutdown finished with workers that did not drain');
        exit(failedWorkers === 0 ? 0 : 1);
      }
      return;
    }
    if (!listening.has(worker)) {
      logger.fatal({ pid: worker.process.pid, code, signal }, 'a worker failed to start; stopping the service');
      stopping = true;
      failedWorkers += 1;
      for (const other of liveWorkers()) other.process.kill('SIGTERM');
      if (alive === 0) exit(1);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting a replacement');
    fork();
  });

  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: liveWorkers().length }, 'shutting down: draining every worker');
    for (const worker of liveWorkers()) worker.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error({ workers: liveWorkers().map((worker) => worker.process.pid) }, `workers still running after ${shutdownTimeoutMs} ms; exiting`);
      exit(1);
    }, shutdownTimeoutMs).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);

  process.on('SIGHUP', () => {
    if (stopping) return;
    logger.info('SIGHUP: reloading the model in every worker');
    relay({ topic: 'reload', payload: undefined, timeoutMs: reloadTimeoutMs }, (outcomes) => {
      const failed = outcomes.filter((outcome) => outcome.error !== undefined);
      if (failed.length > 0) logger.error({ outcomes }, 'model reload failed in some workers; they keep their current model');
      else logger.info({ outcomes }, 'model reloaded in every worker');
    });
  });

  // Workers accept from the shared listening socket themselves. Under the default round-robin
  // policy the primary accepts and hands each connection over; one handed back by a worker that
  // has just closed its listener is queued in the primary and never closed when no worker is left
  // (Node's RoundRobinHandle), so a drain would reset requests already written to it.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (const { topic, intervalMs, timeoutMs, onOutcomes } of periodicGathers) {
    setInterval(() => {
      if (stopping) return;
      relay({ topic, payload: undefined, timeoutMs }, (outcomes) => {
        // A periodic check is a side job: its failure is logged, and never takes the primary (and
        // with it every worker) down.
        try {
          onOutcomes(outcomes);
        } catch (error) {
          logger.error({ err: error, topic }, 'periodic check failed');
        }
      });
    }, intervalMs).unref();
  }

  logger.info({ workers }, 'starting worker processes');
  for (let index = 0; index < workers; index += 1) fork();
}
