import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

/** Lines wait at most this long in the buffer when traffic is too light to fill it. */
const FLUSH_INTERVAL_MS = 1000;
/** Bytes gathered before a write: a few dozen request lines per syscall under load. */
const WRITE_CHUNK_BYTES = 4096;

export interface LoggerSettings {
  level: string;
  /** json, pretty, or auto: pretty when standard output is a terminal. */
  format?: 'auto' | 'json' | 'pretty';
  /** Where lines go; buffered standard output unless a test captures them. */
  destination?: DestinationStream;
}

/** Readable lines for a person at a terminal; written at once, since nobody benchmarks a terminal. */
function prettyStdout(): DestinationStream {
  return pretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true });
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
  // Its URL may carry the Redis password.
  'config.RATE_LIMIT_REDIS_URL',
];

/** The service's one logger: the server, the app and the cluster primary all write through it. */
export function createLogger({ level, format = 'json', destination }: LoggerSettings): Logger {
  const readable = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination ?? (readable ? prettyStdout() : bufferedStdout()));
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
