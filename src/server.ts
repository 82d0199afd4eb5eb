import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import pino from 'pino';
import { buildApp } from './app.js';
import { superviseWorkers } from './cluster-supervisor.js';
import { ConfigError, readConfig, workerCount, type Config } from './config.js';
import { ModelLoadError } from './errors.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

/** Known start-up failures are one readable line; anything else keeps its stack. */
function logStartFailure(logger: pino.Logger, error: unknown): void {
  if (error instanceof ConfigError || error instanceof ModelLoadError) logger.fatal(error.message);
  else logger.fatal({ err: error }, 'service failed to start');
}

async function start(config: Config): Promise<void> {
  const app = await buildApp({ config });
  try {
    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (error) {
    logStartFailure(app.log as pino.Logger, error);
    await app.close().catch(() => undefined);
    process.exit(1);
  }

  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: draining in-flight requests');
    // A stuck drain must not keep an orchestrator waiting forever.
    const timer = setTimeout(() => {
      app.log.error(`shutdown took longer than ${SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    app.close().then(
      () => {
        app.log.info('shutdown complete');
        process.exit(0);
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

try {
  const { config, warnings } = readConfig();
  for (const warning of warnings) pino({ level: config.LOG_LEVEL }).warn(warning);
  const workers = workerCount(config, availableParallelism());
  if (workers > 1 && cluster.isPrimary) {
    // A worker drains within SHUTDOWN_TIMEOUT_MS; the primary allows a little more before giving up.
    superviseWorkers({ workers, shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS + 2_000, logger: pino({ level: config.LOG_LEVEL }) });
  } else {
    await start(config);
  }
} catch (error) {
  logStartFailure(pino(), error);
  process.exit(1);
}
