import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUNDLED_MODEL = fileURLToPath(new URL('../../models/churn_model.onnx', import.meta.url));

/** A valid churn model without trees (a logistic regression): it loads without building TreeSHAP tables. */
export const LINEAR_MODEL = fileURLToPath(new URL('../fixtures/unexplainable-models/linear/churn_model.onnx', import.meta.url));

export interface VersionedModels {
  paths: string[];
  remove: () => void;
}

/**
 * Copies of a model (the bundled one unless `source` says otherwise), each in its own directory with its own model_version.txt.
 * Call it in a test or a beforeAll, never at a file's top level or in a describe body: a run that selects none of the file's
 * tests (-t) would still make the copies, and afterAll would never remove them.
 */
export function versionedModels(versions: string[], source = BUNDLED_MODEL): VersionedModels {
  const root = mkdtempSync(join(tmpdir(), 'churn-models-'));
  const paths = versions.map((version, index) => {
    const dir = join(root, `model-${index}`);
    mkdirSync(dir);
    copyFileSync(source, join(dir, 'churn_model.onnx'));
    writeFileSync(join(dir, 'model_version.txt'), `${version}\n`);
    return join(dir, 'churn_model.onnx');
  });
  return { paths, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** A promise with its resolver outside, to hold a run open while a test swaps models. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}
