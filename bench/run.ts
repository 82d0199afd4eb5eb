/**
 * npm run bench: starts each server alone, drives it with wrk, and prints every number as a ratio
 * to constant-answer floors measured in the same round (these shared machines are noisy): the
 * bare floor (Fastify and the schemas, nothing else), the twin floor (the bare floor plus a busy
 * wait per request as long as the model's work, measured at the start of the same run) and the
 * service floor (the service's own Fastify options, logging and event-loop plugins).
 *
 *   BENCH_DURATION=8   seconds measured per run      BENCH_WARMUP=3  seconds of warm-up first
 *   BENCH_ROUNDS=5     interleaved rounds (min, median, max)  BENCH_CONNECTIONS=64
 *   BENCH_ENDPOINT=/predict/batch  measures one endpoint only
 *   BENCH_MAX_STEAL=5  a run with more CPU steal (%) than this is measured again, up to 3 times
 *   BENCH_FIRST_DELAY_MS=300  each measured connection's first request waits this long (0: none), so
 *                      every connection is accepted before the load starts (see measure())
 *   BENCH_COMPARISON=prediction-log  only the prediction log on vs off (and the bare floor), on
 *                      /predict and /predict/batch
 *   BENCH_COMPARISON=challenger      only the service with and without a shadow challenger at share 1
 *                      (and the bare floor), on /predict and /predict/batch
 *   BENCH_COMPARISON=tracing  only the service with tracing off, on at 100 % and at 1 % sampling
 *                      (exporting to a sink in this process), and the bare floor, on /predict and
 *                      /predict/batch
 *   BENCH_BASELINE_CLI=<path to another build's dist/cli.js>  adds that build (the last release, say)
 *                      with its defaults, in the same rounds, on the churn API's four endpoints (and
 *                      in the prediction-log and tracing comparisons)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { DatabaseSync } from 'node:sqlite';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXAMPLE_CUSTOMER } from '../src/schemas/customer-features.js';
import { deploymentMemoryLimit, memoryCgroup, memoryQuantityBytes, type MemoryCgroup } from './memory-limit.js';
import { MODEL_COST_JSON_PREFIX, type ModelCostRow, type TwinFloorCost } from './twin-floor.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MAX_STEAL_PERCENT = Number(process.env.BENCH_MAX_STEAL ?? 5);
const MAX_ATTEMPTS = 4;
const BATCH_ROWS = 100;
const FIRST_DELAY_MS = Number(process.env.BENCH_FIRST_DELAY_MS ?? 300);
/** Between the warm-up and the measured run: the server finishes what the warm-up left in flight. */
const SETTLE_MS = FIRST_DELAY_MS > 0 ? 1000 : 0;

interface Server {
  name: string;
  command: string[];
  env: Record<string, string>;
  /** The endpoints this server is measured on; all of them when unset. */
  only?: string[];
}

