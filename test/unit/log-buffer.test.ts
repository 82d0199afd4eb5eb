import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import pino, { type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, droppedLogLines, flushLogs } from '../../src/logger.js';
import { ServiceMetrics } from '../../src/metrics/service-metrics.js';
import { sampleValue } from '../prometheus-text.js';

const MAX_BUFFERED_CHARS = 64 * 1024;
/** Each line pino writes for one of these calls: well over 100 characters. */
const FILLER = 'x'.repeat(100);

interface StuckPipe {
  /** The writing end, non-blocking like a piped standard output; whoever writes to it closes it. */
  writer: number;
  /** Reads what has arrived; undefined when nothing is waiting. */
  read(): string | undefined;
  close(): void;
}

/**
 * A pipe that nobody reads, already full: every write to it fails with EAGAIN until the test
 * starts reading, as standard output piped into a process that does not read.
 */
function stuckPipe(): StuckPipe {
  const directory = mkdtempSync(join(tmpdir(), 'log-buffer-'));
  const path = join(directory, 'stdout');
  execFileSync('mkfifo', [path]);
  // O_RDWR: opening a FIFO this way never waits for the other end.
  const writer = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  // Pages first, then single bytes into whatever room the last page has left.
  for (const chunk of [Buffer.alloc(4096, '#'), Buffer.alloc(1, '#')]) {
    for (;;) {
      try {
        writeSync(writer, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw error;
      }
    }
  }
  // Take out the filler again only when the test reads, so every later write waits behind it.
  let fillerLeft = true;
  const buffer = Buffer.alloc(64 * 1024);
  const read = (): string | undefined => {
    try {
      const text = buffer.toString('utf8', 0, readSync(reader, buffer));
      if (!fillerLeft) return text;
      fillerLeft = /^#*$/.test(text);
      return text.replace(/^#+/, '');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return undefined;
      throw error;
    }
  };
  return {
    writer,
    read,
    close: () => {
      closeSync(reader);
      rmSync(directory, { recursive: true });
    },
  };
}

/** Reads the pipe until every line the logger holds has been written, and returns the lines. */
async function drain(pipe: StuckPipe, logger: Logger): Promise<Record<string, unknown>[]> {
  let flushed = false;
  void flushLogs(logger).then(() => (flushed = true));
  let output = '';
  while (!flushed) {
    const text = pipe.read();
    if (text === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    else output += text;
  }
  for (let text = pipe.read(); text !== undefined; text = pipe.read()) output += text;
  return output
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

let pipe: StuckPipe | undefined;
let logger: Logger | undefined;
afterEach(async () => {
  // Ending the logger's stream closes the pipe's writing end too.
  const stream = (logger as unknown as Record<symbol, (NodeJS.EventEmitter & { end(): void }) | undefined> | undefined)?.[pino.symbols.streamSym];
  if (stream) {
    const closed = once(stream, 'close');
    stream.end();
    await closed;
  }
  pipe?.close();
  [pipe, logger] = [undefined, undefined];
});

describe('the log buffer, when the log output stops taking lines', () => {
  it('holds at most its bound, drops and counts the rest, and says how many once writing resumes', async () => {
    pipe = stuckPipe();
    logger = createLogger({ level: 'info', format: 'json', output: { fd: pipe.writer, maxBufferedChars: MAX_BUFFERED_CHARS } });
    const droppedBefore = droppedLogLines();

    const LINES = 5000;
    for (let index = 0; index < LINES / 2; index += 1) logger.info({ index, filler: FILLER }, 'request completed');
    const droppedWhileStuck = droppedLogLines() - droppedBefore;
    expect(droppedWhileStuck).toBeGreaterThan(LINES / 4);
    // Turns of the event loop go by, the pipe stays full: lines keep being dropped and counted.
    for (let turn = 0; turn < 10; turn += 1) await nextTurn();
    for (let index = LINES / 2; index < LINES; index += 1) logger.info({ index, filler: FILLER }, 'request completed');
    const dropped = droppedLogLines() - droppedBefore;
    expect(dropped).toBeGreaterThan(droppedWhileStuck);

    const lines = await drain(pipe, logger);
    const requests = lines.filter((line) => line.msg === 'request completed');
    const reports = lines.filter((line) => String(line.msg).startsWith('dropped '));
    // What came out is what fitted in the buffer: the bound held, and no line went missing uncounted.
    expect(requests.reduce((chars, line) => chars + JSON.stringify(line).length + 1, 0)).toBeLessThanOrEqual(MAX_BUFFERED_CHARS);
    expect(requests.length + dropped).toBe(LINES);
    expect(requests.map((line) => line.index)).toEqual(Array.from({ length: requests.length }, (_, index) => index));
    expect(reports).toEqual([expect.objectContaining({ level: 40, droppedLines: dropped, msg: `dropped ${dropped} log lines: the log output did not keep up` })]);
    expect(lines.at(-1)).toBe(reports[0]);

    // Writing again, nothing more is dropped and nothing more is reported.
    logger.info('after');
    const after = await drain(pipe, logger);
    expect(after.map((line) => line.msg)).toEqual(['after']);
    expect(droppedLogLines() - droppedBefore).toBe(dropped);
  });

  it('exposes the process\'s count as churn_log_lines_dropped_total', async () => {
    let dropped = 0;
    const metrics = new ServiceMetrics('churn', () => dropped);
    const scrape = async () => sampleValue(await ServiceMetrics.render([await metrics.snapshot()]), 'churn_log_lines_dropped_total');
    expect(await scrape()).toBe(0);
    dropped = 1234;
    expect(await scrape()).toBe(1234);
  });
});
