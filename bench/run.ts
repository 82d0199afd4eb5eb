/**
 * npm run bench: starts each server alone, drives it with wrk, and prints every number as a ratio
 * to the constant-answer floor measured in the same run (these shared machines are noisy).
 *
 *   BENCH_DURATION=10  seconds measured per run      BENCH_WARMUP=3  seconds of warm-up first
 *   BENCH_CONNECTIONS=64  BENCH_ENDPOINT=/predict/batch  (measure one endpoint only)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXAMPLE_CUSTOMER } from '../src/schemas/customer-features.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const BATCH_ROWS = 100;

interface Server {
  name: string;
  command: string[];
  env: Record<string, string>;
}

interface Endpoint {
  path: string;
  rows: number;
  body: unknown;
}

interface Result {
  server: string;
  endpoint: string;
  requestsPerSecond: number;
  rowsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  loopDelayP99Ms: number;
  peakRssMb: number;
  startMs: number;
  non2xx: number;
  socketErrors: number;
}

const has = (command: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

function ensureWrk(): void {
  if (has('wrk')) return;
  if (process.getuid?.() === 0 && has('apt-get')) {
    console.log('wrk not found: installing it from Debian (apt-get install -y wrk)');
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk'], { stdio: 'inherit' });
    return;
  }
  throw new Error('wrk is required: apt-get install -y wrk');
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const PIN = has('taskset') && availableParallelism() >= 2;
/** Server on core 0 and the load generator on core 1, so they do not fight; a cluster gets both. */
const pinned = (cores: string, command: string[]) => (PIN ? ['taskset', '-c', cores, ...command] : command);

async function waitHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${output()}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // process gone
  }
  return [pid, ...children.flatMap(processTree)];
}