interface Endpoint {
  path: string;
  rows: number;
  body: unknown;
  /** The servers measured on it; every server when unset. */
  servers?: string[];
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
  /** Server CPU time (user + system, all processes) per request: robust to a busy neighbour. */
  cpuUsPerRequest: number;
  /** Share of the machine's time the hypervisor gave to others during the run. */
  stealPercent: number;
  /** Predictions the prediction log dropped during the run (its buffer was full), from /metrics; 0 when it is off. */
  logDropped: number;
  /** Predictions the prediction log recorded: its store's row count after the drain at shutdown. */
  logWritten: number;
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

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of one process, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function machineTicks(): { steal: number; total: number } {
  const values = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { steal: values[7] ?? 0, total: values.reduce((sum, value) => sum + value, 0) };
}

/** VmHWM is the kernel's own peak resident set size of a process. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

function wrk(url: string, bodyFile: string, seconds: number, cores: string, firstDelayMs = 0) {
  const command = pinned(cores, ['wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '30s', '-s', join(ROOT, 'bench/wrk-report.lua'), url]);
  const output = execFileSync(command[0]!, command.slice(1), {
    env: { ...process.env, WRK_BODY_FILE: bodyFile, WRK_FIRST_DELAY_MS: String(firstDelayMs), WRK_CONNECTIONS: String(CONNECTIONS) }, encoding: 'utf8' },
  );
  const line = output.split('\n').find((candidate) => candidate.startsWith('{"requests"'));
  if (!line) throw new Error(`wrk printed no result:\n${output}`);
  const run = JSON.parse(line) as { requests: number; duration_us: number; non_2xx: number; socket_errors: number; p50_us: number; p99_us: number };
  // The first requests' wait is no load: requests per second count from when they were sent.
  return { ...run, duration_us: run.duration_us - firstDelayMs * 1000 };
}

async function measure(server: Server, endpoint: Endpoint, bodyFile: string, logFile: string): Promise<Result> {
  const port = await freePort();
  // Logs go straight to a file: reading 20,000 lines a second through a pipe would load a core.
  const log = openSync(logFile, 'w');
  const serverCores = server.env.WORKERS && server.env.WORKERS !== '1' ? '0,1' : '0';
  // The prediction log is on by default: each run gets a fresh SQLite file (never ./data in the repository).
  const dataDir = mkdtempSync(join(tmpdir(), 'churn-bench-data-'));
  const started = performance.now();
  const command = pinned(serverCores, server.command);
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', DATA_DIR: dataDir, ...server.env },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const output = () => readFileSync(logFile, 'utf8');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitHealthy(`${base}/health`, child, output);
    const startMs = performance.now() - started;
    const url = `${base}${endpoint.path.split('#')[0]}`;
    if (WARMUP > 0) wrk(url, bodyFile, WARMUP, '1');
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const cpuBefore = processTree(child.pid!).reduce((sum, pid) => sum + cpuTicks(pid), 0);
    const machineBefore = machineTicks();
    // wrk opens its connections at once, and libuv accepts one connection per event-loop turn: on
    // a saturated server each turn serves every open connection, so the k-th new connection's first
    // request waits about k turns (seconds, at 64 connections, for a server spending 1-3 ms a
    // request) and those 64 requests become the p99. Held back FIRST_DELAY_MS, the first requests
    // find every connection accepted on an idle server: the run measures steady load on open
    // connections, as behind a load balancer's connection pool.
    const run = wrk(url, bodyFile, DURATION, '1', FIRST_DELAY_MS);
    const cpuAfter = processTree(child.pid!).reduce((sum, pid) => sum + cpuTicks(pid), 0);
    const machineAfter = machineTicks();
    // Per worker: in a cluster the primary only supervises, so its own RSS is not a worker's.
    const [serverPid, ...children] = processTree(child.pid!);
    const rss = Math.max(...(server.env.WORKERS ? children : [serverPid!]).map(peakRssMb));
    const logDropped = await droppedByTheLog(base);
    child.kill('SIGTERM');
    await exited;
    const delays = output()
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
      cpuUsPerRequest: ((cpuAfter - cpuBefore) * (1e6 / CLOCK_TICKS)) / run.requests,
      stealPercent: (100 * (machineAfter.steal - machineBefore.steal)) / Math.max(1, machineAfter.total - machineBefore.total),
      socketErrors: run.socket_errors,
      logDropped,
      logWritten: loggedRows(dataDir),
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function droppedByTheLog(base: string): Promise<number> {
  const text = await fetch(`${base}/metrics`).then((response) => (response.ok ? response.text() : ''), () => '');
  return text
    .split('\n')
    .filter((line) => line.startsWith('churn_prediction_log_dropped_total'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

function loggedRows(dataDir: string): number {
  const file = join(dataDir, 'prediction-log.sqlite');
  if (!existsSync(file)) return 0;
  const database = new DatabaseSync(file, { readOnly: true });
  try {
    return Number((database.prepare('SELECT count(*) AS count FROM predictions').get() as { count: number }).count);
  } finally {
    database.close();
  }
}

const fmt = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const median = (values: number[]) => {
  const sorted = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The service runs exactly as `npm start` runs it, V8 flags included. */
function serviceCommand(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [node, ...args] = pkg.scripts.start.replace(/^exec\s+/, '').split(/\s+/);
  if (node !== 'node') throw new Error(`cannot run the start script "${pkg.scripts.start}" directly`);
  return [process.execPath, ...args.map((arg) => (arg.endsWith('.js') ? join(ROOT, arg) : arg))];
}

interface Ratio {
  min: number;
  median: number;
  max: number;
}

interface Summary {
  server: string;
  endpoint: string;
  rows: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  loopDelayP99Ms: number;
  peakRssMb: number;
  startMs: number;
  cpuUsPerRequest: number;
  stealPercent: number;
  /** Per-round ratios of requests/s to the bare floor measured in the same round. */
  vsBare: Ratio;
  /** Per-round ratios of requests/s to the twin floor (the bare floor plus the model's cost). */
  vsTwin: Ratio;
  /** Median per-round ratio of the run's own p99 to its p50. */
  p99OverP50: Ratio;
  cpuVsTwin: number;
  /** Median per-round ratio of requests/s to the service floor. */
  vsServiceFloor: number;
  p99VsBare: number;
  cpuVsBare: number;
}

const spread = (values: number[]): Ratio => {
  const finite = values.filter(Number.isFinite);
  return { min: Math.min(...finite), median: median(finite), max: Math.max(...finite) };
};

function summarize(results: Result[][], endpoints: Endpoint[]): Summary[] {
  const summaries: Summary[] = [];
  for (const endpoint of endpoints) {
    const inRound = (round: Result[], server: string) => round.find((r) => r.endpoint === endpoint.path && r.server === server);
    const bare = results.map((round) => inRound(round, BARE_FLOOR)!);
    const twin = results.map((round) => inRound(round, TWIN_FLOOR));
    // Some endpoints (explanations, the Open Inference Protocol) are measured on the bare floor only.
    const serviceFloor = results.map((round) => inRound(round, SERVICE_FLOOR));
    for (const server of [...new Set(results[0]!.filter((r) => r.endpoint === endpoint.path).map((r) => r.server))]) {
      const runs = results.map((round) => inRound(round, server)!);
      const perRound = (measure: (run: Result, round: number) => number) => runs.map(measure);
      summaries.push({
        server,
        endpoint: endpoint.path,
        rows: endpoint.rows,
        requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
        p50Ms: median(runs.map((r) => r.p50Ms)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        loopDelayP99Ms: median(runs.map((r) => r.loopDelayP99Ms)),
        peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
        startMs: median(runs.map((r) => r.startMs)),
        cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
        stealPercent: Math.max(...runs.map((r) => r.stealPercent)),
        vsBare: spread(perRound((r, round) => r.requestsPerSecond / bare[round]!.requestsPerSecond)),
        vsServiceFloor: median(perRound((r, round) => r.requestsPerSecond / (serviceFloor[round]?.requestsPerSecond ?? Number.NaN))),
        p99VsBare: median(perRound((r, round) => r.p99Ms / bare[round]!.p99Ms)),
        cpuVsBare: median(perRound((r, round) => r.cpuUsPerRequest / bare[round]!.cpuUsPerRequest)),
        vsTwin: spread(perRound((r, round) => r.requestsPerSecond / (twin[round]?.requestsPerSecond ?? Number.NaN))),
        p99OverP50: spread(perRound((r) => r.p99Ms / r.p50Ms)),
        cpuVsTwin: median(perRound((r, round) => r.cpuUsPerRequest / (twin[round]?.cpuUsPerRequest ?? Number.NaN))),
      });
    }
  }
  return summaries;
}

const BARE_FLOOR = 'bare floor (constant answer)';
const TWIN_FLOOR = 'twin floor (bare floor + model cost busy wait)';
const SERVICE_FLOOR = 'service floor (constant answer)';
const BATCHED = 'service (defaults)';
const SHARED_QUEUE = 'service, batch rows through the shared queue';
const NO_DRIFT = 'service, DRIFT_MONITORING=false';
const NO_LOG = 'service, PREDICTION_LOG=false';
const SHADOW = 'service, shadow challenger (CHALLENGER_SHARE=1)';
// ---- BENCH_COMPARISON=tracing ----
const TRACED_ALL = 'service, tracing on, 100 % sampled';
const TRACED_ONE_PERCENT = 'service, tracing on, 1 % sampled';
const BASELINE = 'BENCH_BASELINE_CLI (defaults)';
const TRACING_SERVERS = [TRACED_ALL, TRACED_ONE_PERCENT];
/** The service in a memory cgroup with deploy/k8s/deployment.yaml's limit, as a pod runs it (bench/memory-limit.ts). */
const POD_LIMITED = "service, in the deployment's memory limit";
const CHURN_API_ENDPOINTS = ['/predict', '/predict/batch', '/predict?explain=true', '/predict/batch?explain=true'];

/** An OTLP/HTTP receiver that takes every export and keeps nothing, so the exporter's cost is measured, not a collector's. */
async function otlpSink(): Promise<{ url: string; close: () => void }> {
  const sink = createHttpServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const { port } = sink.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => sink.close() };
}

function tracingServers(service: string[], sinkUrl: string): Server[] {
  const traced = (share: string) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: share });
  const only = ['/predict', '/predict/batch'];
  return [
    { name: TRACED_ALL, command: service, env: traced('1'), only },
    { name: TRACED_ONE_PERCENT, command: service, env: traced('0.01'), only },
  ];
}

