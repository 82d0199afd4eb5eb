/**
 * npm run soak: the real server under bounded concurrent load for a minute, mixing valid single
 * and batch predictions (churn API and Open Inference Protocol) with invalid and oversized requests. Fails on any 5xx or socket error,
 * or when resident memory after a full garbage collection grows by more than 10 % after the warm-up
 * (the server is asked to collect every 5 s: without that, a minute is too short to tell a leak
 * from garbage the collector has not reached yet).
 *
 *   SOAK_SECONDS=60  SOAK_WARMUP_SECONDS=15  SOAK_CONCURRENCY=32
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { EXAMPLE_CUSTOMER } from '../src/schemas/customer-features.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const WARMUP_SECONDS = Number(process.env.SOAK_WARMUP_SECONDS ?? 15);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 32);
const MAX_RSS_GROWTH = 0.1;
const SAMPLE_EVERY_MS = 1_000;
const COLLECT_EVERY_MS = 5_000;

interface Kind {
  name: string;
  weight: number;
  path: string;
  body: () => string;
  contentType?: string;
  /** Statuses this kind may get; anything else is a failure. */
  expected: number[];
  /**
   * The server may answer and close before the client has sent the whole body (a body over the
   * limit is not read to its end), so the client can see EPIPE or ECONNRESET instead of the answer.
   */
  closedEarly?: boolean;
}

const customer = (index: number) => ({ ...EXAMPLE_CUSTOMER, customer_id: `soak-${index}`, tenure_months: index % 121, monthly_charges: (index * 7.3) % 500 });
const batch = JSON.stringify({ customers: Array.from({ length: 100 }, (_, index) => customer(index)) });
const invalidBodies = [
  JSON.stringify({ ...EXAMPLE_CUSTOMER, tenure_months: 999 }),
  JSON.stringify({ customers: Array.from({ length: 100 }, () => ({})) }),
  JSON.stringify({ ...EXAMPLE_CUSTOMER, monthly_charges: 'lots' }),
  '{"tenure_months": ',
  '['.repeat(5_000) + ']'.repeat(5_000),
  `{"__proto__": {"x": 1}, "tenure_months": 2}`,
];
const row = (index: number) => { const c = customer(index); return [c.tenure_months, c.monthly_charges, c.total_charges, c.num_products, c.has_support_calls]; };
const inferBody = (rows: number[][]) => JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 5], data: rows }] });
const inferBatch = inferBody(Array.from({ length: 100 }, (_, index) => row(index)));
const invalidInfers = [
  inferBody([[999, 1, 1, 1, 0]]),
  JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP64', shape: [1, 5], data: [1, 1, 1, 1, 0] }] }),
  JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 5], data: [1, 1, 1, 1, 0] }] }),
  JSON.stringify({ inputs: [] }),
];
const oversized = JSON.stringify({ ...EXAMPLE_CUSTOMER, padding: 'p'.repeat(1_100_000) });

