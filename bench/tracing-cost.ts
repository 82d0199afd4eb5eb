/**
 * npx tsx bench/tracing-cost.ts: the CPU a request costs with tracing off, on at 100 % and at 1 %
 * sampling, in process (app.inject, no sockets), exporting to a sink in this process. Rounds
 * interleave the three so a noisy minute hits each alike; ratios are taken within a round.
 *
 *   TRACING_COST_REQUESTS=3000  requests measured per run (after a tenth as many of warm-up)
 *   TRACING_COST_ROUNDS=5       TRACING_COST_CONCURRENCY=16 requests in flight (micro-batched)
 */
import { createServer } from 'node:http';
import { Writable } from 'node:stream';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { EXAMPLE_CUSTOMER } from '../src/schemas/customer-features.js';

const REQUESTS = Number(process.env.TRACING_COST_REQUESTS ?? 3000);
const ROUNDS = Number(process.env.TRACING_COST_ROUNDS ?? 5);
const CONCURRENCY = Number(process.env.TRACING_COST_CONCURRENCY ?? 16);

const sink = createServer((request, response) => {
  request.resume();
  request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}`;

const ALL_MODES: Record<string, Record<string, string>> = {
  off: {},
  'on, 100 %': { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' },
  'on, 1 %': { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' },
};

/** TRACING_COST_ONLY=off|100|1 runs one mode alone (to profile it). */
const only = process.env.TRACING_COST_ONLY;
const MODES = Object.fromEntries(Object.entries(ALL_MODES).filter(([mode]) => !only || mode === 'off' || mode.includes(` ${only} %`)));

async function measure(env: Record<string, string>): Promise<{ cpuUs: number; wallMs: number }> {
  const config = loadConfig({ PREDICTION_LOG: 'false', LOG_LEVEL: 'info', ...env });
  const app = await buildApp({ config, logStream: new Writable({ write: (_chunk, _encoding, done) => done() }) });
  await app.ready();
  const payload = JSON.stringify(EXAMPLE_CUSTOMER);
  const run = async (count: number) => {
    let sent = 0;
    const worker = async () => {
      while (sent < count) {
        sent += 1;
        const response = await app.inject({ method: 'POST', url: '/predict', payload, headers: { 'content-type': 'application/json' } });
        if (response.statusCode !== 200) throw new Error(`answered ${response.statusCode}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  };
  await run(Math.ceil(REQUESTS / 10));
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run(REQUESTS);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  await app.close();
  return { cpuUs: (used.user + used.system) / REQUESTS, wallMs };
}

const results: Record<string, number[]> = Object.fromEntries(Object.keys(MODES).map((mode) => [mode, []]));
const ratios: Record<string, number[]> = Object.fromEntries(Object.keys(MODES).map((mode) => [mode, []]));
for (let round = 1; round <= ROUNDS; round += 1) {
  const cpu: Record<string, number> = {};
  for (const [mode, env] of Object.entries(MODES)) {
    cpu[mode] = (await measure(env)).cpuUs;
    results[mode]!.push(cpu[mode]!);
    ratios[mode]!.push(cpu[mode]! / cpu.off!);
  }
  console.log(`round ${round}/${ROUNDS}: ${Object.entries(cpu).map(([mode, us]) => `${mode} ${us.toFixed(1)} CPU µs/req`).join(', ')}`);
}
sink.close();

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const spread = (values: number[]) => {
  const s = sorted(values);
  return `${s[Math.floor(s.length / 2)]!.toFixed(2)}x (${s[0]!.toFixed(2)}-${s.at(-1)!.toFixed(2)})`;
};
console.log(`\nPOST /predict through app.inject, ${CONCURRENCY} in flight, ${REQUESTS} requests per run, ${ROUNDS} interleaved rounds; node ${process.version}\n`);
console.log('| tracing | CPU µs/req, median | ÷ off, median (min-max) |');
console.log('|---|---|---|');
for (const mode of Object.keys(MODES)) console.log(`| ${mode} | ${sorted(results[mode]!)[Math.floor(ROUNDS / 2)]!.toFixed(1)} | ${spread(ratios[mode]!)} |`);
