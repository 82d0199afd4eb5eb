import pino, { type DestinationStream, type Logger } from 'pino';

/** Lines wait at most this long in the buffer when traffic is too light to fill it. */
const FLUSH_INTERVAL_MS = 1000;
/** Bytes gathered before a write: a few dozen request lines per syscall under load. */
const WRITE_CHUNK_BYTES = 4096;

export interface LoggerSettings {
  level: string;
  /** Where lines go; buffered standard output unless a test captures them. */
  destination?: DestinationStream;
}

/**
 * Standard output written asynchronously in chunks, so logging a line costs no syscall of its
 * own on the request path. Graceful exits wait for `flushLogs`; any other exit still writes what
 * is buffered synchronously (pino flushes its own destinations on process exit).
 */
function bufferedStdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: WRITE_CHUNK_BYTES });
  setInterval(() => stream.flush(), FLUSH_INTERVAL_MS).unref();
  return stream;
}

/** Credentials never reach a log line, whichever object carries them. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'config.API_KEYS',
  'config.ADMIN_TOKEN',
];

/** The service's one logger: the server, the app and the cluster primary all write through it. */
export function createLogger({ level, destination }: LoggerSettings): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination ?? bufferedStdout());
}

/** Resolves once every line logged so far has been written. */
export function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/**
 * A start-up failure: one JSON line on standard error, written at once, whatever LOG_LEVEL says,
 * so a service that cannot start never exits in silence.
 */
export function reportStartFailure(message: string, details: Record<string, unknown> = {}): void {
  pino({ level: 'fatal' }, pino.destination({ dest: 2, sync: true })).fatal(details, message);
}
