import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSnapshotDirectory, type SnapshotDirectory } from '../../src/cluster/model-snapshots.js';

let directory: SnapshotDirectory | undefined;
let elsewhere: string | undefined;
afterEach(() => {
  for (const path of [directory?.path, elsewhere]) if (path) rmSync(path, { recursive: true, force: true });
});

/** A snapshot as a worker writes it: a directory holding the model file (and its companions). */
function snapshotIn(parent: string, name: string): string {
  mkdirSync(join(parent, name));
  const modelFile = join(parent, name, 'churn_model.onnx');
  writeFileSync(modelFile, 'bytes');
  return modelFile;
}

describe('createSnapshotDirectory', () => {
  it('discards a snapshot inside it, and never anything outside', () => {
    directory = createSnapshotDirectory();
    const inside = snapshotIn(directory.path, 'model-a');
    elsewhere = mkdtempSync(join(tmpdir(), 'churn-not-snapshots-'));
    const outside = snapshotIn(elsewhere, 'model-b');
    directory.discard(outside);
    directory.discard(join(directory.path, 'churn_model.onnx'));
    expect(existsSync(outside)).toBe(true);
    expect(existsSync(directory.path)).toBe(true);
    directory.discard(inside);
    expect(existsSync(join(directory.path, 'model-a'))).toBe(false);
  });
});
