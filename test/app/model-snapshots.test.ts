import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Writable } from 'node:stream';
import { buildApp } from '../../src/app.js';
import { WorkerGroup } from '../../src/cluster/worker-group.js';
import { loadConfig } from '../../src/config.js';
import { loadChurnModel } from '../../src/data-plane/churn-model.js';
import type { Model } from '../../src/data-plane/model.js';
import { buildTestApp, postJson, VALID_CUSTOMER } from '../helpers.js';
import { versionedModels, writeModelVersion, type VersionedModels } from '../data-plane/model-fixtures.js';

/**
 * The data plane in a cluster worker: the primary hands it MODEL_SNAPSHOT_DIR, where each model it
 * loads from MODEL_PATH is copied (and the primary told where), and MODEL_SNAPSHOT_PATH when it is
 * a worker started while others serve, which then loads that snapshot instead of MODEL_PATH.
 */

let models: VersionedModels;
let snapshots: string;
let app: FastifyInstance | undefined;
beforeEach(() => {
  models = versionedModels(['3.0.0', '3.1.0']);
  snapshots = mkdtempSync(join(tmpdir(), 'churn-snapshots-'));
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  models.remove();
  rmSync(snapshots, { recursive: true, force: true });
});

const cardVersion = (modelPath: string) => (JSON.parse(readFileSync(join(dirname(modelPath), 'model_card.json'), 'utf8')) as { model_version: string }).model_version;
const snapshotsWritten = () => readdirSync(snapshots).map((name) => join(snapshots, name, 'churn_model.onnx'));
/** An app built but not started up: a worker just forked, whose onReady hooks have not run. */
const unreadyApp = (env: Record<string, string>) =>
  buildApp({ config: loadConfig({ PREDICTION_LOG: 'false', LOG_LEVEL: 'warn', ...env }), logStream: new Writable({ write: (_chunk, _encoding, done) => done() }) });
const modelVersion = async (instance: FastifyInstance) => (postJson(instance, '/predict', VALID_CUSTOMER).then((response) => response.json() as { model_version: string })).then((body) => body.model_version);

