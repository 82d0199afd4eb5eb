import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { ModelLoadError } from '../errors.js';
import { explainerFor, type Explanations } from './explainer-factory.js';
import { FEATURE_RULES } from './feature-rows.js';
import type { Model, ModelLoader } from './model.js';
import { cardPathFor, readCard, readModelIdentity } from './model-card-file.js';
import { OnnxClassifier, type OnnxOptions } from './onnx-classifier.js';
import { readReferenceCalibration } from './reference-calibration.js';

export interface ModelOptions extends OnnxOptions {
  /**
   * Serve a model that has no model_card.json beside it (ALLOW_MODEL_WITHOUT_CARD), with a warning.
   * Otherwise such a model is refused: its card carries what the model is checked against.
   */
  allowMissingCard?: boolean | undefined;
}

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
 * hashed, run, explained (on first use) and asked for their version (ONNX metadata); one probe run; the card
 * beside it, bound to the file both ways (see readCard); the reference calibrator beside it, if
 * any, fitted for this very file (see readReferenceCalibration). A failure releases whatever was created
 * and throws a ModelLoadError.
 */
export async function loadChurnModel(path: string, options: ModelOptions): Promise<Model> {
  const started = performance.now();
  const file = await stat(path).catch(() => undefined);
  if (!file?.isFile()) throw new ModelLoadError(`Model not found at ${path}`);
  const bytes = await readFile(path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const backend = await OnnxClassifier.create(bytes, path, options);
  try {
    await checkProbe(backend, path);
    const identity = readModelIdentity(bytes, path);
    const card = await readCard(path, sha256, identity);
    const calibration = await readReferenceCalibration(path, sha256, identity.version);
    const warnings: string[] = [];
    if (!card) {
      if (!options.allowMissingCard) {
        throw new ModelLoadError(
          `No model card beside ${path} (${cardPathFor(path)}): a model is served only with the card written with it, which binds its version and carries ` +
            'its hold-out metrics and drift reference. Put that card beside the model, or set ALLOW_MODEL_WITHOUT_CARD=true to serve it without one.',
        );
      }
      warnings.push(
        `Model ${identity.version} is served without a model card (ALLOW_MODEL_WITHOUT_CARD=true): nothing checks the file against what training released, ` +
          'there are no hold-out metrics, and drift monitoring is off (no reference profile).',
      );
    }
    // Built on first use (an explained request, GET /model), not at load: reading the trees and
    // building TreeSHAP's tables took 70-130 ms of every start, for a feature many callers never ask for.
    let explanations: Explanations | undefined;
    const explained = () => (explanations ??= explainerFor(bytes));
    return {
      path,
      version: identity.version,
      sha256,
      card,
      calibration,
      warnings,
      get explainer() {
        return explained().explainer;
      },
      get explanationsUnavailable() {
        return explained().unavailable;
      },
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
