import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LINEAR_MODEL, versionedModels, withMetadata, writeModelVersion, type VersionedModels } from '../data-plane/model-fixtures.js';
import { VALID_CUSTOMER } from '../helpers.js';
import { sampleValue } from '../prometheus-text.js';
import { runKeepAliveClients, type RequestOutcome } from './keep-alive-clients.js';
import { freePort, startServer, waitUntilEveryWorkerServes, waitUntilHealthy } from './server-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'e2e-admin-token-0123456789';
let models: VersionedModels;
beforeAll(() => {
  models = versionedModels(['5.0.0', '5.0.0']);
});
afterAll(() => models?.remove());

const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Each client's answers never step back from the new version to the old one. */
function expectVersionsMoveForward(outcomes: RequestOutcome[], before: string, after: string) {
  for (let client = 0; client < 32; client += 1) {
    const versions = outcomes.filter((outcome) => outcome.client === client).map((outcome) => outcome.modelVersion);
    const firstNew = versions.indexOf(after);
    expect(versions.slice(firstNew === -1 ? versions.length : firstNew).every((version) => version === after), `client ${client}: ${versions.join(',')}`).toBe(true);
    expect(new Set(versions)).toEqual(new Set(firstNew > 0 ? [before, after] : [after]));
  }
}

describe('npm start', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('takes the command line\'s flags, and stops the server when npm gets %s', async (signal) => {
    const port = await freePort();
    const ignored = await freePort();
    // --ignore-scripts skips the prestart build: other tests are running dist/ meanwhile. The flags
    // after -- reach the server and win over the environment (PORT is another port here).
    const npm = spawn('npm', ['start', '--ignore-scripts', '--silent', '--', '--port', String(port)], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(ignored), HOST: '127.0.0.1', LOG_LEVEL: 'info', PREDICTION_LOG: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(npm, 'exit');
    const server = { child: npm, baseUrl: `http://127.0.0.1:${port}`, output: () => output } as Parameters<typeof waitUntilHealthy>[0];
    await waitUntilHealthy(server);
    // Log lines are written in chunks at least once a second.
    await vi.waitFor(() => expect(output).toContain(`"msg":"serving on http://127.0.0.1:${port}, docs at http://127.0.0.1:${port}/docs (press Ctrl-C to quit)"`), { timeout: 5000 });
    const serverPid = Number(/"pid":(\d+)/.exec(output)?.[1]);
    expect(serverPid).toBeGreaterThan(0);
    expect(serverPid).not.toBe(npm.pid);
    npm.kill(signal);
    await exited;
    await vi.waitFor(() => expect(processAlive(serverPid), output).toBe(false), { timeout: 5000, interval: 50 });
    expect(output).toContain('"msg":"shutdown complete"');
    await expect(fetch(`${server.baseUrl}/health/live`)).rejects.toThrow();
  });
});

describe('start-up', () => {
  it('reports a port in use in one readable line', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as { port: number };
    try {
      const server = startServer({}, port);
      expect(await server.exited).toBe(1);
      const lines = server.stderr().split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 60, msg: `Cannot listen on 127.0.0.1:${port}: the port is already in use.` });
    } finally {
      blocker.close();
    }
  });

  it('warns once about a deprecated variable, in order with the other start-up lines', async () => {
    const server = startServer({ BATCH_MAX_DELAY_MS: '1' }, await freePort());
    await waitUntilHealthy(server);
    expect(await server.stop()).toBe(0);
    const messages = server.output().split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages[0]).toBe('BATCH_MAX_DELAY_MS is deprecated; use MICRO_BATCH_MAX_DELAY_MS.');
    expect(messages.indexOf('model loaded')).toBeLessThan(messages.indexOf('shutting down: draining'));
    expect(messages.at(-1)).toBe('shutdown complete');
  });
});

