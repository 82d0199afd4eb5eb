/**
 * What the one log line per finished request costs, in process (no HTTP): the service's own logger
 * (createLogger: JSON lines, redaction, the buffered asynchronous output) writing to a file, a child
 * logger per request as Fastify makes one (its request id), and the request line's fields as the
 * request-logging plugin fills them for a `/predict` that reached the model. Against the same loop
 * at `warn`, where the line is skipped and only the child logger is made.
 *
 *   npx tsx bench/log-line-cost.ts
 *
 * CPU is the whole process's (process.cpuUsage): the output's writes run on libuv's threads. The
 * loop yields to the event loop every 64 lines, as a saturated server does between its requests, so
 * the buffered output writes as it would there. Min / median / max over the rounds.
 */
import { openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { createLogger, flushLogs, LOG_BUFFER_MAX_CHARS, REQUEST_COMPLETED } from '../src/logger.js';

const ROUNDS = Number(process.env.LOG_LINE_ROUNDS ?? 7);
const LINES_PER_ROUND = 100_000;
const LINES_PER_TURN = 64;
const REQUEST_ID = '84a8c4f3-0fa3-4198-a913-d1fd6a200377';

async function linesCost(level: 'info' | 'warn', path: string): Promise<number> {
  const logger = createLogger({ level, output: { fd: openSync(path, 'w'), maxBufferedChars: LOG_BUFFER_MAX_CHARS } });
  const before = process.cpuUsage();
  for (let line = 0; line < LINES_PER_ROUND; line += 1) {
    const requestLog = logger.child({ reqId: REQUEST_ID });
    requestLog.info(
      { method: 'POST', route: '/predict', path: '/predict', clientIp: '127.0.0.1', statusCode: 200, latencyMs: 3.09, modelVersion: '1.2.0', runIds: [line], queueMs: 1.23, modelMs: 0.5 },
      REQUEST_COMPLETED,
    );
    if (line % LINES_PER_TURN === 0) await turn();
  }
  await flushLogs(logger);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / LINES_PER_ROUND;
}

const path = join(tmpdir(), `log-line-cost-${process.pid}.log`);
const samples = { info: [] as number[], warn: [] as number[] };
for (let round = 0; round < ROUNDS; round += 1) {
  for (const level of round % 2 === 0 ? (['info', 'warn'] as const) : (['warn', 'info'] as const)) samples[level].push(await linesCost(level, path));
}
rmSync(path, { force: true });

const spread = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} (${sorted[0]!.toFixed(2)}-${sorted.at(-1)!.toFixed(2)})`;
};
const lineCosts = samples.info.map((info, round) => info - samples.warn[round]!);
console.log(`Node ${process.version}, ${ROUNDS} rounds of ${LINES_PER_ROUND} requests; process CPU µs per request, median (min-max)\n`);
console.log('| level | µs per request |');
console.log('|---|---|');
console.log(`| info: child logger and the request line | ${spread(samples.info)} |`);
console.log(`| warn: child logger only | ${spread(samples.warn)} |`);
console.log(`| the line itself (info - warn, per round) | ${spread(lineCosts)} |`);
