/**
 * npm run soak: the real server under bounded concurrent load for a minute, mixing valid single
 * and batch predictions with invalid and oversized requests. Fails on any 5xx or socket error,
 * or when resident memory grows by more than 10 % after the warm-up.
 *
 *   SOAK_SECONDS=60  SOAK_WARMUP_SECONDS=15  SOAK_CONCURRENCY=32
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
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

interface Kind {
  name: string;
  weight: number;
  path: string;
  body: () => string;
  contentType?: string;
  /** Statuses this kind may get; anything else is a failure. */
  expected: number[];
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
const oversized = JSON.stringify({ ...EXAMPLE_CUSTOMER, padding: 'p'.repeat(1_100_000) });

const KINDS: Kind[] = [
  { name: 'valid /predict', weight: 50, path: '/predict', body: () => JSON.stringify(customer(Math.floor(Math.random() * 1e6))), expected: [200] },
  { name: 'valid /predict/batch', weight: 15, path: '/predict/batch', body: () => batch, expected: [200] },
  { name: 'invalid', weight: 25, path: '/predict', body: () => invalidBodies[Math.floor(Math.random() * invalidBodies.length)]!, expected: [400, 422] },
  { name: 'invalid batch', weight: 5, path: '/predict/batch', body: () => invalidBodies[Math.floor(Math.random() * invalidBodies.length)]!, expected: [400, 422] },
  { name: 'not JSON', weight: 3, path: '/predict', body: () => JSON.stringify(EXAMPLE_CUSTOMER), contentType: 'text/plain', expected: [415] },
  { name: 'oversized', weight: 2, path: '/predict', body: () => oversized, expected: [413] },
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
  const server = spawn(process.execPath, ['--max-semi-space-size=8', 'dist/server.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
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
        failures.push(`${kind.name}: socket error ${error.code ?? error.message}`);
        resolve();
      });
      req.end(body);
    });

  const rss: { second: number; mb: number }[] = [{ second: 0, mb: rssMb(server.pid!) }];
  const sampler = setInterval(() => rss.push({ second: Math.round((Date.now() - started) / 1000), mb: rssMb(server.pid!) }), SAMPLE_EVERY_MS);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) await send(pick());
    }),
  );
  clearInterval(sampler);
  rss.push({ second: Math.round((Date.now() - started) / 1000), mb: rssMb(server.pid!) });
  agent.destroy();
  server.kill('SIGTERM');
  const [exitCode] = (await once(server, 'exit')) as [number | null];

  console.log(`\nsoak: ${SECONDS} s, ${CONCURRENCY} concurrent clients, node ${process.version}\n`);
  console.log('| request -> answer | count |\n|---|---|');
  for (const [key, value] of [...counts].sort()) console.log(`| ${key} | ${value} |`);
  console.log(`\nRSS (MB), every 5 s: ${rss.filter((sample, index) => index % 5 === 0 || index === rss.length - 1).map((sample) => `${sample.second}s ${sample.mb.toFixed(0)}`).join(', ')}`);
  // The heap breathes with garbage collection, so growth compares typical levels, not one peak:
  // the median of the last third of the samples after warm-up against the median of the first.
  const afterWarmup = rss.filter((sample) => sample.second >= WARMUP_SECONDS).map((sample) => sample.mb);
  const third = Math.max(1, Math.floor(afterWarmup.length / 3));
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const early = median(afterWarmup.slice(0, third));
  const late = median(afterWarmup.slice(-third));
  const growth = (late - early) / early;
  console.log(`RSS after ${WARMUP_SECONDS} s of warm-up: median ${early.toFixed(0)} MB in the first third, ${late.toFixed(0)} MB in the last (${(growth * 100).toFixed(1)} % growth; limit ${MAX_RSS_GROWTH * 100} %), peak ${Math.max(...afterWarmup).toFixed(0)} MB`);
  const problems = [
    ...new Set(failures),
    ...(growth > MAX_RSS_GROWTH ? [`RSS grew ${(growth * 100).toFixed(1)} % after warm-up`] : []),
    ...(exitCode !== 0 ? [`server exited ${exitCode} on SIGTERM`] : []),
  ];
  if (problems.length > 0) {
    console.log(`\nFAILED:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`\nPASSED: ${[...counts.values()].reduce((sum, value) => sum + value, 0)} requests, no 5xx, no socket error`);
}

await main();