describe.each([1, 2])('with WORKERS=%i', (workers) => {
  it('reloads another model file under load with POST /admin/reload: no failed request, versions and answers move forward', async () => {
    const model = models.paths[workers - 1]!;
    writeModelVersion(model, '5.0.0');
    const port = await freePort();
    // The new model comes without a card, so the server must allow that.
    const server = startServer({ WORKERS: String(workers), MODEL_PATH: model, ADMIN_TOKEN: TOKEN, ALLOW_MODEL_WITHOUT_CARD: 'true' }, port);
    try {
      // Each worker's reload is checked: all of them must be serving first.
      await waitUntilEveryWorkerServes(server);
      let stop = false;
      const load = runKeepAliveClients(port, 32, () => stop);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Another model (a logistic regression instead of the trees), put in place as an operator
      // should: written beside the old file and renamed over it; the old model's card goes.
      writeFileSync(`${model}.new`, withMetadata(readFileSync(LINEAR_MODEL), { model_version: '5.1.0' }));
      renameSync(`${model}.new`, model);
      rmSync(join(dirname(model), 'model_card.json'));
      const response = await fetch(`${server.baseUrl}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      const reloadedAt = Date.now();
      const body = (await response.json()) as { status: string; model_version: string; workers: { pid: number; status: string }[] };
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({ status: 'reloaded', model_version: '5.1.0' });
      expect(body.workers).toHaveLength(workers);
      expect(new Set(body.workers.map((worker) => worker.pid)).size).toBe(workers);
      await new Promise((resolve) => setTimeout(resolve, 300));
      stop = true;
      const outcomes = await load;
      expect(outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
      expect(outcomes.filter((outcome) => outcome.at > reloadedAt + 50 && outcome.modelVersion !== '5.1.0')).toEqual([]);
      expectVersionsMoveForward(outcomes, '5.0.0', '5.1.0');
      // Each version's answers come from its own model: one probability per version for the same customer, and they differ.
      const probabilities = (version: string) => new Set(outcomes.filter((outcome) => outcome.modelVersion === version && outcome.churnProbability !== undefined).map((outcome) => outcome.churnProbability));
      expect(probabilities('5.0.0').size).toBe(1);
      expect(probabilities('5.1.0').size).toBe(1);
      expect([...probabilities('5.1.0')][0]).not.toBe([...probabilities('5.0.0')][0]);
      // Every worker reports the swap in one server-wide scrape.
      const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
      expect(sampleValue(metrics, 'churn_model_loads_total', { trigger: 'reload', outcome: 'success' })).toBe(workers);
      expect(sampleValue(metrics, 'churn_model_info', { model_version: '5.1.0' })).toBe(1);
      expect(sampleValue(metrics, 'churn_model_info', { model_version: '5.0.0' })).toBeUndefined();
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('reloads on SIGHUP, and keeps serving when the new file is bad, each worker saying so', async () => {
    const model = models.paths[workers - 1]!;
    writeModelVersion(model, '6.0.0');
    const port = await freePort();
    const server = startServer({ WORKERS: String(workers), MODEL_PATH: model, ADMIN_TOKEN: TOKEN }, port);
    try {
      // Each worker's reload is checked: all of them must be serving first.
      await waitUntilEveryWorkerServes(server);
      const version = async () => ((await (await fetch(`${server.baseUrl}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(VALID_CUSTOMER) })).json()) as { model_version: string }).model_version;
      writeModelVersion(model, '6.1.0');
      server.child.kill('SIGHUP');
      const loads = () => (server.output().match(/"trigger":"reload"[^\n]*"msg":"model loaded"/g) ?? []).length;
      await vi.waitFor(() => expect(loads()).toBe(workers), { timeout: 10_000, interval: 50 });
      for (let call = 0; call < 10; call += 1) expect(await version()).toBe('6.1.0');

      writeFileSync(model, 'not a model');
      server.child.kill('SIGHUP');
      const failures = () => (server.output().match(/model reload failed; the current model keeps serving/g) ?? []).length;
      await vi.waitFor(() => expect(failures()).toBe(workers), { timeout: 10_000, interval: 50 });
      for (let call = 0; call < 10; call += 1) expect(await version()).toBe('6.1.0');

      // The admin call reports the same failure from every worker, by pid.
      const response = await fetch(`${server.baseUrl}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      const body = (await response.json()) as { status: string; message: string; workers: { pid: number; status: string }[] };
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(body.status).toBe('failed');
      expect(body.message).toMatch(new RegExp(`^${workers} of ${workers} workers kept their current model: Model at .* is not a valid ONNX model`));
      expect(body.workers.map((worker) => worker.status)).toEqual(Array(workers).fill('failed'));
      expect(new Set(body.workers.map((worker) => worker.pid)).size).toBe(workers);
      expect(await version()).toBe('6.1.0');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('metrics with WORKERS=2', () => {
  it('one scrape counts the requests of both workers', async () => {
    const port = await freePort();
    const server = startServer({ WORKERS: '2' }, port);
    try {
      await waitUntilEveryWorkerServes(server);
      let served = 0;
      let rows = 0;
      const pids = new Set<string>();
      for (let attempt = 0; pids.size < 2 && attempt < 20; attempt += 1) {
        const outcomes = await runKeepAliveClients(port, 8, (() => { let calls = 0; return () => calls++ >= 8 * 5; })());
        expect(outcomes.every((outcome) => outcome.status === 200)).toBe(true);
        served += outcomes.length;
        rows += outcomes.length + 2 * outcomes.filter((outcome) => Number(outcome.id.split('-').at(-1)) % 4 === 3).length;
        // Log lines reach the output within a second (buffered writes).
        await new Promise((resolve) => setTimeout(resolve, 1100));
        for (const match of server.output().matchAll(/"pid":(\d+),[^\n]*"msg":"request completed"/g)) pids.add(match[1]!);
      }
      expect(pids.size).toBe(2);
      for (let scrape = 0; scrape < 3; scrape += 1) {
        const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
        const counted = (sampleValue(metrics, 'http_requests_total', { route: '/predict', status_code: '200' }) ?? 0) + (sampleValue(metrics, 'http_requests_total', { route: '/predict/batch', status_code: '200' }) ?? 0);
        expect(counted).toBe(served);
        expect(sampleValue(metrics, 'churn_model_loads_total', { trigger: 'startup', outcome: 'success' })).toBe(2);
        // Drift counts every worker's rows too: the batches carry 3 customers each.
        expect(sampleValue(metrics, 'churn_drift_window_rows')).toBe(rows);
      }
      const drift = (await (await fetch(`${server.baseUrl}/monitoring/drift`)).json()) as { window: { rows: number } };
      expect(drift.window.rows).toBe(rows);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('drift with WORKERS=2', () => {
  it('the primary warns once when a feature drifts, from both workers\' counts', async () => {
    const port = await freePort();
    const server = startServer({ WORKERS: '2', DRIFT_CHECK_INTERVAL_MS: '200', DRIFT_MIN_ROWS: '200' }, port);
    try {
      await waitUntilHealthy(server);
      // Tenures of 0 to 3 months only, spread over both workers by many connections.
      const shifted = Array.from({ length: 100 }, (_, index) => ({ ...VALID_CUSTOMER, tenure_months: index % 4, monthly_charges: 20 + (index % 90) }));
      await Promise.all(Array.from({ length: 6 }, () => fetch(`${server.baseUrl}/predict/batch`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify({ customers: shifted }) })));
      const warnings = () => server.output().split('\n').filter((line) => line.includes('"msg":"drift: tenure_months is significant"'));
      await vi.waitFor(() => expect(warnings()).not.toHaveLength(0), { timeout: 10_000, interval: 100 });
      expect(warnings()).toHaveLength(1);
      expect(JSON.parse(warnings()[0]!)).toMatchObject({ pid: server.child.pid, level: 40, feature: 'tenure_months', to: 'significant' });
      const drift = (await (await fetch(`${server.baseUrl}/monitoring/drift`)).json()) as { window: { rows: number } };
      expect(drift.window.rows).toBe(600);
    } finally {
      expect(await server.stop(), server.output()).toBe(0);
    }
  });
});