const KINDS: Kind[] = [
  { name: 'valid /predict', weight: 50, path: '/predict', body: () => JSON.stringify(customer(Math.floor(Math.random() * 1e6))), expected: [200] },
  { name: 'valid /predict/batch', weight: 15, path: '/predict/batch', body: () => batch, expected: [200] },
  { name: 'invalid', weight: 25, path: '/predict', body: () => invalidBodies[Math.floor(Math.random() * invalidBodies.length)]!, expected: [400, 422] },
  { name: 'invalid batch', weight: 5, path: '/predict/batch', body: () => invalidBodies[Math.floor(Math.random() * invalidBodies.length)]!, expected: [400, 422] },
  { name: 'not JSON', weight: 3, path: '/predict', body: () => JSON.stringify(EXAMPLE_CUSTOMER), contentType: 'text/plain', expected: [415] },
  { name: 'valid V2 infer, 1 row', weight: 10, path: '/v2/models/churn/infer', body: () => inferBody([row(Math.floor(Math.random() * 1e6))]), expected: [200] },
  { name: 'valid V2 infer, 100 rows', weight: 3, path: '/v2/models/churn/infer', body: () => inferBatch, expected: [200] },
  { name: 'invalid V2 infer', weight: 5, path: '/v2/models/churn/infer', body: () => invalidInfers[Math.floor(Math.random() * invalidInfers.length)]!, expected: [400] },
  { name: 'oversized', weight: 2, path: '/predict', body: () => oversized, expected: [413], closedEarly: true },
];
const totalWeight = KINDS.reduce((sum, kind) => sum + kind.weight, 0);
const pick = () => {
  let roll = Math.random() * totalWeight;
  for (const kind of KINDS) if ((roll -= kind.weight) < 0) return kind;
  return KINDS[0]!;
};

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<void> {
  const port = await freePort();
  const memoryFile = join(tmpdir(), `churn-soak-memory-${process.pid}.jsonl`);
  const server = spawn(process.execPath, ['--max-semi-space-size=8', '--expose-gc', '--require', './bench/collect-garbage-on-signal.cjs', 'dist/server.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SOAK_MEMORY_FILE: memoryFile },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const counts = new Map<string, number>();
  const failures: string[] = [];
  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const started = Date.now();
  const deadline = started + SECONDS * 1000;

  const send = (kind: Kind) =>
    new Promise<void>((resolve) => {
      const body = kind.body();
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: kind.path, agent, headers: { 'content-type': kind.contentType ?? 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            count(`${kind.name} -> ${status}`);
            if (!kind.expected.includes(status)) failures.push(`${kind.name}: status ${status}`);
            resolve();
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        count(`${kind.name} -> ${error.code ?? 'error'}`);
        if (!(kind.closedEarly && (error.code === 'EPIPE' || error.code === 'ECONNRESET'))) failures.push(`${kind.name}: socket error ${error.code ?? error.message}`);
        resolve();
      });
      req.end(body);
    });

  const rss: { second: number; mb: number }[] = [{ second: 0, mb: rssMb(server.pid!) }];
  const sampler = setInterval(() => rss.push({ second: Math.round((Date.now() - started) / 1000), mb: rssMb(server.pid!) }), SAMPLE_EVERY_MS);
  const collector = setInterval(() => server.kill('SIGUSR2'), COLLECT_EVERY_MS);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) await send(pick());
    }),
  );
  clearInterval(sampler);
  clearInterval(collector);
  rss.push({ second: Math.round((Date.now() - started) / 1000), mb: rssMb(server.pid!) });
  agent.destroy();
  server.kill('SIGTERM');
  const [exitCode] = (await once(server, 'exit')) as [number | null];

  console.log(`\nsoak: ${SECONDS} s, ${CONCURRENCY} concurrent clients, node ${process.version}\n`);
  console.log('| request -> answer | count |\n|---|---|');
  for (const [key, value] of [...counts].sort()) console.log(`| ${key} | ${value} |`);
  console.log(`\nRSS (MB), every 5 s: ${rss.filter((sample, index) => index % 5 === 0 || index === rss.length - 1).map((sample) => `${sample.second}s ${sample.mb.toFixed(0)}`).join(', ')}`);
  const collected = (existsSync(memoryFile) ? readFileSync(memoryFile, 'utf8').trim().split('\n').filter(Boolean) : [])
    .map((line) => JSON.parse(line) as { time: number; rss: number; heapUsed: number })
    .map((sample) => ({ second: (sample.time - started) / 1000, rssMb: sample.rss / 2 ** 20, heapMb: sample.heapUsed / 2 ** 20 }));
  console.log(`After a full collection (MB, RSS / heap used): ${collected.map((sample) => `${sample.second.toFixed(0)}s ${sample.rssMb.toFixed(0)}/${sample.heapMb.toFixed(1)}`).join(', ')}`);
  // Growth compares typical levels after warm-up: the median of the last third of the samples
  // against the median of the first third.
  const afterWarmup = collected.filter((sample) => sample.second >= WARMUP_SECONDS);
  const third = Math.max(1, Math.floor(afterWarmup.length / 3));
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const growthOf = (pick: (sample: (typeof collected)[number]) => number) => {
    const early = median(afterWarmup.slice(0, third).map(pick));
    const late = median(afterWarmup.slice(-third).map(pick));
    return { early, late, growth: (late - early) / early };
  };
  const rssGrowth = afterWarmup.length >= 3 ? growthOf((sample) => sample.rssMb) : undefined;
  const heapGrowth = afterWarmup.length >= 3 ? growthOf((sample) => sample.heapMb) : undefined;
  if (rssGrowth && heapGrowth) {
    console.log(
      `After ${WARMUP_SECONDS} s of warm-up, after full collections: RSS median ${rssGrowth.early.toFixed(0)} MB in the first third, ${rssGrowth.late.toFixed(0)} MB in the last ` +
        `(${(rssGrowth.growth * 100).toFixed(1)} % growth; limit ${MAX_RSS_GROWTH * 100} %); heap used ${heapGrowth.early.toFixed(1)} -> ${heapGrowth.late.toFixed(1)} MB ` +
        `(${(heapGrowth.growth * 100).toFixed(1)} %); peak RSS without collecting ${Math.max(...rss.map((sample) => sample.mb)).toFixed(0)} MB`,
    );
  }
  const growth = rssGrowth?.growth ?? Number.NaN;
  const problems = [
    ...new Set(failures),
    ...(Number.isNaN(growth) ? ['too few memory samples after a full collection (is the run longer than the warm-up?)'] : []),
    ...(growth > MAX_RSS_GROWTH ? [`RSS after a full collection grew ${(growth * 100).toFixed(1)} % after warm-up`] : []),
    ...(exitCode !== 0 ? [`server exited ${exitCode} on SIGTERM`] : []),
  ];
  if (problems.length > 0) {
    console.log(`\nFAILED:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`\nPASSED: ${[...counts.values()].reduce((sum, value) => sum + value, 0)} requests, no 5xx, no socket error`);
}

await main();
