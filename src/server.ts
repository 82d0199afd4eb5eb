import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { superviseWorkers } from './cluster-supervisor.js';
import { ConfigError, readConfig, workerCount, type Config } from './config.js';
import { ModelLoadError } from './errors.js';
import { createLogger, flushLogs, reportStartFailure } from './logger.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

/** Known start-up failures are one readable line; anything else keeps its stack. */
function startFailure(error: unknown): never {
  if (error instanceof ConfigError || error instanceof ModelLoadError) reportStartFailure(error.message);
  else reportStartFailure('service failed to start', { err: error });
  process.exit(1);
}

/** Exits once every log line is written. */
async function exitAfterLogs(logger: Logger, code: number): Promise<never> {
  await flushLogs(logger);
  process.exit(code);
}

async function start(config: Config, logger: Logger): Promise<void> {
  const app = await buildApp({ config, logger });
  try {
    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (error) {
    await app.close().catch(() => undefined);
    await flushLogs(logger);
    startFailure(error);
  }

  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    // A stuck drain must not keep an orchestrator waiting forever.
    setTimeout(() => {
      logger.error(`shutdown took longer than ${SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      void exitAfterLogs(logger, 1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    app.close().then(
      () => {
        logger.info('shutdown complete');
        return exitAfterLogs(logger, 0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        return exitAfterLogs(logger, 1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

let loaded: ReturnType<typeof readConfig>;
try {
  loaded = readConfig();
} catch (error) {
  startFailure(error);
}
const { config, warnings } = loaded;
const logger = createLogger({ level: config.LOG_LEVEL });
for (const warning of warnings) logger.warn(warning);
const workers = workerCount(config, availableParallelism());
if (workers > 1 && cluster.isPrimary) {
  // A worker drains within SHUTDOWN_TIMEOUT_MS; the primary allows a little more before giving up.
  superviseWorkers({ workers, shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS + 2_000, logger });
} else {
  await start(config, logger);
}