/** This build against BENCH_BASELINE_CLI's, round by round, each at its defaults: requests/s and CPU per request. */
function baselineChecks(rounds: Result[][]): [string, boolean][] {
  const checks: [string, boolean][] = [];
  for (const endpoint of CHURN_API_ENDPOINTS) {
    const current = rounds.map((round) => round.find((r) => r.server === BATCHED && r.endpoint === endpoint));
    const baseline = rounds.map((round) => round.find((r) => r.server === BASELINE && r.endpoint === endpoint));
    if (current.some((r) => !r) || baseline.some((r) => !r)) continue;
    const faster = spread(current.map((r, round) => r!.requestsPerSecond / baseline[round]!.requestsPerSecond));
    const cpu = spread(current.map((r, round) => r!.cpuUsPerRequest / baseline[round]!.cpuUsPerRequest));
    const rss = median(current.map((r, round) => r!.peakRssMb - baseline[round]!.peakRssMb));
    checks.push([
      `${endpoint}: this build serves ${fmt(faster.median, 2)}x the requests/s of BENCH_BASELINE_CLI (rounds ${fmt(faster.min, 2)}-${fmt(faster.max, 2)}) at ${fmt(cpu.median, 2)}x its CPU µs/req (${fmt(cpu.min, 2)}-${fmt(cpu.max, 2)}); peak RSS ${rss >= 0 ? '+' : ''}${fmt(rss, 0)} MB`,
      true,
    ]);
  }
  return checks;
}

