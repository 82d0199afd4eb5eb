import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY, freePort, startServer, waitUntilHealthy } from './server-process.js';

const RECORDER = fileURLToPath(new URL('../fixtures/module-loads/record-module-loads.mjs', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'churn-module-loads-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Packages a start loads only when the configuration asks for what they do. (OpenTelemetry's API is
 * not one of them: prom-client loads it for its default metrics.)
 */
const ON_DEMAND = {
  'tracing SDK': '/node_modules/@opentelemetry/sdk-trace/',
  'tracing instrumentation': '/node_modules/@fastify/otel/',
  'PostgreSQL client': '/node_modules/pg/',
  'Redis client': '/node_modules/ioredis/',
  'terminal log format': '/node_modules/pino-pretty/',
};

/**
 * What no start needs: Node's bundled HTTP client (undici, behind fetch). An ES module import of
 * node:http loads it (src/http-status.ts says why): 2.1 MB of the service's live heap.
 */
const NEVER = { "Node's HTTP client (undici)": 'internal/deps/undici/' };

/** Starts the built command with `env` until it is healthy, stops it, and answers which on-demand (or never needed) packages it loaded. */
async function packagesLoaded(env: Record<string, string>, name: string): Promise<string[]> {
  const record = join(scratch, `${name}.txt`);
  const server = startServer({ ...env, RECORD_MODULE_LOADS: record }, await freePort(), ['--import', RECORDER, CLI_ENTRY]);
  try {
    await waitUntilHealthy(server);
  } finally {
    await server.stop();
  }
  const urls = readFileSync(record, 'utf8').split('\n');
  expect(urls.some((url) => url.includes('/node_modules/onnxruntime-node/')), 'the recorder saw the service load').toBe(true);
  return Object.entries({ ...ON_DEMAND, ...NEVER }).flatMap(([what, path]) => (urls.some((url) => url.includes(path)) ? [what] : []));
}

describe('what a start loads', () => {
  it('at the defaults: none of the packages only some deployments use, and no HTTP client', async () => {
    expect(await packagesLoaded({ LOG_LEVEL: 'warn' }, 'defaults')).toEqual([]);
  });

  it('each of them once its feature is configured (even when what it talks to is not there)', async () => {
    const configured = await packagesLoaded(
      {
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'pretty',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
        DATABASE_URL: 'postgres://churn@127.0.0.1:9/churn',
        RATE_LIMIT_PER_MINUTE: '1000',
        RATE_LIMIT_REDIS_URL: 'redis://127.0.0.1:9',
      },
      'configured',
    );
    expect(configured.sort()).toEqual(Object.keys(ON_DEMAND).sort());
  });
});
