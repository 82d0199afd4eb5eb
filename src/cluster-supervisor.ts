import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

export interface SupervisorOptions {
  workers: number;
  shutdownTimeoutMs: number;
  logger: Logger;
}

/**
 * Runs the service in `workers` processes sharing one port (node:cluster). Each worker has its own
 * model session, so a blocking inference in one never stalls the others. A worker that dies after
 * it started serving is replaced; one that dies before it ever listened means the service cannot
 * start (a missing model, say), so the whole service stops instead of restarting it in a loop.
 */
export function superviseWorkers({ workers, shutdownTimeoutMs, logger }: SupervisorOptions): void {
  const listening = new WeakSet<Worker>();
  let stopping = false;

  const fork = () => {
    const worker = cluster.fork();
    worker.once('listening', () => listening.add(worker));
  };

  cluster.on('exit', (worker, code, signal) => {
    const alive = Object.keys(cluster.workers ?? {}).length;
    if (stopping) {
      if (alive === 0) {
        if (process.exitCode === undefined) logger.info('all workers drained; shutdown complete');
        // Keeps the failure code set when a worker could not start.
        process.exit();
      }
      return;
    }
    if (!listening.has(worker)) {
      logger.fatal({ pid: worker.process.pid, code, signal }, 'a worker failed to start; stopping the service');
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (alive === 0) process.exit();
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting a replacement');
    fork();
  });

  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'shutting down: draining every worker');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error(`workers still running after ${shutdownTimeoutMs} ms; exiting`);
      process.exit(1);
    }, shutdownTimeoutMs).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);

  logger.info({ workers }, 'starting worker processes');
  for (let index = 0; index < workers; index += 1) fork();
}