/** Tracing on against off, round by round: the share of requests/s kept and the CPU it adds. */
function tracingChecks(rounds: Result[][]): [string, boolean][] {
  const checks: [string, boolean][] = [];
  for (const endpoint of ['/predict', '/predict/batch']) {
    const off = rounds.map((round) => round.find((r) => r.server === BATCHED && r.endpoint === endpoint));
    for (const server of TRACING_SERVERS) {
      const on = rounds.map((round) => round.find((r) => r.server === server && r.endpoint === endpoint));
      if (off.some((r) => !r) || on.some((r) => !r)) continue;
      const kept = spread(on.map((r, round) => r!.requestsPerSecond / off[round]!.requestsPerSecond));
      const cpu = spread(on.map((r, round) => r!.cpuUsPerRequest / off[round]!.cpuUsPerRequest));
      const added = median(on.map((r, round) => r!.cpuUsPerRequest - off[round]!.cpuUsPerRequest));
      checks.push([
        `${server} on ${endpoint}: ${fmt(kept.median, 2)}x the requests/s of tracing off (rounds ${fmt(kept.min, 2)}-${fmt(kept.max, 2)}), ${fmt(cpu.median, 2)}x its CPU µs/req (${fmt(cpu.min, 2)}-${fmt(cpu.max, 2)}; ${fmt(added, 1)} µs more)`,
        true,
      ]);
    }
  }
  return checks;
}

/** The comparisons BENCH_COMPARISON selects: the servers and endpoints each one runs. */
const COMPARISONS: Record<string, { servers: string[]; endpoints: string[] }> = {
  'prediction-log': { servers: [BARE_FLOOR, TWIN_FLOOR, BATCHED, NO_LOG, BASELINE], endpoints: ['/predict', '/predict/batch'] },
  challenger: { servers: [BARE_FLOOR, TWIN_FLOOR, BATCHED, SHADOW], endpoints: ['/predict', '/predict/batch'] },
  tracing: { servers: [BARE_FLOOR, TWIN_FLOOR, BATCHED, TRACED_ALL, TRACED_ONE_PERCENT, BASELINE], endpoints: ['/predict', '/predict/batch'] },
};
// wrk's path is the same for both; the fragment only names the endpoint in the results.
const V2_INFER_ONE = '/v2/models/churn/infer#1-row';
const V2_INFER_BATCH = '/v2/models/churn/infer#100-rows';

/**
 * The twin floor's busy waits from this run's model cost: a 100-row request pays one 100-row call;
 * a single row pays its share of a micro-batched call (the 64-row call's cost per row: 64
 * connections' rows coalesce); explanations add TreeSHAP's cost per row.
 */
function twinFloorCost(table: ModelCostRow[]): TwinFloorCost {
  const at = (rows: number) => {
    const row = table.find((candidate) => candidate.rows === rows);
    if (!row) throw new Error(`bench/model-cost.ts measured no ${rows}-row call`);
    return row;
  };
  const round = (us: number) => Math.round(us * 100) / 100;
  return { callUs: { '1': round(at(64).usPerRow), [BATCH_ROWS]: round(at(BATCH_ROWS).usPerCall) }, explainRowUs: round(at(BATCH_ROWS).explainUsPerRow) };
}

