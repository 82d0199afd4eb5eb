import cluster from 'node:cluster';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { superviseWorkers } from './cluster/supervisor.js';
import { GATHER_TIMEOUT_MS } from './cluster/topics.js';
import { ConfigError, readConfig, workerCount, type Config } from './config.js';
import { ModelLoadError } from './errors.js';
import { createLogger, flushLogs, reportStartFailure } from './logger.js';
import { DriftCheck } from './monitoring/drift-report.js';
import { PlausibilityAlerts } from './monitoring/plausibility-report.js';
import { PredictionLogStartError } from './prediction-log/store-connection.js';
import { primaryCountResponder } from './rate-limit/cluster-counts.js';

/** After the listener closes, a connection still idle this long is closed (its client has gone quiet). */
const IDLE_CONNECTION_GRACE_MS = 500;
const CONNECTION_POLL_MS = 25;
/** The cluster primary waits this much longer than a worker's own deadline before giving up. */
const SUPERVISOR_MARGIN_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where to point a browser: the bound address, or localhost when bound to every interface. */
function serviceUrl(host: string, port: number): string {
  const shown = ['0.0.0.0', '::'].includes(host) ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

/** The line a person starting the service looks for, as uvicorn prints its address. */
function announceListening(logger: Logger, host: string, port: number): void {
  const url = serviceUrl(host, port);
  logger.info({ url, docs: `${url}/docs` }, `serving on ${url}, docs at ${url}/docs (press Ctrl-C to quit)`);
}

/** One readable line for the failures an operator can fix; anything else keeps its stack. */
function describeStartFailure(error: unknown, config: Config | undefined): [string, Record<string, unknown>] {
  if (error instanceof ConfigError || error instanceof ModelLoadError || error instanceof PredictionLogStartError) return [error.message, {}];
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = config ? `${config.HOST}:${config.PORT}` : 'the configured address';
  if (code === 'EADDRINUSE') return [`Cannot listen on ${where}: the port is already in use.`, {}];
  if (code === 'EACCES') return [`Cannot listen on ${where}: permission denied (ports below 1024 need privileges).`, {}];
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return [`Cannot listen on ${where}: HOST is not an address of this machine.`, {}];
  return [`unexpected error: ${error instanceof Error ? error.message : String(error)}`, { err: error }];
}

/**
 * Reports why the service cannot start and exits 1: sentences on a terminal, JSON otherwise.
 * LOG_FORMAT, once read, decides as it does for every other line.
 */
function failStart(error: unknown, config?: Config): never {
  const format = config?.LOG_FORMAT ?? 'auto';
  reportStartFailure(...describeStartFailure(error, config), format === 'auto' ? {} : { readable: format === 'pretty' });
  process.exit(1);
}

/** Exits once every log line is written. */
async function exitAfterLogs(logger: Logger, code: number): Promise<never> {
  await flushLogs(logger);
  process.exit(code);
}

const openConnections = (app: FastifyInstance) =>
  new Promise<number>((resolve) => app.server.getConnections((error, count) => resolve(error ? 0 : count)));

/**
 * The drain that loses nothing, after SIGTERM or SIGINT:
 * 1. Readiness turns 503 and every response carries Connection: close, while the service keeps
 *    serving for DRAIN_DELAY_MS so load balancers can take it out of rotation.
 * 2. The listener closes. Requests on open connections are answered normally (Node's header and
 *    request timeouts still apply, so a slow client gets 408); connections that stay idle are
 *    closed after a short grace, but none while an answer is still on its way to a slow reader.
 * 3. With no connection left, the app closes: queued predictions finish, the model is released.
 */
async function drain(app: FastifyInstance, config: Config, logger: Logger, sockets: ReadonlySet<Socket>): Promise<void> {
  app.lifecycle.startDraining();
  if (config.DRAIN_DELAY_MS > 0) {
    logger.info({ drainDelayMs: config.DRAIN_DELAY_MS }, 'draining: readiness is 503; still serving while load balancers catch up');
    await sleep(config.DRAIN_DELAY_MS);
  }
  // net.Server's close, not http.Server's: it stops accepting without dropping the connections
  // whose requests may already be on the wire, and leaves Node's timeout checks running.
  NetServer.prototype.close.call(app.server);
  logger.info('listener closed; finishing the requests on open connections');
  const listenerClosedAt = Date.now();
  // Node counts a connection as idle once its answer is handed over, even while the answer still
  // waits for a slow reader; closing it then would cut the answer short. So nothing is closed while
  // any answer is still on its way: a client that stopped reading is cut off by IDLE_TIMEOUT_MS, or
  // the drain runs into SHUTDOWN_TIMEOUT_MS and exits 1.
  const delivering = () => [...sockets].some((socket) => socket.writableLength > 0);
  while ((await openConnections(app)) > 0) {
    if (Date.now() - listenerClosedAt >= IDLE_CONNECTION_GRACE_MS && !delivering()) app.server.closeIdleConnections();
    await sleep(CONNECTION_POLL_MS);
  }
  await app.close();
}

async function serve(config: Config, logger: Logger): Promise<void> {
  // One handler for the process's life: swapping handlers could drop a signal that arrives in
  // between. A stop asked for while the model loads ends the start: nothing is served, nothing lost.
  let stopBeforeListening: NodeJS.Signals | undefined;
  let onStop: (signal: NodeJS.Signals) => void = (signal) => void (stopBeforeListening ??= signal);
  const stopHandler = (signal: NodeJS.Signals) => onStop(signal);
  process.on('SIGTERM', stopHandler);
  process.on('SIGINT', stopHandler);
  let app: FastifyInstance;
  try {
    // Plugins run as they are registered: a prediction log that cannot start fails here.
    app = await buildApp({ config, logger });
  } catch (error) {
    await flushLogs(logger);
    failStart(error, config);
  }
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  try {
    await app.ready();
    if (stopBeforeListening) {
      logger.info({ signal: stopBeforeListening }, 'stopped during start-up; nothing was served');
      await app.close();
      return void (await exitAfterLogs(logger, 0));
    }
    await app.listen({ port: config.PORT, host: config.HOST });
    if (!cluster.isWorker) announceListening(logger, config.HOST, (app.server.address() as AddressInfo).port);
  } catch (error) {
    await app.close().catch(() => undefined);
    await flushLogs(logger);
    failStart(error, config);
  }

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining');
    // The deadline counts from when the listener closes; a stuck drain must not hold an orchestrator.
    setTimeout(() => {
      logger.error(`drain not finished ${config.SHUTDOWN_TIMEOUT_MS} ms after the listener closed; exiting`);
      void exitAfterLogs(logger, 1);
    }, config.DRAIN_DELAY_MS + config.SHUTDOWN_TIMEOUT_MS).unref();
    drain(app, config, logger, sockets).then(
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
  onStop = shutdown;
  // A signal that came between the app being ready and the listener opening.
  if (stopBeforeListening) shutdown(stopBeforeListening);

  if (cluster.isWorker) {
    // The primary coordinates reloads across workers; a hangup sent to one worker changes nothing.
    process.on('SIGHUP', () => logger.warn('SIGHUP ignored in a worker; send it to the primary process'));
  } else {
    process.on('SIGHUP', () => {
      logger.info('SIGHUP: reloading the model');
      // reloadModel logs the outcome; a failure keeps the current model serving.
      app.reloadModel('reload').catch(() => undefined);
    });
  }
}

/**
 * Starts the service: one process, or the cluster primary and its workers. `overrides` are the
 * command line's settings (src/cli.ts), which win over the environment.
 */
export async function runServer(overrides: Record<string, string> = {}): Promise<void> {
  let loaded: ReturnType<typeof readConfig>;
  try {
    loaded = readConfig(undefined, overrides);
  } catch (error) {
    failStart(error);
  }
  const { config, warnings } = loaded;
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  for (const warning of warnings) logger.warn(warning);
  if (cluster.isPrimary) logger.debug({ config }, 'configuration');
  const workers = workerCount(config, availableParallelism());
  if (workers > 1 && cluster.isPrimary) {
    superviseWorkers({
      workers,
      shutdownTimeoutMs: config.DRAIN_DELAY_MS + config.SHUTDOWN_TIMEOUT_MS + SUPERVISOR_MARGIN_MS,
      reloadTimeoutMs: GATHER_TIMEOUT_MS.reload,
      logger,
      exit: (code) => void exitAfterLogs(logger, code),
      periodicGathers: config.DRIFT_MONITORING ? [new DriftCheck(config, logger).periodicGather(), new PlausibilityAlerts(config, logger).periodicGather()] : [],
      // One rate limit for the whole server: the workers' counts are kept here.
      responders: [primaryCountResponder()],
    });
    cluster.once('listening', (_worker, address) => announceListening(logger, config.HOST, address.port));
  } else {
    await serve(config, logger);
  }
}

// `node dist/server.js` starts the server; src/command-line.ts imports runServer instead.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) await runServer();
