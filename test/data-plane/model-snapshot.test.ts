import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadChurnModel } from '../../src/data-plane/churn-model.js';
import { MODEL_COMPANION_FILES } from '../../src/data-plane/model-card-file.js';
import { writeModelSnapshot } from '../../src/data-plane/model-snapshot.js';
import { BUNDLED_MODEL, LINEAR_MODEL } from './model-fixtures.js';

const OPTIONS = { intraOpThreads: 1 };
let root: string;
let modelPath: string;
let snapshots: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'churn-snapshot-test-'));
  const models = join(root, 'models');
  mkdirSync(models);
  // The bundled model with its card and its reference calibrator, both bound to the file's sha256.
  for (const name of [basename(BUNDLED_MODEL), ...MODEL_COMPANION_FILES]) copyFileSync(join(dirname(BUNDLED_MODEL), name), join(models, name));
  modelPath = join(models, basename(BUNDLED_MODEL));
  snapshots = join(root, 'snapshots');
  mkdirSync(snapshots);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('writeModelSnapshot', () => {
  it('copies the model file and its companions into a new directory: loading the snapshot gives the same model', async () => {
    const loaded = await loadChurnModel(modelPath, OPTIONS);
    await loaded.close();
    const snapshot = await writeModelSnapshot(loaded, snapshots, MODEL_COMPANION_FILES);
    expect(dirname(dirname(snapshot))).toBe(snapshots);
    expect(basename(snapshot)).toBe(basename(modelPath));
    expect(readdirSync(dirname(snapshot)).sort()).toEqual([basename(modelPath), ...MODEL_COMPANION_FILES].sort());

    // The originals change; the snapshot does not.
    copyFileSync(LINEAR_MODEL, modelPath);
    rmSync(join(dirname(modelPath), 'model_card.json'));
    const fromSnapshot = await loadChurnModel(snapshot, OPTIONS);
    await fromSnapshot.close();
    expect(fromSnapshot.sha256).toBe(loaded.sha256);
    expect(fromSnapshot.version).toBe(loaded.version);
    expect(fromSnapshot.card).toEqual(loaded.card);
    expect(fromSnapshot.card).toBeDefined();
    expect(fromSnapshot.calibration).toEqual(loaded.calibration);
    expect(fromSnapshot.calibration).toBeDefined();
  });

  it('leaves out the companions a model does not have', async () => {
    for (const name of MODEL_COMPANION_FILES) rmSync(join(dirname(modelPath), name));
    const loaded = await loadChurnModel(modelPath, { ...OPTIONS, allowMissingCard: true });
    await loaded.close();
    const snapshot = await writeModelSnapshot(loaded, snapshots, MODEL_COMPANION_FILES);
    expect(readdirSync(dirname(snapshot)).sort()).toEqual([basename(modelPath)]);
  });

  it('refuses a file replaced since its model was loaded, and leaves nothing behind', async () => {
    const loaded = await loadChurnModel(modelPath, OPTIONS);
    await loaded.close();
    copyFileSync(LINEAR_MODEL, modelPath);
    await expect(writeModelSnapshot(loaded, snapshots, MODEL_COMPANION_FILES)).rejects.toThrow(`${modelPath} has changed since its model was loaded`);
    expect(readdirSync(snapshots)).toEqual([]);
    // Each snapshot gets its own directory: two writes never share one.
    copyFileSync(BUNDLED_MODEL, modelPath);
    const [one, two] = await Promise.all([writeModelSnapshot(loaded, snapshots, MODEL_COMPANION_FILES), writeModelSnapshot(loaded, snapshots, MODEL_COMPANION_FILES)]);
    expect(dirname(one)).not.toBe(dirname(two));
    expect(readFileSync(one)).toEqual(readFileSync(BUNDLED_MODEL));
  });
});
