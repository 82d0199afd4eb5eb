import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { BUNDLED_MODEL, withMetadata, writeModelVersion } from '../data-plane/model-fixtures.js';

const BROKEN = fileURLToPath(new URL('../fixtures/broken-models/', import.meta.url));

async function startWith(modelPath: string, env: Record<string, string> = {}) {
  const app = await buildApp({ config: loadConfig({ MODEL_PATH: modelPath, LOG_LEVEL: 'silent', PREDICTION_LOG: 'false', ...env }) });
  try {
    await app.ready();
    return app;
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
}

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'churn-model-'));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('model start-up checks', () => {
  it('fails when the file is missing', async () => {
    const path = join(scratch, 'missing.onnx');
    await expect(startWith(path)).rejects.toThrowError(`Model not found at ${path}`);
  });

  it('fails when the file is not an ONNX model', async () => {
    await expect(startWith(join(BROKEN, 'not-a-model.onnx'))).rejects.toThrowError(/is not a valid ONNX model: .*protobuf parsing failed/i);
  });

  it('fails when the input is not [N, 5]', async () => {
    await expect(startWith(join(BROKEN, 'wrong-input-width.onnx'))).rejects.toThrowError(
      /must take one float32 \[N, 5\] input, but takes 'features' float32 \[N, 4\]/,
    );
  });

  it('fails when the input is not float32', async () => {
    await expect(startWith(join(BROKEN, 'double-input.onnx'))).rejects.toThrowError(/float64/);
  });

  it('fails on a ZipMap output, advising to export without it', async () => {
    await expect(startWith(join(BROKEN, 'zipmap-output.onnx'))).rejects.toThrowError(/'output_probability'.*ZipMap disabled/);
  });

  it('fails when there is no probabilities output', async () => {
    await expect(startWith(join(BROKEN, 'label-only.onnx'))).rejects.toThrowError(/needs a float32 \[N, 2\] probabilities output/);
  });

  it('takes the version from the model file\'s own ONNX metadata; a model_version.txt beside it changes nothing', async () => {
    const path = join(mkdtempSync(join(scratch, 'versioned-')), 'churn_model.onnx');
    writeModelVersion(path, '2.3.4');
    writeFileSync(join(path, '..', 'model_version.txt'), '9.9.9\n');
    const app = await startWith(path);
    expect(app.dataPlane.model?.version).toBe('2.3.4');
    await app.close();
  });

  it('fails when the model file records no version', async () => {
    const path = join(mkdtempSync(join(scratch, 'unversioned-')), 'churn_model.onnx');
    writeFileSync(path, withMetadata(readFileSync(BUNDLED_MODEL), { model_version: undefined }));
    await expect(startWith(path, { ALLOW_MODEL_WITHOUT_CARD: 'true' })).rejects.toThrowError(
      `Model at ${path} has no model_version in its ONNX metadata_props, so nothing says which model it is: export it with training/train.py, which records it.`,
    );
  });
});
