import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import ort from 'onnxruntime-node';
import { ModelLoadError } from '../errors.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../schemas/customer-features.js';
import { ModelCard } from '../schemas/model-card.js';
import { FEATURE_RULES } from './feature-rows.js';
import { readTreeEnsemble } from './onnx-trees.js';
import { TreeExplainer } from './tree-explainer.js';

const DEFAULT_MODEL_VERSION = '1.0.0';
const PROBABILITIES_OUTPUT = 'probabilities';
const LABEL_OUTPUT = 'label';

export interface ModelOptions {
  intraOpThreads: number;
}

type TensorMetadata = ort.InferenceSession.TensorValueMetadata;

function describe(meta: ort.InferenceSession.ValueMetadata): string {
  return meta.isTensor ? `'${meta.name}' ${meta.type} [${meta.shape.join(', ')}]` : `'${meta.name}' (not a tensor)`;
}

/** A dimension fits when it is the wanted size or symbolic (decided at run time). */
function dimensionFits(dimension: number | string | undefined, wanted: number): boolean {
  return dimension === wanted || typeof dimension === 'string' || dimension === -1;
}

/** The features a valid request can carry at their lower bounds: a row every model must accept. */
function probeRow(): Float32Array {
  return Float32Array.from(FEATURE_RULES, (rule) => rule.minimum);
}

/** An exact explainer for the model's trees, or why there is none. Models that are not tree ensembles still serve. */
function explainerFor(bytes: Uint8Array): { explainer: TreeExplainer } | { unavailable: string } {
  const reading = readTreeEnsemble(bytes);
  if ('unavailable' in reading) return reading;
  const usedFeatures = reading.ensemble.trees.flatMap((tree) => tree.flatMap((node) => (node.split ? [node.split.feature] : [])));
  if (usedFeatures.some((feature) => feature >= FEATURE_COUNT)) return { unavailable: 'its trees split on features the service does not have' };
  return { explainer: new TreeExplainer(reading.ensemble, FEATURE_COUNT) };
}

/** The first line of model_version.txt beside the model, or 1.0.0. */
export async function readVersion(modelPath: string): Promise<string> {
  try {
    const text = (await readFile(join(dirname(modelPath), 'model_version.txt'), 'utf8')).trim();
    return text.split(/\r?\n/)[0]?.trim() || DEFAULT_MODEL_VERSION;
  } catch {
    return DEFAULT_MODEL_VERSION;
  }
}

/** What any protocol may know of the model that produced a score. */
export interface ModelInfo {
  readonly path: string;
  readonly version: string;
}

