import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkerGroup } from '../../src/cluster/worker-group.js';
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
  models = versionedModels(['3.0.0']);
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
const modelVersion = async (instance: FastifyInstance) => (postJson(instance, '/predict', VALID_CUSTOMER).then((response) => response.json() as { model_version: string })).then((body) => body.model_version);

describe('model snapshots', () => {
  it('copies each model loaded from MODEL_PATH, and tells the primary where; a failed reload copies nothing', async () => {
    const told = vi.spyOn(WorkerGroup.prototype, 'modelSnapshotWritten');
    const [modelPath] = models.paths as [string];
    ({ app } = await buildTestApp({ MODEL_PATH: modelPath, MODEL_SNAPSHOT_DIR: snapshots }));
    const [atStart] = snapshotsWritten() as [string];
    expect(told.mock.calls).toEqual([[atStart]]);
    expect(readFileSync(atStart)).toEqual(readFileSync(modelPath));
    expect(cardVersion(atStart)).toBe('3.0.0');

    // A new training run's model, with its own card, put in place.
    writeModelVersion(modelPath, '3.1.0');
    await app.reloadModel('reload');
    const afterReload = snapshotsWritten().find((path) => path !== atStart)!;
    expect(told.mock.calls).toEqual([[atStart], [afterReload]]);
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
    expect(told.mock.calls).toEqual([[null]]);
    expect(started.logs.find((line) => line.level === 50)).toMatchObject({ msg: 'no snapshot of the model could be written; a worker started later loads MODEL_PATH' });
    expect(await modelVersion(app)).toBe('3.0.0');
  });
});
