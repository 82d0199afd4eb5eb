import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BUNDLED_MODEL } from '../data-plane/model-fixtures.js';
import { VALID_CUSTOMER } from '../helpers.js';
import { metricTypes, parsePrometheus, sampleValue } from '../prometheus-text.js';
import { runKeepAliveClients } from './keep-alive-clients.js';
import { freePort, startServer, waitUntilEveryWorkerServes, type ServerProcess } from './server-process.js';

/** WORKERS=2 when workers die: the service keeps serving one model, and its counters never fall. */

interface LogLine {
  pid: number;
  msg: string;
  modelPath?: string;
  snapshotOf?: string;
}

const logLines = (server: ServerProcess) =>
  server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
const modelLoads = (server: ServerProcess) => logLines(server).filter((line) => line.msg === 'model loaded');
const readiness = async (server: ServerProcess) => (await fetch(`${server.baseUrl}/health/ready`)).json() as Promise<{ degraded: boolean; workers: { serving: number; starting: number; failed: number } }>;
const predict = (server: ServerProcess) => fetch(`${server.baseUrl}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify(VALID_CUSTOMER) });

let models: string;
let modelPath: string;
beforeEach(() => {
  // The bundled model with its card, in a directory the test may break.
  models = mkdtempSync(join(tmpdir(), 'churn-worker-failures-'));
  for (const name of [basename(BUNDLED_MODEL), 'model_card.json']) copyFileSync(join(dirname(BUNDLED_MODEL), name), join(models, name));
  modelPath = join(models, basename(BUNDLED_MODEL));
});
afterEach(() => rmSync(models, { recursive: true, force: true }));

/** Overwrites the model file with its first 20,000 bytes, and has the primary try to reload it (which every worker refuses). */
async function corruptModel(server: ServerProcess): Promise<void> {
  writeFileSync(modelPath, readFileSync(BUNDLED_MODEL).subarray(0, 20_000));
  server.child.kill('SIGHUP');
  await vi.waitFor(() => expect(server.output().match(/model reload failed; the current model keeps serving/g)).toHaveLength(2), { timeout: 10_000, interval: 50 });
}

/** Kills one worker with SIGKILL and waits for its replacement's model to load. */
async function killWorker(server: ServerProcess, pid: number): Promise<LogLine> {
  const loadsBefore = modelLoads(server).length;
  process.kill(pid, 'SIGKILL');
  await vi.waitFor(() => expect(modelLoads(server).length).toBeGreaterThan(loadsBefore), { timeout: 20_000, interval: 50 });
  return modelLoads(server).at(-1)!;
}

describe('WORKERS=2 when a worker dies', () => {
  it('with a corrupt model file, starts the replacement on the model its sibling serves; nothing stops', async () => {
    const server = startServer({ WORKERS: '2', MODEL_PATH: modelPath, LOG_LEVEL: 'info' }, await freePort());
    try {
      await waitUntilEveryWorkerServes(server);
      const served = ((await (await fetch(`${server.baseUrl}/model`)).json()) as { onnx_sha256: string }).onnx_sha256;
      await vi.waitFor(() => expect(modelLoads(server)).toHaveLength(2), { timeout: 5000, interval: 50 });
      const [first, second] = modelLoads(server) as [LogLine, LogLine];

      await corruptModel(server);
      const replacement = await killWorker(server, first.pid);
      expect(replacement).toMatchObject({ snapshotOf: modelPath });
      expect(replacement.modelPath).not.toBe(modelPath);
      expect(await waitUntilEveryWorkerServes(server)).toMatchObject({ degraded: false, workers: { serving: 2, starting: 0, failed: 0 } });

      // Every worker serves the model loaded at start, the one whose file is now broken.
      const models = new Set<string>();
      for (let call = 0; call < 20; call += 1) {
        const response = await fetch(`${server.baseUrl}/model`, { headers: { connection: 'close' } });
        models.add(((await response.json()) as { onnx_sha256: string }).onnx_sha256);
        expect((await predict(server)).status).toBe(200);
      }
      expect([...models]).toEqual([served]);
      // The one that served all along can die too.
      expect(await killWorker(server, second.pid)).toMatchObject({ snapshotOf: modelPath });
      await waitUntilEveryWorkerServes(server);
      expect(server.output()).not.toContain('stopping the service');

      expect(await server.stop()).toBe(0);
      // The primary's snapshots go with it.
      expect(existsSync(dirname(dirname(replacement.modelPath!)))).toBe(false);
    } finally {
      await server.stop('SIGKILL');
    }
  }, 60_000);

  it('while the replacement cannot start, the other worker serves, degraded; a good reload brings every worker back', async () => {
    const server = startServer({ WORKERS: '2', MODEL_PATH: modelPath, LOG_LEVEL: 'info' }, await freePort());
    try {
      await waitUntilEveryWorkerServes(server);
      await vi.waitFor(() => expect(modelLoads(server)).toHaveLength(2), { timeout: 5000, interval: 50 });
      const [first] = modelLoads(server) as [LogLine];
      await corruptModel(server);
      const replacement = await killWorker(server, first.pid);
      await waitUntilEveryWorkerServes(server);
      // Its snapshot is lost too: the next replacement has nothing it can load.
      rmSync(dirname(replacement.modelPath!), { recursive: true, force: true });
      process.kill(replacement.pid, 'SIGKILL');

      await vi.waitFor(async () => expect(await readiness(server)).toMatchObject({ degraded: true, workers: { serving: 1 } }), { timeout: 20_000, interval: 100 });
      await vi.waitFor(() => expect(server.output()).toContain('a worker failed to start; degraded: the others keep serving, and it is started again after a back-off'), { timeout: 20_000, interval: 100 });
      const response = await fetch(`${server.baseUrl}/health/ready`);
      expect(response.status).toBe(200);
      for (let call = 0; call < 5; call += 1) expect((await predict(server)).status).toBe(200);
      const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
      expect(sampleValue(metrics, 'churn_cluster_degraded')).toBe(1);
      expect(sampleValue(metrics, 'churn_workers', { state: 'serving' })).toBe(1);

      // A good model at MODEL_PATH, reloaded by the worker that serves: the one that failed starts on it.
      copyFileSync(BUNDLED_MODEL, modelPath);
      server.child.kill('SIGHUP');
      expect(await waitUntilEveryWorkerServes(server)).toMatchObject({ degraded: false, workers: { serving: 2, starting: 0, failed: 0 } });
      await vi.waitFor(() => expect(server.output()).toContain('every worker is serving again'), { timeout: 5000, interval: 100 });
      expect(server.output()).not.toContain('stopping the service');
      expect(await server.stop()).toBe(0);
    } finally {
      await server.stop('SIGKILL');
    }
  }, 90_000);

  it('never lets a server-wide counter fall, and the first scrape does not wait for the replacement', async () => {
    const port = await freePort();
    const server = startServer({ WORKERS: '2', LOG_LEVEL: 'info' }, port);
    try {
      await waitUntilEveryWorkerServes(server);
      // Requests on many connections, until both workers have answered some.
      const answeredBy = () => new Set(logLines(server).filter((line) => line.msg === 'request completed').map((line) => line.pid));
      for (let attempt = 0; answeredBy().size < 2 && attempt < 20; attempt += 1) {
        await runKeepAliveClients(port, 8, (() => { let calls = 0; return () => calls++ >= 40; })());
        await new Promise((resolve) => setTimeout(resolve, 1100));
      }
      expect(answeredBy().size).toBe(2);
      const before = await (await fetch(`${server.baseUrl}/metrics`)).text();
      const [victim] = answeredBy() as Set<number>;

      process.kill(victim!, 'SIGKILL');
      // As soon as the primary has seen it die, while its replacement may still be loading.
      await vi.waitFor(() => expect(server.output()).toMatch(new RegExp(`"pid":${victim},[^\\n]*"msg":"worker died; starting a replacement"`)), { timeout: 10_000, interval: 20 });
      const scrape = await fetch(`${server.baseUrl}/metrics`);
      const after = await scrape.text();
      expect(scrape.status, after).toBe(200);

      const counterFamilies = Object.entries(metricTypes(before)).filter(([, type]) => type === 'counter' || type === 'histogram').map(([name]) => name);
      const counters = parsePrometheus(before).filter((sample) => counterFamilies.some((family) => sample.name === family || sample.name.startsWith(`${family}_`)));
      expect(counters.length).toBeGreaterThan(100);
      for (const sample of counters) {
        expect(sampleValue(after, sample.name, sample.labels), `${sample.name} ${JSON.stringify(sample.labels)}`).toBeGreaterThanOrEqual(sample.value);
      }
      expect(sampleValue(after, 'http_requests_total', { route: '/predict', status_code: '200' })).toBe(sampleValue(before, 'http_requests_total', { route: '/predict', status_code: '200' }));
      expect(await server.stop()).toBe(0);
    } finally {
      await server.stop('SIGKILL');
    }
  }, 90_000);

  it('without a writable temporary directory, serves as before: replacements load MODEL_PATH, and a warning says so', async () => {
    const server = startServer({ WORKERS: '2', MODEL_PATH: modelPath, LOG_LEVEL: 'info', TMPDIR: join(models, 'no-such-directory') }, await freePort());
    try {
      await waitUntilEveryWorkerServes(server);
      await vi.waitFor(() => expect(modelLoads(server)).toHaveLength(2), { timeout: 5000, interval: 50 });
      expect(server.output()).toContain('no directory for model snapshots; a replacement worker loads MODEL_PATH');
      const replacement = await killWorker(server, modelLoads(server)[0]!.pid);
      expect(replacement).toMatchObject({ modelPath });
      expect(replacement.snapshotOf).toBeUndefined();
      await waitUntilEveryWorkerServes(server);
      expect(await server.stop()).toBe(0);
    } finally {
      await server.stop('SIGKILL');
    }
  }, 60_000);
});