async function main(): Promise<void> {
  ensureWrk();
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });

  console.log('Model cost per onnxruntime call (pinned to one core):\n');
  const [costCommand, ...costArgs] = pinned('0', [process.execPath, '--import', 'tsx', join(ROOT, 'bench/model-cost.ts')]);
  const costOutput = execFileSync(costCommand!, costArgs, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).split('\n');
  console.log(costOutput.filter((line) => !line.startsWith(MODEL_COST_JSON_PREFIX)).join('\n'));
  const twinCost = twinFloorCost(JSON.parse(costOutput.find((line) => line.startsWith(MODEL_COST_JSON_PREFIX))!.slice(MODEL_COST_JSON_PREFIX.length)) as ModelCostRow[]);
  console.log(`Twin floor busy waits (µs): ${JSON.stringify(twinCost)}\n`);

  const service = serviceCommand();
  const nodeFlags = service.slice(1, -1);
  const tsxServer = (file: string) => [process.execPath, ...nodeFlags, '--import', 'tsx', join(ROOT, file)];
  const allServers: Server[] = [
    // Same node flags as the service; tsx only changes how the file is loaded, not how it runs.
    { name: BARE_FLOOR, command: tsxServer('bench/bare-floor-server.ts'), env: {} },
    { name: TWIN_FLOOR, command: tsxServer('bench/bare-floor-server.ts'), env: { TWIN_FLOOR_COST: JSON.stringify(twinCost) } },
    { name: SERVICE_FLOOR, command: tsxServer('bench/floor-server.ts'), env: {} },
    { name: BATCHED, command: service, env: {} },
    { name: 'service, micro-batching off', command: service, env: { MICRO_BATCHING: 'false' } },
    { name: SHARED_QUEUE, command: service, env: { MICRO_BATCH_MULTI_ROW: 'true' }, only: ['/predict/batch'] },
    { name: NO_DRIFT, command: service, env: { DRIFT_MONITORING: 'false' }, only: ['/predict', '/predict/batch'] },
    { name: NO_LOG, command: service, env: { PREDICTION_LOG: 'false' }, only: ['/predict', '/predict/batch'] },
    {
      name: SHADOW,
      command: service,
      env: { CHALLENGER_MODEL_PATH: join(ROOT, 'test/fixtures/challenger/churn_model.onnx'), CHALLENGER_MODE: 'shadow', CHALLENGER_SHARE: '1' },
      only: ['/predict', '/predict/batch'],
    },
    { name: 'service, WORKERS=2', command: service, env: { WORKERS: '2' } },
  ];
  const sink = process.env.BENCH_COMPARISON === 'tracing' ? await otlpSink() : undefined;
  if (sink) allServers.push(...tracingServers(service, sink.url));
  // Peak RSS and CPU under the batch endpoints, where the RSS target is, as a pod with the manifest's limit sees them.
  const podLimit = deploymentMemoryLimit(readFileSync(join(ROOT, 'deploy/k8s/deployment.yaml'), 'utf8'));
  const cgroup = memoryCgroup(`churn-bench-${process.pid}`, memoryQuantityBytes(podLimit));
  let podCgroup: MemoryCgroup | undefined;
  if ('unavailable' in cgroup) console.log(`${POD_LIMITED} (${podLimit}): not measured, ${cgroup.unavailable}\n`);
  else {
    podCgroup = cgroup;
    allServers.push({ name: POD_LIMITED, command: cgroup.wrap(service), env: {}, only: ['/predict/batch', '/predict/batch?explain=true'] });
  }
  const baselineCli = process.env.BENCH_BASELINE_CLI;
  if (baselineCli) allServers.push({ name: BASELINE, command: [...service.slice(0, -1), baselineCli], env: {}, only: CHURN_API_ENDPOINTS });
  const comparison = process.env.BENCH_COMPARISON === undefined || process.env.BENCH_COMPARISON === '' ? undefined : COMPARISONS[process.env.BENCH_COMPARISON];
  if (process.env.BENCH_COMPARISON && !comparison) throw new Error(`BENCH_COMPARISON must be one of ${Object.keys(COMPARISONS).join(', ')}`);
  const servers = allServers.filter((server) => (comparison ? comparison.servers.includes(server.name) : server.name !== SHADOW));
  const single = { ...EXAMPLE_CUSTOMER };
  const batchBody = { customers: Array.from({ length: BATCH_ROWS }, (_, index) => ({ ...single, tenure_months: index % 121 })) };
  // Explanations and the Open Inference Protocol are measured against the churn API's routes, on the default service.
  const explained = [BARE_FLOOR, TWIN_FLOOR, BATCHED, BASELINE, POD_LIMITED];
  const inferBody = (rows: { tenure_months: number }[]) => ({
    inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 5], data: rows.map((row) => [row.tenure_months, single.monthly_charges, single.total_charges, single.num_products, single.has_support_calls]) }],
  });
  const endpoints: Endpoint[] = [
    { path: '/predict', rows: 1, body: single },
    { path: '/predict/batch', rows: BATCH_ROWS, body: batchBody },
    { path: '/predict?explain=true', rows: 1, body: single, servers: explained },
    { path: '/predict/batch?explain=true', rows: BATCH_ROWS, body: batchBody, servers: explained },
    { path: V2_INFER_ONE, rows: 1, body: inferBody([single]), servers: explained },
    { path: V2_INFER_BATCH, rows: BATCH_ROWS, body: inferBody(batchBody.customers), servers: explained },
  ]
    .filter((endpoint) => !process.env.BENCH_ENDPOINT || endpoint.path === process.env.BENCH_ENDPOINT)
    .filter((endpoint) => !comparison || comparison.endpoints.includes(endpoint.path));

  const scratch = join(tmpdir(), `churn-bench-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  const bodyFiles = endpoints.map((endpoint, index) => {
    const file = join(scratch, `body-${index}.json`);
    writeFileSync(file, JSON.stringify(endpoint.body));
    return file;
  });

  // Rounds interleave the servers, so a noisy minute on this shared machine hits every server
  // alike instead of one; each ratio compares runs of the same round.
  const rounds: Result[][] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    const results: Result[] = [];
    for (const [index, endpoint] of endpoints.entries()) {
      for (const server of servers.filter((candidate) => (!candidate.only || candidate.only.includes(endpoint.path)) && (!endpoint.servers || endpoint.servers.includes(candidate.name)))) {
        let result: Result;
        for (let attempt = 1; ; attempt += 1) {
          process.stdout.write(`round ${round}/${ROUNDS}: ${server.name} on ${endpoint.path}... `);
          result = await measure(server, endpoint, bodyFiles[index]!, join(scratch, 'server.log'));
          console.log(`${fmt(result.requestsPerSecond)} req/s, p99 ${fmt(result.p99Ms, 2)} ms, ${fmt(result.cpuUsPerRequest, 1)} CPU us/req, steal ${fmt(result.stealPercent, 1)} %`);
          // A run during which the hypervisor took the cores away measures the neighbours, not us.
          if (result.stealPercent <= MAX_STEAL_PERCENT || attempt === MAX_ATTEMPTS) break;
          console.log(`  steal above ${MAX_STEAL_PERCENT} %: measuring again (${attempt}/${MAX_ATTEMPTS - 1})`);
        }
        results.push(result);
        if (result.non2xx > 0 || result.socketErrors > 0) {
          throw new Error(`${server.name} on ${endpoint.path}: ${result.non2xx} non-2xx answers, ${result.socketErrors} socket errors`);
        }
      }
    }
    rounds.push(results);
  }
  const summaries = summarize(rounds, endpoints);
  rmSync(scratch, { recursive: true, force: true });
  podCgroup?.remove();
  sink?.close();

  console.log(`\n${new Date().toISOString().slice(0, 10)}; wrk, ${CONNECTIONS} connections, ${DURATION}s after ${WARMUP}s warm-up, median of ${ROUNDS} interleaved rounds; ${PIN ? 'server pinned to core 0 (WORKERS=2 to cores 0-1), wrk to core 1' : 'unpinned (no taskset)'}; node ${process.version}; service: ${service.slice(1).map((arg) => arg.replace(ROOT, '')).join(' ')}\n`);
  const ratio = (value: number) => (Number.isFinite(value) ? `${fmt(value, 2)}x` : '–');
  console.log('| server | endpoint | req/s ÷ bare floor: median (min-max) | req/s ÷ twin floor: median (min-max) | req/s ÷ service floor | req/s | rows/s | p50 ms | p99 ms | p99 ÷ p50: median (min-max) | p99 ÷ bare | loop delay p99 ms | CPU µs/req | CPU ÷ bare | CPU ÷ twin | peak RSS MB | start ms | max steal % |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of summaries) {
    console.log(
      `| ${s.server} | ${s.endpoint} | **${ratio(s.vsBare.median)}** (${ratio(s.vsBare.min)}-${ratio(s.vsBare.max)}) | **${ratio(s.vsTwin.median)}** (${ratio(s.vsTwin.min)}-${ratio(s.vsTwin.max)}) | ${ratio(s.vsServiceFloor)} | ${fmt(s.requestsPerSecond)} | ${fmt(s.requestsPerSecond * s.rows)} | ${fmt(s.p50Ms, 2)} | ${fmt(s.p99Ms, 2)} | ${ratio(s.p99OverP50.median)} (${ratio(s.p99OverP50.min)}-${ratio(s.p99OverP50.max)}) | ${ratio(s.p99VsBare)} | ${fmt(s.loopDelayP99Ms, 2)} | ${fmt(s.cpuUsPerRequest, 1)} | ${ratio(s.cpuVsBare)} | ${ratio(s.cpuVsTwin)} | ${fmt(s.peakRssMb)} | ${fmt(s.startMs)} | ${fmt(s.stealPercent, 1)} |`,
    );
  }

  const resultsDir = join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, connections: CONNECTIONS, duration: DURATION, warmup: WARMUP, rounds, summaries, pinned: PIN }, null, 2));

  const get = (server: string, endpoint: string) => summaries.find((s) => s.server === server && s.endpoint === endpoint);
  const singleRow = get(BATCHED, '/predict');
  const batch = get(BATCHED, '/predict/batch');
  // This build's servers: the floors are references, and BENCH_BASELINE_CLI's figures are another build's.
  const services = summaries.filter((s) => !s.server.includes('floor') && s.server !== BASELINE);
  const checks: [string, boolean][] = [];
  const cpuVsFloors = (s: Summary) => {
    const bareCpu = get(BARE_FLOOR, s.endpoint)?.cpuUsPerRequest ?? Number.NaN;
    const twinCpu = get(TWIN_FLOOR, s.endpoint)?.cpuUsPerRequest ?? Number.NaN;
    return `CPU ${fmt(s.cpuUsPerRequest, 1)} µs/request against ${fmt(bareCpu, 1)} (bare floor) and ${fmt(twinCpu, 1)} (twin floor)`;
  };
  if (batch) {
    checks.push(
      [`/predict/batch (100 rows) p99 at most 3x its p50 at ${CONNECTIONS} connections: ${fmt(batch.p99Ms, 1)} ms vs ${fmt(batch.p50Ms, 1)} ms, ${ratio(batch.p99OverP50.median)} (rounds ${ratio(batch.p99OverP50.min)}-${ratio(batch.p99OverP50.max)})`, batch.p99OverP50.median <= 3],
      [`/predict/batch (100 rows) >= 0.8x the twin floor: ${ratio(batch.vsTwin.median)} (rounds ${ratio(batch.vsTwin.min)}-${ratio(batch.vsTwin.max)}); ${cpuVsFloors(batch)}`, batch.vsTwin.median >= 0.8],
      [`peak RSS under 200 MB under /predict/batch load: ${fmt(batch.peakRssMb)} MB`, batch.peakRssMb < 200],
    );
  }
  for (const path of ['/predict/batch', '/predict/batch?explain=true']) {
    const unlimited = rounds.map((round) => round.find((r) => r.server === BATCHED && r.endpoint === path));
    const limited = rounds.map((round) => round.find((r) => r.server === POD_LIMITED && r.endpoint === path));
    if (unlimited.some((r) => !r) || limited.some((r) => !r)) continue;
    const rss = spread(limited.map((r) => r!.peakRssMb));
    const cpu = spread(limited.map((r, round) => r!.cpuUsPerRequest / unlimited[round]!.cpuUsPerRequest));
    const throughput = spread(limited.map((r, round) => r!.requestsPerSecond / unlimited[round]!.requestsPerSecond));
    checks.push([
      `peak RSS under 200 MB under ${path} load in the deployment's memory limit (${podLimit}): ${fmt(rss.median)} MB (rounds ${fmt(rss.min)}-${fmt(rss.max)}; without the limit ${fmt(median(unlimited.map((r) => r!.peakRssMb)))}), ` +
        `at ${ratio(cpu.median)} the CPU µs per request (rounds ${ratio(cpu.min)}-${ratio(cpu.max)}) and ${ratio(throughput.median)} the requests/s (rounds ${ratio(throughput.min)}-${ratio(throughput.max)}) of the service without it`,
      rss.median < 200,
    ]);
  }
  if (singleRow) {
    checks.push([`/predict >= 0.9x the twin floor (amortised per-row model cost), every feature at defaults: ${ratio(singleRow.vsTwin.median)} (rounds ${ratio(singleRow.vsTwin.min)}-${ratio(singleRow.vsTwin.max)}); ${cpuVsFloors(singleRow)}`, singleRow.vsTwin.median >= 0.9]);
  }
  if (singleRow) {
    checks.push(
      [`/predict >= 1.0x the bare floor's requests/s (median of rounds): ${ratio(singleRow.vsBare.median)} (rounds ${ratio(singleRow.vsBare.min)}-${ratio(singleRow.vsBare.max)})`, singleRow.vsBare.median >= 1],
      [`/predict p99 no worse than the bare floor's: ${ratio(singleRow.p99VsBare)}`, singleRow.p99VsBare <= 1],
      [`event-loop delay p99 under 5 ms under /predict load: ${fmt(singleRow.loopDelayP99Ms, 2)} ms (service floor: ${fmt(get(SERVICE_FLOOR, '/predict')?.loopDelayP99Ms ?? NaN, 2)} ms)`, singleRow.loopDelayP99Ms < 5],
    );
  }
  if (batch) {
    checks.push([`/predict/batch (100 rows) >= 0.45x the bare floor: ${ratio(batch.vsBare.median)} (rounds ${ratio(batch.vsBare.min)}-${ratio(batch.vsBare.max)})`, batch.vsBare.median >= 0.45]);
    const shared = get(SHARED_QUEUE, '/predict/batch');
    if (shared) checks.push([`/predict/batch on its own model call is at least as fast as through the shared queue: ${ratio(batch.vsBare.median)} vs ${ratio(shared.vsBare.median)}`, batch.vsBare.median >= shared.vsBare.median]);
  }
  for (const [plain, withReasons] of [['/predict', '/predict?explain=true'], ['/predict/batch', '/predict/batch?explain=true']] as const) {
    const without = rounds.map((round) => round.find((r) => r.server === BATCHED && r.endpoint === plain));
    const withExplanations = rounds.map((round) => round.find((r) => r.server === BATCHED && r.endpoint === withReasons));
    if (without.some((r) => !r) || withExplanations.some((r) => !r)) continue;
    const ratios = spread(withExplanations.map((r, round) => r!.requestsPerSecond / without[round]!.requestsPerSecond));
    const cpu = median(withExplanations.map((r, round) => r!.cpuUsPerRequest - without[round]!.cpuUsPerRequest));
    checks.push([
      `${withReasons} keeps ${ratio(ratios.median)} of ${plain}'s requests/s (rounds ${ratio(ratios.min)}-${ratio(ratios.max)}); explanations add ${fmt(cpu, 1)} CPU µs per request`,
      true,
    ]);
  }
  for (const [churnApi, openInference] of [['/predict', V2_INFER_ONE], ['/predict/batch', V2_INFER_BATCH]] as const) {
    const churn = rounds.map((round) => round.find((r) => r.server === BATCHED && r.endpoint === churnApi));
    const v2 = rounds.map((round) => round.find((r) => r.server === BATCHED && r.endpoint === openInference));
    if (churn.some((r) => !r) || v2.some((r) => !r)) continue;
    const ratios = spread(v2.map((r, round) => r!.requestsPerSecond / churn[round]!.requestsPerSecond));
    checks.push([`${openInference} serves ${ratio(ratios.median)} of ${churnApi}'s requests/s, the same rows (rounds ${ratio(ratios.min)}-${ratio(ratios.max)})`, true]);
  }
  for (const path of ['/predict', '/predict/batch']) {
    const monitored = rounds.map((round) => round.find((r) => r.server === BATCHED && r.endpoint === path));
    const unmonitored = rounds.map((round) => round.find((r) => r.server === NO_DRIFT && r.endpoint === path));
    if (monitored.some((r) => !r) || unmonitored.some((r) => !r)) continue;
    const ratios = spread(monitored.map((r, round) => r!.requestsPerSecond / unmonitored[round]!.requestsPerSecond));
    checks.push([`${path} with drift monitoring keeps ${ratio(ratios.median)} of its requests/s without it (rounds ${ratio(ratios.min)}-${ratio(ratios.max)})`, true]);
  }
  for (const [path, target] of [['/predict', 0.9], ['/predict/batch', 0.85]] as const) {
    const logged = rounds.map((round) => round.find((r) => r.server === BATCHED && r.endpoint === path));
    const unlogged = rounds.map((round) => round.find((r) => r.server === NO_LOG && r.endpoint === path));
    if (logged.some((r) => !r) || unlogged.some((r) => !r)) continue;
    const ratios = spread(logged.map((r, round) => r!.requestsPerSecond / unlogged[round]!.requestsPerSecond));
    const cpu = median(logged.map((r, round) => r!.cpuUsPerRequest - unlogged[round]!.cpuUsPerRequest));
    const dropped = logged.reduce((sum, r) => sum + r!.logDropped, 0);
    const written = logged.reduce((sum, r) => sum + r!.logWritten, 0);
    checks.push([
      `${path} with the prediction log on (SQLite) keeps ${ratio(ratios.median)} of its requests/s with it off (rounds ${ratio(ratios.min)}-${ratio(ratios.max)}; target ${target}x); ` +
        `the log adds ${fmt(cpu, 1)} CPU µs per request; ${written} rows written, ${dropped} dropped over all rounds`,
      ratios.median >= target && dropped === 0,
    ]);
  }
  for (const path of ['/predict', '/predict/batch']) {
    const alone = rounds.map((round) => round.find((r) => r.server === BATCHED && r.endpoint === path));
    const shadowed = rounds.map((round) => round.find((r) => r.server === SHADOW && r.endpoint === path));
    if (alone.some((r) => !r) || shadowed.some((r) => !r)) continue;
    const ratios = spread(shadowed.map((r, round) => r!.requestsPerSecond / alone[round]!.requestsPerSecond));
    const p99 = spread(shadowed.map((r, round) => r!.p99Ms / alone[round]!.p99Ms));
    const cpu = median(shadowed.map((r, round) => r!.cpuUsPerRequest - alone[round]!.cpuUsPerRequest));
    const gated = path === '/predict';
    checks.push([
      `${path} with a shadow challenger at share 1 keeps ${ratio(ratios.median)} of its requests/s without one (rounds ${ratio(ratios.min)}-${ratio(ratios.max)}${gated ? '; target 0.8x' : ''}), ` +
        `p99 ${ratio(p99.median)} of it (rounds ${ratio(p99.min)}-${ratio(p99.max)}${gated ? '; target at most 1.5x' : ''}); the challenger adds ${fmt(cpu, 1)} CPU µs per request`,
      !gated || (ratios.median >= 0.8 && p99.median <= 1.5),
    ]);
  }
  checks.push(...tracingChecks(rounds), ...baselineChecks(rounds));
  const oneWorker = services.filter((s) => !s.server.includes('WORKERS'));
  checks.push(
    [`start to /health 200 under 1 s, one worker: ${fmt(Math.max(...oneWorker.map((s) => s.startMs)))} ms`, oneWorker.every((s) => s.startMs < 1000)],
    [`peak RSS under 150 MB per worker: ${fmt(Math.max(...services.map((s) => s.peakRssMb)))} MB`, services.every((s) => s.peakRssMb < 150)],
  );
  console.log('\nTargets:');
  for (const [label, ok] of checks) console.log(`  ${ok ? 'MET   ' : 'MISSED'} ${label}`);
  console.log(`\nraw results: ${file}`);
}

await main();
