/**
 * Start time: spawning the built service (as `npm start` runs it, one worker) to its first
 * `GET /health/ready` 200, several times; prints min, median and max. Each start gets a fresh
 * DATA_DIR. Build first (`npm run build`).
 *
 *   npx tsx bench/start-time.ts            # 7 starts
 *   START_RUNS=15 npx tsx bench/start-time.ts
 *   START_ROOT=/tmp/other-checkout npx tsx bench/start-time.ts   # another built checkout
 *
 * Beside the wall time it prints the CPU the process used until it was ready (user + system, from
 * /proc): on a shared machine that moves less than the wall time.
 * The service logs its own load time (`loadMs`, debug) and where it went; this measures what an
 * orchestrator sees.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = process.env.START_ROOT ?? fileURLToPath(new URL('..', import.meta.url));
const CLOCK_TICKS = 100;
const RUNS = Number(process.env.START_RUNS ?? 7);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The service exactly as `npm start` runs it, V8 flags included. */
function serviceCommand(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [node, ...args] = pkg.scripts.start.replace(/^exec\s+/, '').split(/\s+/);
  if (node !== 'node') throw new Error(`cannot run the start script "${pkg.scripts.start}" directly`);
  return [process.execPath, ...args.map((arg) => (arg.endsWith('.js') ? join(ROOT, arg) : arg))];
}

/** User + system CPU of a process so far, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

async function startOnce(): Promise<{ wallMs: number; cpuMs: number }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'churn-start-'));
  const [command, ...args] = serviceCommand();
  const started = performance.now();
  const child = spawn(command!, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error('the service exited before it was ready');
      const status = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
        (response) => response.status,
        () => 0,
      );
      if (status === 200) return { wallMs: performance.now() - started, cpuMs: cpuMs(child.pid!) };
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const runs: { wallMs: number; cpuMs: number }[] = [];
for (let run = 0; run < RUNS; run += 1) runs.push(await startOnce());
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return `min ${sorted[0]!.toFixed(0)}, median ${middle.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)}`;
};
console.log(`Node ${process.version}, ${ROOT}, ${RUNS} starts to the first /health/ready 200: wall ms ${summary(runs.map((run) => run.wallMs))}; CPU ms ${summary(runs.map((run) => run.cpuMs))}`);
