import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

const BROKEN = fileURLToPath(new URL('../fixtures/broken-models/', import.meta.url));
const BUNDLED = fileURLToPath(new URL('../../models/churn_model.onnx', import.meta.url));

async function startWith(modelPath: string) {
  const app = await buildApp({ config: loadConfig({ MODEL_PATH: modelPath, LOG_LEVEL: 'silent', PREDICTION_LOG: 'false' }) });
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

  it('reads the version from model_version.txt beside the model, defaulting to 1.0.0', async () => {
    const dir = mkdtempSync(join(scratch, 'versioned-'));
    cpSync(BUNDLED, join(dir, 'model.onnx'));
    const unversioned = await startWith(join(dir, 'model.onnx'));
    expect(unversioned.dataPlane.model?.version).toBe('1.0.0');
    await unversioned.close();

    writeFileSync(join(dir, 'model_version.txt'), '2.3.4\n');
    const versioned = await startWith(join(dir, 'model.onnx'));
    expect(versioned.dataPlane.model?.version).toBe('2.3.4');
    await versioned.close();
  });
});
