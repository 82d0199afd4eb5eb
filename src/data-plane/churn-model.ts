import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { ModelLoadError } from '../errors.js';
import { FEATURE_COUNT } from '../schemas/customer-features.js';
import { FEATURE_RULES } from './feature-rows.js';

const DEFAULT_MODEL_VERSION = '1.0.0';
const PROBABILITIES_OUTPUT = 'probabilities';

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

/** What a load found, for the debug log. */
export interface LoadDetails {
  fileBytes: number;
  loadMs: number;
  inputs: string[];
  outputs: string[];
}

/** A model just loaded: what any protocol may know, and what the load found. */
export interface LoadedModel extends ModelInfo {
  readonly loadDetails: LoadDetails;
}

/**
 * A loaded churn classifier: one onnxruntime session whose input is float32 [N, 5] and whose
 * float32 [N, 2] probabilities output gives P(churn) in column 1. Knows nothing about HTTP.
 */
export class ChurnModel implements LoadedModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    readonly path: string,
    readonly version: string,
    readonly loadDetails: LoadDetails,
  ) {}

  static async load(path: string, options: ModelOptions): Promise<ChurnModel> {
    const started = performance.now();
    const file = await stat(path).catch(() => undefined);
    if (!file?.isFile()) throw new ModelLoadError(`Model not found at ${path}`);

    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, {
        intraOpNumThreads: options.intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (error) {
      throw new ModelLoadError(`Model at ${path} is not a valid ONNX model: ${(error as Error).message}`);
    }

    try {
      const { inputName, outputName } = ChurnModel.checkSignature(session, path);
      const details: LoadDetails = {
        fileBytes: file.size,
        loadMs: 0,
        inputs: session.inputMetadata.map(describe),
        outputs: session.outputMetadata.map(describe),
      };
      const model = new ChurnModel(session, inputName, outputName, path, await readVersion(path), details);
      await model.checkProbe();
      details.loadMs = Math.round((performance.now() - started) * 10) / 10;
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
    const output = candidates.find((candidate) => candidate.name === PROBABILITIES_OUTPUT) ?? candidates[0];
    if (!output) {
      throw doesNotFit(
        `it needs a float32 [N, 2] probabilities output, but has ${session.outputMetadata.map(describe).join(', ')}`,
      );
    }
    return { inputName: input.name, outputName: output.name };
  }

  /** One real run at load time: catches shape errors that metadata cannot show, and warms the session. */
  private async checkProbe(): Promise<void> {
    let probabilities: Float32Array;
    try {
      probabilities = await this.predictProbabilities(probeRow(), 1);
    } catch (error) {
      throw new ModelLoadError(`Model at ${this.path} does not fit this service: a test run failed: ${(error as Error).message}`);
    }
    const [probability] = probabilities;
    if (probabilities.length !== 1 || probability === undefined || !(probability >= 0 && probability <= 1)) {
      throw new ModelLoadError(
        `Model at ${this.path} does not fit this service: a test run gave ${probabilities.length} probabilities (${[...probabilities].join(', ')}) for one row`,
      );
    }
  }

  /**
   * Runs exactly one onnxruntime pass over `rows` rows packed row-major in `features` and
   * returns P(churn) per row. The call is synchronous inside onnxruntime-node: it blocks the
   * event loop for its whole duration, so callers bound `rows`.
   */
  async predictProbabilities(features: Float32Array, rows: number): Promise<Float32Array> {
    const input = new ort.Tensor('float32', features, [rows, FEATURE_COUNT]);
    const results = await this.session.run({ [this.inputName]: input }, [this.outputName]);
    const output = results[this.outputName];
    if (!output || output.dims.length !== 2 || output.dims[0] !== rows || output.dims[1] !== 2) {
      throw new Error(`Model returned probabilities of shape [${output?.dims.join(', ')}] for ${rows} rows`);
    }
    const pairs = output.data as Float32Array;
    const churn = new Float32Array(rows);
    for (let row = 0; row < rows; row += 1) churn[row] = pairs[row * 2 + 1]!;
    return churn;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
