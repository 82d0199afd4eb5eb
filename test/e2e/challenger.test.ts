import { cpSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { versionedModels, type VersionedModels } from '../data-plane/model-fixtures.js';
import { runKeepAliveClients, type RequestOutcome } from './keep-alive-clients.js';
import { freePort, startServer, waitUntilEveryWorkerServes } from './server-process.js';

const TOKEN = 'e2e-admin-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
let models: VersionedModels;
beforeAll(() => {
  models = versionedModels(['7.0.0', '7.1.0', '7.0.0', '7.1.0', '7.0.0', '7.1.0']);
});
afterAll(() => models?.remove());

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Each client's answers never step back from `after` to `before` once it has seen `after`. */
function expectVersionsMoveForward(outcomes: readonly RequestOutcome[], before: string, after: string) {
  for (const client of new Set(outcomes.map((outcome) => outcome.client))) {
    const versions = outcomes.filter((outcome) => outcome.client === client).map((outcome) => outcome.modelVersion);
    const firstNew = versions.indexOf(after);
    expect(versions.slice(firstNew === -1 ? versions.length : firstNew).every((version) => version === after), `client ${client}: ${versions.join(',')}`).toBe(true);
    expect(versions.every((version) => version === before || version === after)).toBe(true);
  }
}

describe('the challenger with WORKERS=2', () => {
  it('loads a shadow challenger and promotes it under 32 keep-alive clients: no failed request, versions never step back; promoting again rolls back', async () => {
    const [champion, challenger] = models.paths as [string, string];
    const port = await freePort();
    const server = startServer({ WORKERS: '2', MODEL_PATH: champion, ADMIN_TOKEN: TOKEN }, port);
    try {
      await waitUntilEveryWorkerServes(server);
      let stop = false;
      const load = runKeepAliveClients(port, 32, () => stop);
      await pause(300);
      const loaded = await fetch(`${server.baseUrl}/admin/challenger`, { method: 'PUT', headers: AUTH, body: JSON.stringify({ path: challenger, mode: 'shadow', share: 1 }) });
      const loadedBody = (await loaded.json()) as { status: string; workers: { pid: number; status: string }[] };
      expect(loaded.status, JSON.stringify(loadedBody)).toBe(200);
      expect(loadedBody.workers.map((worker) => worker.status)).toEqual(['done', 'done']);
      await pause(300);
      const shadowedUntil = Date.now();
      const promoted = await fetch(`${server.baseUrl}/admin/challenger/promote`, { method: 'POST', headers: { authorization: AUTH.authorization } });
      const promotedAt = Date.now();
      const promotedBody = (await promoted.json()) as { status: string; action: string; champion: { version: string }; challenger: { version: string; mode: string }; workers: unknown[] };
      expect(promoted.status, JSON.stringify(promotedBody)).toBe(200);
      expect(promotedBody).toMatchObject({ status: 'done', action: 'promote', champion: { version: '7.1.0' }, challenger: { version: '7.0.0', mode: 'shadow' } });
      expect(promotedBody.workers).toHaveLength(2);
      await pause(300);
      stop = true;
      const outcomes = await load;
      expect(outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
      // In shadow the champion answered every caller.
      expect(outcomes.filter((outcome) => outcome.at < shadowedUntil && outcome.modelVersion !== '7.0.0')).toEqual([]);
      expect(outcomes.filter((outcome) => outcome.at > promotedAt + 50 && outcome.modelVersion !== '7.1.0')).toEqual([]);
      expectVersionsMoveForward(outcomes, '7.0.0', '7.1.0');

      // Naming the promoted model, the same promotion again changes no worker: it is their champion already.
      const promotedSha = (promotedBody.champion as { sha256?: string }).sha256;
      const repeated = await fetch(`${server.baseUrl}/admin/challenger/promote?sha256=${promotedSha}`, { method: 'POST', headers: { authorization: AUTH.authorization } });
      expect(await repeated.json()).toMatchObject({ status: 'done', champion: { version: '7.1.0' }, challenger: { version: '7.0.0' }, workers: [{ status: 'done' }, { status: 'done' }] });

      const rolledBack = await fetch(`${server.baseUrl}/admin/challenger/promote`, { method: 'POST', headers: { authorization: AUTH.authorization } });
      expect(await rolledBack.json()).toMatchObject({ status: 'done', action: 'rollback', champion: { version: '7.0.0' }, challenger: { version: '7.1.0' } });
      // Every worker (new connections land on either) serves the rolled-back champion and lists the same history.
      for (let call = 0; call < 8; call += 1) {
        const model = (await (await fetch(`${server.baseUrl}/model`, { headers: { connection: 'close' } })).json()) as { model_version: string; rollout_history: { action: string }[] };
        expect(model.model_version).toBe('7.0.0');
        expect(model.rollout_history.map((event) => event.action)).toEqual(['load', 'promote', 'rollback']);
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('starts a replacement worker after a promotion with the promoted champion and the old one as its challenger, even with the challenger\'s file gone', async () => {
    const [champion, challenger] = models.paths.slice(2) as [string, string];
    const port = await freePort();
    const server = startServer({ WORKERS: '2', MODEL_PATH: champion, ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'info' }, port);
    const lines = () => server.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; pid: number; modelVersion?: string; mode?: string });
    try {
      await waitUntilEveryWorkerServes(server);
      const loaded = await fetch(`${server.baseUrl}/admin/challenger`, { method: 'PUT', headers: AUTH, body: JSON.stringify({ path: challenger, mode: 'canary', share: 0.5 }) });
      expect(loaded.status).toBe(200);
      expect((await fetch(`${server.baseUrl}/admin/challenger/promote`, { method: 'POST', headers: { authorization: AUTH.authorization } })).status).toBe(200);
      // The promoted file goes: a worker started now must not need it.
      rmSync(dirname(challenger), { recursive: true, force: true });
      // Log lines reach the output within a second (buffered writes).
      await vi.waitFor(() => expect(lines().filter((line) => line.msg === 'rollout: promote')).toHaveLength(2), { timeout: 5000, interval: 50 });
      const victim = lines().find((line) => line.msg === 'model loaded')!.pid;
      const before = lines().length;
      process.kill(victim, 'SIGKILL');
      await vi.waitFor(() => expect(lines().slice(before).some((line) => line.msg === 'challenger loaded')).toBe(true), { timeout: 20_000, interval: 50 });
      const started = lines().slice(before);
      expect(started.find((line) => line.msg === 'model loaded')).toMatchObject({ modelVersion: '7.1.0' });
      expect(started.find((line) => line.msg === 'challenger loaded')).toMatchObject({ modelVersion: '7.0.0', mode: 'shadow' });
      await waitUntilEveryWorkerServes(server);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
  it("forgets the challenger a reload made the champion: a worker started later serves it alone, with no failed challenger load", async () => {
    const [champion, challenger] = models.paths.slice(4) as [string, string];
    const port = await freePort();
    const server = startServer({ WORKERS: '2', MODEL_PATH: champion, ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'info' }, port);
    const lines = () => server.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; pid: number; modelVersion?: string });
    try {
      await waitUntilEveryWorkerServes(server);
      const loaded = await fetch(`${server.baseUrl}/admin/challenger`, { method: 'PUT', headers: AUTH, body: JSON.stringify({ path: challenger, mode: 'shadow', share: 1 }) });
      expect(loaded.status).toBe(200);
      // The challenger is released to MODEL_PATH, and the reload makes it the champion: each worker drops it.
      cpSync(dirname(challenger), dirname(champion), { recursive: true });
      const reloaded = await fetch(`${server.baseUrl}/admin/reload`, { method: 'POST', headers: { authorization: AUTH.authorization } });
      expect(reloaded.status, await reloaded.text()).toBe(200);
      await vi.waitFor(() => expect(lines().filter((line) => line.msg.includes('the challenger was dropped'))).toHaveLength(2), { timeout: 5000, interval: 50 });
      const victim = lines().find((line) => line.msg === 'model loaded')!.pid;
      const before = lines().length;
      process.kill(victim, 'SIGKILL');
      await vi.waitFor(() => expect(lines().slice(before).some((line) => line.msg === 'model loaded')).toBe(true), { timeout: 20_000, interval: 50 });
      await waitUntilEveryWorkerServes(server);
      const started = lines().slice(before);
      expect(started.find((line) => line.msg === 'model loaded')).toMatchObject({ modelVersion: '7.1.0' });
      expect(started.filter((line) => line.msg.includes('challenger'))).toEqual([]);
      for (let call = 0; call < 6; call += 1) {
        const model = (await (await fetch(`${server.baseUrl}/model`, { headers: { connection: 'close' } })).json()) as { model_version: string; challenger: unknown };
        expect(model).toMatchObject({ model_version: '7.1.0', challenger: null });
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