/** One tensor the model takes or gives, as onnxruntime describes it: symbolic dimensions are strings. */
export interface TensorSpec {
  readonly name: string;
  /** onnxruntime's element type: float32, int64, ... */
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

/** An output the service serves, and what it means. */
export interface OutputSpec extends TensorSpec {
  /** probabilities: float32 [N, 2], P(stay) and P(churn); label: int64 [N], the model's own class. */
  readonly role: 'probabilities' | 'label';
}

/**
 * The tensors the service exchanges with the model: its one input and the outputs it serves
 * (the class probabilities and, when the model has one, its own class label), in the model's order.
 */
export interface ModelSignature {
  readonly input: TensorSpec;
  readonly outputs: readonly OutputSpec[];
}

/** One model run's outputs for `rows` rows, exactly as onnxruntime returned them. */
export interface ModelOutputs {
  readonly rows: number;
  /** P(churn) per row: column 1 of the probabilities. */
  readonly churn: Float32Array;
  /** The probabilities output, row-major [rows, 2]: P(stay), P(churn). */
  readonly probabilities: Float32Array;
  /** The model's own class label per row, when it has a label output. */
  readonly labels: BigInt64Array | undefined;
}

/** What a load found, for the debug log. */
export interface LoadDetails {
  fileBytes: number;
  loadMs: number;
  inputs: string[];
  outputs: string[];
}

/**
 * The model being served, as every protocol may see it: its identity, its card (bound to the
 * file by its sha256) and its explainer (built from the very trees onnxruntime runs).
 */
export interface ServedModel extends ModelInfo {
  /** sha256 of the ONNX file. */
  readonly sha256: string;
  readonly card: ModelCard | undefined;
  /** Exact TreeSHAP over the model's trees, or undefined with the reason in explanationsUnavailable. */
  readonly explainer: TreeExplainer | undefined;
  readonly explanationsUnavailable: string | undefined;
  readonly loadDetails: LoadDetails;
  readonly signature: ModelSignature;
}

/**
 * The model_card.json beside the model, if there is one. A card must describe this very file
 * (its sha256) and version, or the load fails: a card, reference profile or version from
 * another training run must never be served with this model.
 */
async function readCard(modelPath: string, sha256: string, version: string): Promise<ModelCard | undefined> {
  const cardPath = join(dirname(modelPath), 'model_card.json');
  let text: string;
  try {
    text = await readFile(cardPath, 'utf8');
  } catch {
    return undefined;
  }
  let card: unknown;
  try {
    card = JSON.parse(text);
  } catch (error) {
    throw new ModelLoadError(`${cardPath} is not valid JSON: ${(error as Error).message}`);
  }
  const problem = Value.Errors(ModelCard, card).First();
  if (problem) throw new ModelLoadError(`${cardPath} is not a model card: ${problem.path || '/'} ${problem.message}`);
  const valid = card as ModelCard;
  if (valid.onnx.sha256 !== sha256) {
    throw new ModelLoadError(
      `${cardPath} describes another model file (sha256 ${valid.onnx.sha256.slice(0, 12)}…), not ${modelPath} (sha256 ${sha256.slice(0, 12)}…): ` +
        'put the card that came with this model beside it, or remove the card.',
    );
  }
  if (valid.model_version !== version) {
    throw new ModelLoadError(`model_version.txt beside ${modelPath} says ${version}, but its model card says ${valid.model_version}.`);
  }
  const names = valid.features.map((feature) => feature.name);
  if (names.join() !== FEATURE_NAMES.join()) {
    throw new ModelLoadError(`${cardPath} lists the features ${names.join(', ')}, not this service's ${FEATURE_NAMES.join(', ')}.`);
  }
  const drift = valid.drift_reference;
  const profiles = drift.features.map((profile) => profile.name);
  if (profiles.join() !== FEATURE_NAMES.join()) {
    throw new ModelLoadError(`${cardPath} has a drift reference for ${profiles.join(', ')}, not for this service's ${FEATURE_NAMES.join(', ')}.`);
  }
  for (const profile of [...drift.features, drift.score]) {
    const expected = profile.kind === 'bins' ? profile.edges.length + 1 : profile.values.length;
    if (profile.shares.length !== expected) throw new ModelLoadError(`${cardPath}: the drift reference of ${profile.name} has ${profile.shares.length} shares for ${expected} bins.`);
  }
  return valid;
}

/**
 * A loaded churn classifier: one onnxruntime session whose input is float32 [N, 5] and whose
 * float32 [N, 2] probabilities output gives P(churn) in column 1. Knows nothing about HTTP.
 */
export class ChurnModel implements ServedModel {
  readonly path: string;
  readonly version: string;
  readonly sha256: string;
  readonly card: ModelCard | undefined;
  readonly explainer: TreeExplainer | undefined;
  readonly explanationsUnavailable: string | undefined;
  readonly loadDetails: LoadDetails;
  readonly signature: ModelSignature;
  private readonly session: ort.InferenceSession;
  private readonly inputName: string;
  private readonly probabilitiesName: string;
  private readonly labelName: string | undefined;
  private readonly outputNames: string[];

  private constructor(parts: Omit<ServedModel, 'explainer' | 'explanationsUnavailable'> & { session: ort.InferenceSession; explanations: ReturnType<typeof explainerFor> }) {
    this.path = parts.path;
    this.version = parts.version;
    this.sha256 = parts.sha256;
    this.card = parts.card;
    this.loadDetails = parts.loadDetails;
    this.session = parts.session;
    this.signature = parts.signature;
    this.inputName = parts.signature.input.name;
    this.outputNames = parts.signature.outputs.map((output) => output.name);
    this.probabilitiesName = parts.signature.outputs.find((output) => output.role === 'probabilities')!.name;
    this.labelName = parts.signature.outputs.find((output) => output.role === 'label')?.name;
    this.explainer = 'explainer' in parts.explanations ? parts.explanations.explainer : undefined;
    this.explanationsUnavailable = 'unavailable' in parts.explanations ? parts.explanations.unavailable : undefined;
  }