describe('model snapshots', () => {
  it('copies each model loaded from MODEL_PATH, and tells the primary where; a failed reload copies nothing', async () => {
    const told = vi.spyOn(WorkerGroup.prototype, 'modelSnapshotWritten');
    const [modelPath] = models.paths as [string];
    ({ app } = await buildTestApp({ MODEL_PATH: modelPath, MODEL_SNAPSHOT_DIR: snapshots }));
    const [atStart] = snapshotsWritten() as [string];
    expect(told.mock.calls).toEqual([[atStart, undefined]]);
    expect(readFileSync(atStart)).toEqual(readFileSync(modelPath));
    expect(cardVersion(atStart)).toBe('3.0.0');

    // A new training run's model, with its own card, put in place.
    writeModelVersion(modelPath, '3.1.0');
    await app.reloadModel('reload');
    const afterReload = snapshotsWritten().find((path) => path !== atStart)!;
    expect(told.mock.calls).toEqual([[atStart, undefined], [afterReload, undefined]]);
    expect(readFileSync(afterReload)).toEqual(readFileSync(modelPath));
    expect(cardVersion(afterReload)).toBe('3.1.0');

    writeFileSync(modelPath, 'not a model');
    await expect(app.reloadModel('reload')).rejects.toThrow('is not a valid ONNX model');
    expect(told).toHaveBeenCalledTimes(2);
    expect(snapshotsWritten()).toHaveLength(2);
  });

  it('loads MODEL_SNAPSHOT_PATH at start instead of MODEL_PATH, whatever the file at MODEL_PATH holds now', async () => {
    const told = vi.spyOn(WorkerGroup.prototype, 'modelSnapshotWritten');
    const [modelPath] = models.paths as [string];
    const snapshot = join(snapshots, 'model-a', basename(modelPath));
    mkdirSync(dirname(snapshot));
    copyFileSync(modelPath, snapshot);
    copyFileSync(join(dirname(modelPath), 'model_card.json'), join(dirname(snapshot), 'model_card.json'));
    // The file the siblings loaded has since been overwritten with its first 20,000 bytes.
    writeFileSync(modelPath, readFileSync(modelPath).subarray(0, 20_000));

    const started = await buildTestApp({ MODEL_PATH: modelPath, MODEL_SNAPSHOT_DIR: snapshots, MODEL_SNAPSHOT_PATH: snapshot });
    app = started.app;
    expect(await modelVersion(app)).toBe('3.0.0');
    expect(started.logs.find((line) => line.msg === 'model loaded')).toMatchObject({ trigger: 'startup', modelPath: snapshot, snapshotOf: modelPath, modelVersion: '3.0.0' });
    // A snapshot is not copied again: the primary already has it.
    expect(told).not.toHaveBeenCalled();
    expect(readdirSync(snapshots)).toEqual(['model-a']);
    // A reload still loads MODEL_PATH, which is broken: the worker keeps the snapshot's model.
    await expect(app.reloadModel('reload')).rejects.toThrow('is not a valid ONNX model');
    expect(await modelVersion(app)).toBe('3.0.0');
  });

  it('starts when no snapshot can be written, and tells the primary that none stands for this model', async () => {
    const told = vi.spyOn(WorkerGroup.prototype, 'modelSnapshotWritten');
    const started = await buildTestApp({ MODEL_PATH: models.paths[0]!, MODEL_SNAPSHOT_DIR: join(snapshots, 'gone') });
    app = started.app;
    expect(told.mock.calls).toEqual([[null, undefined]]);
    expect(started.logs.find((line) => line.level === 50)).toMatchObject({ msg: 'no snapshot of the model could be written; a worker started later loads MODEL_PATH' });
    expect(await modelVersion(app)).toBe('3.0.0');
  });

  it('takes a reload asked while it starts after its own start-up load: it serves the reloaded model, not the snapshot it started from', async () => {
    const [modelPath] = models.paths as [string];
    const snapshot = join(snapshots, 'model-a', basename(modelPath));
    mkdirSync(dirname(snapshot));
    copyFileSync(modelPath, snapshot);
    copyFileSync(join(dirname(modelPath), 'model_card.json'), join(dirname(snapshot), 'model_card.json'));
    // The siblings have loaded a new model from MODEL_PATH since this worker was started from their snapshot.
    writeModelVersion(modelPath, '3.1.0');
    app = await unreadyApp({ MODEL_PATH: modelPath, MODEL_SNAPSHOT_DIR: snapshots, MODEL_SNAPSHOT_PATH: snapshot });
    // The primary asks the workers still starting too; this one has not run its start-up load yet.
    const reload = app.workers.collect('reload', undefined);
    await app.ready();
    expect(await reload).toEqual({ pid: process.pid, result: { model_version: '3.1.0' } });
    expect(await modelVersion(app)).toBe('3.1.0');
  });

  it('takes a promotion asked while it starts after loading CHALLENGER_MODEL_PATH: it promotes that model instead of finding no challenger', async () => {
    const [champion, challenger] = models.paths as [string, string];
    app = await unreadyApp({ MODEL_PATH: champion, CHALLENGER_MODEL_PATH: challenger });
    const sha256 = createHash('sha256').update(readFileSync(challenger)).digest('hex');
    const promotion = app.workers.collect('challenger-promote', { call: { at: new Date().toISOString(), address: '127.0.0.1', request_id: 'promote-1' }, sha256 });
    await app.ready();
    expect(await promotion).toMatchObject({ result: { champion: { version: '3.1.0' }, challenger: { version: '3.0.0' } } });
    expect(await modelVersion(app)).toBe('3.1.0');
  });

  describe('in a cluster, with a challenger', () => {
    const TOKEN = 'admin-token-0123456789';
    const AUTH = { authorization: `Bearer ${TOKEN}` };
    beforeEach(() => {
      vi.spyOn(WorkerGroup.prototype, 'clustered', 'get').mockReturnValue(true);
    });
    const sameBytes = (snapshot: string | null | undefined, original: string) => snapshot !== null && snapshot !== undefined && readFileSync(snapshot).equals(readFileSync(original));

    it('tells a promotion in one notice: the promoted model\'s snapshot with the new challenger\'s, both copies written first', async () => {
      const [champion, challenger] = models.paths as [string, string];
      const told = vi.spyOn(WorkerGroup.prototype, 'modelSnapshotWritten');
      const toldChallenger = vi.spyOn(WorkerGroup.prototype, 'challengerStateChanged');
      ({ app } = await buildTestApp({ MODEL_PATH: champion, MODEL_SNAPSHOT_DIR: snapshots, ADMIN_TOKEN: TOKEN, CHALLENGER_MODEL_PATH: challenger, CHALLENGER_MODE: 'canary', CHALLENGER_SHARE: '0.2' }));
      told.mockClear();
      toldChallenger.mockClear();

      expect((await app.inject({ method: 'POST', url: '/admin/challenger/promote', headers: AUTH })).statusCode).toBe(200);
      expect(told).toHaveBeenCalledTimes(1);
      expect(toldChallenger).not.toHaveBeenCalled();
      const [promoted, state] = told.mock.calls[0]!;
      expect(sameBytes(promoted, challenger)).toBe(true);
      expect(state).toMatchObject(app.dataPlane.challengerRouting);
      expect(sameBytes(state?.path, champion)).toBe(true);
      expect(dirname(state!.path)).not.toBe(dirname(promoted!));
    });

    it('a reload that dropped the challenger says so even when a later reload swapped in before its copy was written', async () => {
      const [champion, challenger] = models.paths as [string, string];
      const later = join(dirname(dirname(champion)), 'model-later', 'churn_model.onnx');
      writeModelVersion(later, '3.2.0');
      const laterModel = await loadChurnModel(later, { intraOpThreads: 1 });
      let instant: Model | undefined;
      let secondReload: Promise<unknown> | undefined;
      let armed = false;
      app = await buildApp({
        config: loadConfig({ MODEL_PATH: champion, CHALLENGER_MODEL_PATH: challenger, MODEL_SNAPSHOT_DIR: snapshots, PREDICTION_LOG: 'false', LOG_LEVEL: 'warn' }),
        logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
        modelLoader: async (path) => {
          if (instant) return instant;
          const model = await loadChurnModel(path, { intraOpThreads: 1 });
          if (armed) {
            armed = false;
            // Asked right after the first reload's swap (its challenger is gone by then), and in at once, while the first still copies its file.
            setImmediate(() => {
              instant = laterModel;
              secondReload = app!.reloadModel('reload');
            });
          }
          return model;
        },
      });
      await app.ready();
      const toldChallenger = vi.spyOn(WorkerGroup.prototype, 'challengerStateChanged');
      const told = vi.spyOn(WorkerGroup.prototype, 'modelSnapshotWritten');
      // MODEL_PATH now holds the challenger's model: the reload makes it the champion and drops the challenger.
      writeModelVersion(champion, '3.1.0');
      armed = true;
      await app.reloadModel('reload');
      await vi.waitFor(() => expect(secondReload).toBeDefined());
      await secondReload;
      expect(app.dataPlane.challenger).toBeUndefined();
      expect(await modelVersion(app)).toBe('3.2.0');
      await vi.waitFor(() => expect([...told.mock.calls, ...toldChallenger.mock.calls.map(([state]) => ['challenger', state])]).toHaveLength(2));
      expect(told.mock.calls.map(([path, state]) => [cardVersion(path!), state])).toEqual([['3.2.0', undefined]]);
      expect(toldChallenger.mock.calls).toEqual([[null]]);
    });

    it('a reload whose copy finishes after a promotion swapped tells nothing and removes its copy: the promotion told what serves', async () => {
      const [champion, challenger] = models.paths as [string, string];
      const told = vi.spyOn(WorkerGroup.prototype, 'modelSnapshotWritten');
      ({ app } = await buildTestApp({ MODEL_PATH: champion, MODEL_SNAPSHOT_DIR: snapshots, ADMIN_TOKEN: TOKEN, CHALLENGER_MODEL_PATH: challenger }));
      told.mockClear();
      // A new model at MODEL_PATH, reloaded; the promotion, asked meanwhile, swaps once the reload's model is in.
      writeModelVersion(champion, '3.2.0');
      const reload = app.reloadModel('reload');
      const promotion = app.inject({ method: 'POST', url: '/admin/challenger/promote', headers: AUTH });
      await reload;
      expect((await promotion).statusCode).toBe(200);
      await vi.waitFor(() => expect(told).toHaveBeenCalled());
      expect(await modelVersion(app)).toBe('3.1.0');

      // Only the promotion told: 3.1.0 serves, with the reload's model (3.2.0) as its challenger.
      expect(told).toHaveBeenCalledTimes(1);
      const [promoted, state] = told.mock.calls[0]!;
      expect(sameBytes(promoted, challenger)).toBe(true);
      expect(cardVersion(state!.path)).toBe('3.2.0');
      // The reload's own copy of 3.2.0 was removed: the start's, the promotion's two, and no other.
      await vi.waitFor(() => expect(snapshotsWritten().map(cardVersion).sort()).toEqual(['3.0.0', '3.1.0', '3.2.0']));
    });
  });
});