/** VmHWM is the kernel's own peak resident set size of a process. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

function wrk(url: string, bodyFile: string, seconds: number, cores: string) {
  const command = pinned(cores, ['wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '5s', '-s', join(ROOT, 'bench/wrk-report.lua'), url]);
  const output = execFileSync(command[0]!, command.slice(1), {
    env: { ...process.env, WRK_BODY_FILE: bodyFile }, encoding: 'utf8' },
  );
  const line = output.split('\n').find((candidate) => candidate.startsWith('{"requests"'));
  if (!line) throw new Error(`wrk printed no result:\n${output}`);
  return JSON.parse(line) as { requests: number; duration_us: number; non_2xx: number; socket_errors: number; p50_us: number; p99_us: number };
}

async function measure(server: Server, endpoint: Endpoint, bodyFile: string): Promise<Result> {
  const port = await freePort();
  const serverCores = server.env.WORKERS && server.env.WORKERS !== '1' ? '0,1' : '0';
  const started = performance.now();
  const command = pinned(serverCores, server.command);
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', ...server.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitHealthy(`${base}/health`, child, () => output);
    const startMs = performance.now() - started;
    if (WARMUP > 0) wrk(`${base}${endpoint.path}`, bodyFile, WARMUP, '1');
    const run = wrk(`${base}${endpoint.path}`, bodyFile, DURATION, '1');
    // Per worker: in a cluster the primary only supervises, so its own RSS is not a worker's.
    const [serverPid, ...children] = processTree(child.pid!);
    const rss = Math.max(...(server.env.WORKERS ? children : [serverPid!]).map(peakRssMb));
    child.kill('SIGTERM');
    await exited;
    // Request log lines are dropped from memory as they come; only the delay summaries matter here.
    const delays = output
      .split('\n')
      .filter((line) => line.includes('event loop delay since start'))
      .map((line) => (JSON.parse(line) as { eventLoopDelay: { p99Ms: number } }).eventLoopDelay.p99Ms);
    const requestsPerSecond = run.requests / (run.duration_us / 1e6);
    return {
      server: server.name,
      endpoint: endpoint.path,
      requestsPerSecond,
      rowsPerSecond: requestsPerSecond * endpoint.rows,
      p50Ms: run.p50_us / 1000,
      p99Ms: run.p99_us / 1000,
      loopDelayP99Ms: delays.length > 0 ? Math.max(...delays) : Number.NaN,
      peakRssMb: rss,
      startMs,
      non2xx: run.non_2xx,
      socketErrors: run.socket_errors,
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

const fmt = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

async function main(): Promise<void> {
  ensureWrk();
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });

  const serviceCommand = [process.execPath, join(ROOT, 'dist/server.js')];
  const servers: Server[] = [
    { name: 'floor (constant answer)', command: [process.execPath, '--import', 'tsx', join(ROOT, 'bench/floor-server.ts')], env: {} },
    { name: 'service, micro-batching on', command: serviceCommand, env: { MICRO_BATCHING: 'true' } },
    { name: 'service, micro-batching off', command: serviceCommand, env: { MICRO_BATCHING: 'false' } },
    { name: 'service, WORKERS=2', command: serviceCommand, env: { WORKERS: '2' } },
  ];
  const single = { ...EXAMPLE_CUSTOMER };
  const endpoints: Endpoint[] = [
    { path: '/predict', rows: 1, body: single },
    {
      path: '/predict/batch',
      rows: BATCH_ROWS,
      body: { customers: Array.from({ length: BATCH_ROWS }, (_, index) => ({ ...single, tenure_months: index % 121 })) },
    },
  ];

  const scratch = join(tmpdir(), `churn-bench-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  const results: Result[] = [];
  for (const endpoint of endpoints.filter((candidate) => !process.env.BENCH_ENDPOINT || candidate.path === process.env.BENCH_ENDPOINT)) {
    const bodyFile = join(scratch, `${endpoint.rows}.json`);
    writeFileSync(bodyFile, JSON.stringify(endpoint.body));
    for (const server of servers) {
      process.stdout.write(`measuring ${server.name} on ${endpoint.path} (${WARMUP}s warm-up, ${DURATION}s)... `);
      const result = await measure(server, endpoint, bodyFile);
      results.push(result);
      console.log(`${fmt(result.requestsPerSecond)} req/s`);
      if (result.non2xx > 0 || result.socketErrors > 0) {
        throw new Error(`${server.name} on ${endpoint.path}: ${result.non2xx} non-2xx answers, ${result.socketErrors} socket errors`);
      }
    }
  }

  const floorOf = (endpoint: string) => results.find((result) => result.endpoint === endpoint && result.server.startsWith('floor'))!;
  console.log(`\nwrk, ${CONNECTIONS} connections, ${DURATION}s after ${WARMUP}s warm-up; ${PIN ? 'server pinned to core 0 (a cluster to cores 0-1), wrk to core 1' : 'no taskset: unpinned'}; node ${process.version}\n`);
  console.log('| server | endpoint | req/s | rows/s | p50 ms | p99 ms | loop delay p99 ms | peak RSS MB | start ms | req/s ÷ floor | p99 ÷ floor |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const result of results) {
    const floor = floorOf(result.endpoint);
    console.log(
      `| ${result.server} | ${result.endpoint} | ${fmt(result.requestsPerSecond)} | ${fmt(result.rowsPerSecond)} | ${fmt(result.p50Ms, 2)} | ${fmt(result.p99Ms, 2)} | ${fmt(result.loopDelayP99Ms, 2)} | ${fmt(result.peakRssMb)} | ${fmt(result.startMs)} | ${fmt(result.requestsPerSecond / floor.requestsPerSecond, 2)}x | ${fmt(result.p99Ms / floor.p99Ms, 2)}x |`,
    );
  }

  if (process.env.BENCH_ENDPOINT) return;
  const find = (server: string, endpoint: string) => results.find((result) => result.server === server && result.endpoint === endpoint)!;
  const batched = find('service, micro-batching on', '/predict');
  const batchedBatch = find('service, micro-batching on', '/predict/batch');
  const service = results.filter((result) => !result.server.startsWith('floor'));
  const checks: [string, boolean][] = [
    [`/predict >= 1.2x the floor: ${fmt(batched.requestsPerSecond / floorOf('/predict').requestsPerSecond, 2)}x`, batched.requestsPerSecond >= 1.2 * floorOf('/predict').requestsPerSecond],
    [`/predict >= 40x the old service's ~500 req/s: ${fmt(batched.requestsPerSecond / 500, 1)}x`, batched.requestsPerSecond >= 40 * 500],
    [`/predict/batch (100 rows) >= 0.8x the floor: ${fmt(batchedBatch.requestsPerSecond / floorOf('/predict/batch').requestsPerSecond, 2)}x`, batchedBatch.requestsPerSecond >= 0.8 * floorOf('/predict/batch').requestsPerSecond],
    [`/predict p99 no worse than the floor's: ${fmt(batched.p99Ms / floorOf('/predict').p99Ms, 2)}x`, batched.p99Ms <= floorOf('/predict').p99Ms],
    [`event-loop delay p99 under 5 ms under /predict load: ${fmt(batched.loopDelayP99Ms, 2)} ms`, batched.loopDelayP99Ms < 5],
    [`start to /health 200 under 1 s: ${fmt(Math.max(...service.filter((r) => !r.server.includes('WORKERS')).map((r) => r.startMs)))} ms (one worker)`, service.filter((r) => !r.server.includes('WORKERS')).every((r) => r.startMs < 1000)],
    [`peak RSS under 150 MB per worker: ${fmt(Math.max(...service.map((r) => r.peakRssMb)))} MB`, service.every((r) => r.peakRssMb < 150)],
  ];
  console.log('\nTargets:');
  for (const [label, ok] of checks) console.log(`  ${ok ? 'MET   ' : 'MISSED'} ${label}`);

  const resultsDir = join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, connections: CONNECTIONS, duration: DURATION, pinned: PIN, results }, null, 2));
  console.log(`\nraw results: ${file}`);
}

await main();