  static async load(path: string, options: ModelOptions): Promise<ChurnModel> {
    const started = performance.now();
    const file = await stat(path).catch(() => undefined);
    if (!file?.isFile()) throw new ModelLoadError(`Model not found at ${path}`);
    // One read: the same bytes are hashed, run and explained.
    const bytes = await readFile(path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');

    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: options.intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (error) {
      throw new ModelLoadError(`Model at ${path} is not a valid ONNX model: ${(error as Error).message}`);
    }

    try {
      const signature = ChurnModel.checkSignature(session, path);
      const loadDetails: LoadDetails = {
        fileBytes: file.size,
        loadMs: 0,
        inputs: session.inputMetadata.map(describe),
        outputs: session.outputMetadata.map(describe),
      };
      const version = await readVersion(path);
      const card = await readCard(path, sha256, version);
      const model = new ChurnModel({ session, signature, path, version, sha256, card, loadDetails, explanations: explainerFor(bytes) });
      await model.checkProbe();
      loadDetails.loadMs = Math.round((performance.now() - started) * 10) / 10;
      return model;
    } catch (error) {
      await session.release().catch(() => undefined);
      throw error;
    }
  }

  private static checkSignature(session: ort.InferenceSession, path: string) {
    const doesNotFit = (why: string) => new ModelLoadError(`Model at ${path} does not fit this service: ${why}`);

    const inputs = session.inputMetadata;
    const input = inputs[0];
    if (inputs.length !== 1 || !input?.isTensor || input.type !== 'float32' || input.shape.length !== 2 ||
        !dimensionFits(input.shape[1], FEATURE_COUNT)) {
      throw doesNotFit(`it must take one float32 [N, ${FEATURE_COUNT}] input, but takes ${inputs.map(describe).join(', ')}`);
    }

    const nonTensor = session.outputMetadata.filter((output) => !output.isTensor);
    if (nonTensor.length > 0) {
      throw doesNotFit(
        `output ${nonTensor.map(describe).join(', ')} is a map or sequence, which onnxruntime-node cannot return. ` +
          `Export the classifier with ZipMap disabled (skl2onnx: options={id(model): {'zipmap': False}}) so probabilities are a float32 [N, 2] tensor.`,
      );
    }
    const candidates = (session.outputMetadata as TensorMetadata[]).filter(
      (output) => output.type === 'float32' && output.shape.length === 2 && dimensionFits(output.shape[1], 2),
    );
    const probabilities = candidates.find((candidate) => candidate.name === PROBABILITIES_OUTPUT) ?? candidates[0];
    if (!probabilities) {
      throw doesNotFit(
        `it needs a float32 [N, 2] probabilities output, but has ${session.outputMetadata.map(describe).join(', ')}`,
      );
    }
    const labels = (session.outputMetadata as TensorMetadata[]).filter((output) => output.type === 'int64' && output.shape.length === 1);
    const label = labels.find((candidate) => candidate.name === LABEL_OUTPUT) ?? labels[0];
    const spec = (meta: TensorMetadata): TensorSpec => ({ name: meta.name, type: meta.type, shape: [...meta.shape] });
    const roles = new Map<string, OutputSpec['role']>([[probabilities.name, 'probabilities']]);
    if (label) roles.set(label.name, 'label');
    return {
      input: spec(input),
      outputs: (session.outputMetadata as TensorMetadata[]).flatMap((output) => {
        const role = roles.get(output.name);
        return role ? [{ ...spec(output), role }] : [];
      }),
    };
  }

  /** One real run at load time: catches shape errors that metadata cannot show, and warms the session. */
  private async checkProbe(): Promise<void> {
    let churn: Float32Array;
    try {
      ({ churn } = await this.predict(probeRow(), 1));
    } catch (error) {
      throw new ModelLoadError(`Model at ${this.path} does not fit this service: a test run failed: ${(error as Error).message}`);
    }
    const [probability] = churn;
    if (churn.length !== 1 || probability === undefined || !(probability >= 0 && probability <= 1)) {
      throw new ModelLoadError(
        `Model at ${this.path} does not fit this service: a test run gave ${churn.length} probabilities (${[...churn].join(', ')}) for one row`,
      );
    }
  }

  /**
   * Runs exactly one onnxruntime pass over `rows` rows packed row-major in `features`. The call
   * is synchronous inside onnxruntime-node: it blocks the event loop for its whole duration, so
   * callers bound `rows`. The label costs nothing extra: the classifier computes it anyway.
   */
  async predict(features: Float32Array, rows: number): Promise<ModelOutputs> {
    const input = new ort.Tensor('float32', features, [rows, FEATURE_COUNT]);
    const results = await this.session.run({ [this.inputName]: input }, this.outputNames);
    const output = results[this.probabilitiesName];
    if (!output || output.dims.length !== 2 || output.dims[0] !== rows || output.dims[1] !== 2) {
      throw new Error(`Model returned probabilities of shape [${output?.dims.join(', ')}] for ${rows} rows`);
    }
    const label = this.labelName === undefined ? undefined : results[this.labelName];
    if (label && (label.dims.length !== 1 || label.dims[0] !== rows)) {
      throw new Error(`Model returned labels of shape [${label.dims.join(', ')}] for ${rows} rows`);
    }
    const probabilities = output.data as Float32Array;
    const churn = new Float32Array(rows);
    for (let row = 0; row < rows; row += 1) churn[row] = probabilities[row * 2 + 1]!;
    return { rows, churn, probabilities, labels: label?.data as BigInt64Array | undefined };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
