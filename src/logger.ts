import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';

/** The message of the one line written per finished request (plugins/request-logging.ts). */
export const REQUEST_COMPLETED = 'request completed';

/** Lines wait at most this long in the buffer when traffic is too light to fill it. */
const FLUSH_INTERVAL_MS = 1000;
/** Bytes gathered before a write: a few dozen request lines per syscall under load. */
const WRITE_CHUNK_BYTES = 4096;
/**
 * Most characters of log lines held back while standard output does not keep up (a reader that
 * is slow, or stopped). Past it new lines are dropped, not queued: memory stays bounded and no
 * request ever waits on the log. About 4 MB of JSON lines, some seconds of them at full load.
 */
export const LOG_BUFFER_MAX_CHARS = 4 * 1024 * 1024;

/** Where the buffered JSON lines go, and how many characters of them may wait. */
export interface BufferedOutput {
  fd: number;
  maxBufferedChars: number;
}

export interface LoggerSettings {
  level: string;
  /** json, pretty, or auto: pretty when standard output is a terminal. */
  format?: 'auto' | 'json' | 'pretty';
  /** Where lines go; buffered standard output unless a test captures them. */
  destination?: DestinationStream;
  /** The buffered output: standard output and LOG_BUFFER_MAX_CHARS, unless a test gives a pipe of its own. */
  output?: BufferedOutput;
}

let droppedLineCount = 0;

/** Log lines this process has dropped since it started because its output did not keep up. */
export function droppedLogLines(): number {
  return droppedLineCount;
}

const shownMs = (value: unknown) => (typeof value === 'number' ? `${value}` : '?');

/**
 * A request line as one line of text, as uvicorn prints its access lines:
 * `203.0.113.7 "POST /predict" 200 3.1 ms req=<id> run=12 (queue 0.4, model 1.1 ms)`, and for a
 * refused or failed request ` - <reason>`. The trace id shows when tracing binds one.
 */
export function requestSummary(entry: Record<string, unknown>): string {
  let text = `${String(entry.clientIp)} "${String(entry.method)} ${String(entry.path)}" ${String(entry.statusCode)} ${shownMs(entry.latencyMs)} ms req=${String(entry.reqId)}`;
  const traceId = entry.traceId ?? entry.trace_id;
  if (traceId !== undefined) text += ` trace=${String(traceId)}`;
  if (Array.isArray(entry.runIds)) {
    const explain = entry.explainMs === undefined ? '' : `, explain ${shownMs(entry.explainMs)}`;
    text += ` run=${entry.runIds.join(',')} (queue ${shownMs(entry.queueMs)}, model ${shownMs(entry.modelMs)}${explain} ms)`;
  }
  if (entry.reason !== undefined) text += ` - ${String(entry.reason)}`;
  return text;
}

/**
 * Readable lines for a person at a terminal: each request on one line (requestSummary), every
 * other line as pino-pretty writes it on one line (an error's stack below it), each with the process id, so the workers of WORKERS=N can
 * be told apart. Written at once, since nobody benchmarks a terminal.
 */
export function readableOutput(write: (text: string) => void, colorize: boolean): DestinationStream {
  // Loaded only for a terminal (or LOG_FORMAT=pretty), not on every start of a JSON-logging server.
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  const prettify = prettyFactory({ colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname', singleLine: true });
  return {
    write(line: string) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      write(prettify(entry.msg === REQUEST_COMPLETED ? { level: entry.level, time: entry.time, pid: entry.pid, msg: requestSummary(entry) } : entry));
    },
  };
}

function prettyStdout(): DestinationStream {
  return readableOutput((text) => process.stdout.write(text), process.stdout.isTTY === true);
}

/**
 * Output written asynchronously in chunks, so logging a line costs no syscall of its own on the
 * request path, and bounded: lines that find the buffer full are dropped and counted, and once a
 * write goes through again `reportDrops` hears how many. Graceful exits wait for `flushLogs`;
 * any other exit still writes what is buffered synchronously (pino flushes its own destinations
 * on process exit).
 */
function bufferedOutput({ fd, maxBufferedChars }: BufferedOutput, reportDrops: (count: number) => void): DestinationStream {
  const stream = pino.destination({ dest: fd, sync: false, minLength: WRITE_CHUNK_BYTES, maxLength: maxBufferedChars, periodicFlush: FLUSH_INTERVAL_MS });
  let unreported = 0;
  stream.on('drop', () => {
    unreported += 1;
    droppedLineCount += 1;
  });
  stream.on('write', () => {
    if (unreported === 0) return;
    const count = unreported;
    unreported = 0;
    // On the next tick the written bytes have left the buffer, so the report finds room.
    process.nextTick(reportDrops, count);
  });
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
  // Its URL may carry the database password.
  'config.DATABASE_URL',
];

/** The service's one logger: the server, the app and the cluster primary all write through it. */
export function createLogger({ level, format = 'json', destination, output = { fd: 1, maxBufferedChars: LOG_BUFFER_MAX_CHARS } }: LoggerSettings): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  const readable = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  if (destination || readable) return pino(options, destination ?? prettyStdout());
  const logger: Logger = pino(
    options,
    bufferedOutput(output, (count) => logger.warn({ droppedLines: count }, `dropped ${count} log lines: the log output did not keep up`)),
  );
  return logger;
}

/** Resolves once every line logged so far has been written. */
export function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/** Where a start-up failure goes, and in which form. */
export interface StartFailureOutput {
  /** Sentences for a person (a terminal), or one JSON line for a log collector. Default: sentences when standard error is a terminal. */
  readable?: boolean;
  /** Writes the text at once; standard error by default. */
  write?: (text: string) => void;
}

/** A start-up failure as a person reads it: what went wrong in a sentence, then any stack and details indented below. */
export function startFailureText(message: string, details: Record<string, unknown> = {}): string {
  const lines = [`churn-service could not start: ${message}`];
  for (const [key, value] of Object.entries(details)) {
    const shown = value instanceof Error ? (value.stack ?? value.message) : typeof value === 'string' ? value : JSON.stringify(value);
    lines.push(`  ${key === 'err' ? '' : `${key}: `}${String(shown).replaceAll('\n', '\n  ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A start-up failure, written at once whatever LOG_LEVEL says, so a service that cannot start
 * never exits in silence: sentences on a terminal, one JSON line (level 60) for a log collector.
 */
export function reportStartFailure(message: string, details: Record<string, unknown> = {}, output: StartFailureOutput = {}): void {
  const { readable = process.stderr.isTTY === true, write } = output;
  if (readable) {
    const text = startFailureText(message, details);
    if (write) write(text);
    else writeSync(2, text);
    return;
  }
  const destination = write ? { write } : pino.destination({ dest: 2, sync: true });
  pino({ level: 'fatal' }, destination).fatal(details, message);
}
