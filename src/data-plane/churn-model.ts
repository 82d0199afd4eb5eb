import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { ModelLoadError } from '../errors.js';
import { explainerFor } from './explainer-factory.js';
import { FEATURE_RULES } from './feature-rows.js';
import type { Model, ModelLoader } from './model.js';
import { readCard, readVersion } from './model-card-file.js';
import { OnnxClassifier, type OnnxOptions } from './onnx-classifier.js';

export type ModelOptions = OnnxOptions;

/** The features a valid request can carry at their lower bounds: a row every model must accept. */
function probeRow(): Float32Array {
  return Float32Array.from(FEATURE_RULES, (rule) => rule.minimum);
}

/** One real run at load time: catches shape errors that metadata cannot show, and warms the session. */
async function checkProbe(backend: OnnxClassifier, path: string): Promise<void> {
  let churn: Float32Array;
  try {
    ({ churn } = await backend.predict(probeRow(), 1));
  } catch (error) {
    throw new ModelLoadError(`Model at ${path} does not fit this service: a test run failed: ${(error as Error).message}`);
  }
  const [probability] = churn;
  if (churn.length !== 1 || probability === undefined || !(probability >= 0 && probability <= 1)) {
    throw new ModelLoadError(`Model at ${path} does not fit this service: a test run gave ${churn.length} probabilities (${[...churn].join(', ')}) for one row`);
  }
}

/**
 * Loads the churn classifier at `path` on onnxruntime: one read of the file, whose same bytes are
 * hashed, run and explained; its version and card beside it (the card bound to the bytes by their
 * sha256); one probe run. A failure releases whatever was created and throws a ModelLoadError.
 */
export async function loadChurnModel(path: string, options: ModelOptions): Promise<Model> {
  const started = performance.now();
  const file = await stat(path).catch(() => undefined);
  if (!file?.isFile()) throw new ModelLoadError(`Model not found at ${path}`);
  const bytes = await readFile(path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const backend = await OnnxClassifier.create(bytes, path, options);
  try {
    const version = await readVersion(path);
    const card = await readCard(path, sha256, version);
    const { explainer, unavailable } = explainerFor(bytes);
    await checkProbe(backend, path);
    return {
      path,
      version,
      sha256,
      card,
      explainer,
      explanationsUnavailable: unavailable,
      signature: backend.signature,
      loadDetails: { fileBytes: file.size, loadMs: Math.round((performance.now() - started) * 10) / 10, ...backend.described },
      predict: (features, rows) => backend.predict(features, rows),
      close: () => backend.close(),
    };
  } catch (error) {
    await backend.close().catch(() => undefined);
    throw error;
  }
}

/** The loader the service uses: churn models on onnxruntime with these options. */
export function churnModelLoader(options: ModelOptions): ModelLoader {
  return (path) => loadChurnModel(path, options);
}
