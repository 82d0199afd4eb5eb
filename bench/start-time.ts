/**
 * Start time: spawning the built service (as `npm start` runs it, one worker) to its first
 * `GET /health/ready` 200, several times; prints min, median and max. Each start gets a fresh
 * DATA_DIR. Build first (`npm run build`).
 *
 *   npx tsx bench/start-time.ts            # 7 starts
 *   START_RUNS=15 npx tsx bench/start-time.ts
 *
 * The service logs its own load time (`loadMs`, debug) and where it went; this measures what an
 * orchestrator sees.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
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

async function startOnce(): Promise<number> {
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
      if (status === 200) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const times: number[] = [];
for (let run = 0; run < RUNS; run += 1) times.push(await startOnce());
times.sort((a, b) => a - b);
const median = times.length % 2 ? times[(times.length - 1) / 2]! : (times[times.length / 2 - 1]! + times[times.length / 2]!) / 2;
console.log(`Node ${process.version}, ${RUNS} starts, spawn to first /health/ready 200 (ms): min ${times[0]!.toFixed(0)}, median ${median.toFixed(0)}, max ${times.at(-1)!.toFixed(0)}`);
console.log(`all: ${times.map((time) => time.toFixed(0)).join(', ')}`);
