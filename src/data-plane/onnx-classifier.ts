import ort from 'onnxruntime-node';
import { ModelLoadError } from '../errors.js';
import { FEATURE_COUNT } from '../schemas/customer-features.js';
import type { ModelOutputs, ModelSignature, OutputSpec, TensorSpec } from './model.js';

const PROBABILITIES_OUTPUT = 'probabilities';
const LABEL_OUTPUT = 'label';

export interface OnnxOptions {
  intraOpThreads: number;
}

type TensorMetadata = ort.InferenceSession.TensorValueMetadata;

export function describeTensor(meta: ort.InferenceSession.ValueMetadata): string {
  return meta.isTensor ? `'${meta.name}' ${meta.type} [${meta.shape.join(', ')}]` : `'${meta.name}' (not a tensor)`;
}

/** A dimension fits when it is the wanted size or symbolic (decided at run time). */
function dimensionFits(dimension: number | string | undefined, wanted: number): boolean {
  return dimension === wanted || typeof dimension === 'string' || dimension === -1;
}

/** The tensors the service can use, chosen by name first and by form second; refuses a model that has none. */
function signatureOf(session: ort.InferenceSession, path: string): ModelSignature {
  const doesNotFit = (why: string) => new ModelLoadError(`Model at ${path} does not fit this service: ${why}`);

  const inputs = session.inputMetadata;
  const input = inputs[0];
  if (inputs.length !== 1 || !input?.isTensor || input.type !== 'float32' || input.shape.length !== 2 ||
      !dimensionFits(input.shape[1], FEATURE_COUNT)) {
    throw doesNotFit(`it must take one float32 [N, ${FEATURE_COUNT}] input, but takes ${inputs.map(describeTensor).join(', ')}`);
  }

  const nonTensor = session.outputMetadata.filter((output) => !output.isTensor);
  if (nonTensor.length > 0) {
    throw doesNotFit(
      `output ${nonTensor.map(describeTensor).join(', ')} is a map or sequence, which onnxruntime-node cannot return. ` +
        `Export the classifier with ZipMap disabled (skl2onnx: options={id(model): {'zipmap': False}}) so probabilities are a float32 [N, 2] tensor.`,
    );
  }
  const candidates = (session.outputMetadata as TensorMetadata[]).filter(
    (output) => output.type === 'float32' && output.shape.length === 2 && dimensionFits(output.shape[1], 2),
  );
  const probabilities = candidates.find((candidate) => candidate.name === PROBABILITIES_OUTPUT) ?? candidates[0];
  if (!probabilities) {
    throw doesNotFit(`it needs a float32 [N, 2] probabilities output, but has ${session.outputMetadata.map(describeTensor).join(', ')}`);
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

/**
 * The onnxruntime backend: one session of a binary classifier whose input is float32 [N, 5] and
 * whose float32 [N, 2] probabilities output gives P(churn) in column 1. It knows no card, no
 * version and no explainer: the loader composes those around it.
 */
export class OnnxClassifier {
  readonly signature: ModelSignature;
  /** The session's own tensors, described for the debug log. */
  readonly described: { inputs: string[]; outputs: string[] };
  readonly #session: ort.InferenceSession;
  readonly #inputName: string;
  readonly #probabilitiesName: string;
  readonly #labelName: string | undefined;
  readonly #outputNames: string[];

  private constructor(session: ort.InferenceSession, signature: ModelSignature) {
    this.#session = session;
    this.signature = signature;
    this.described = { inputs: session.inputMetadata.map(describeTensor), outputs: session.outputMetadata.map(describeTensor) };
    this.#inputName = signature.input.name;
    this.#outputNames = signature.outputs.map((output) => output.name);
    this.#probabilitiesName = signature.outputs.find((output) => output.role === 'probabilities')!.name;
    this.#labelName = signature.outputs.find((output) => output.role === 'label')?.name;
  }

  /** A session over `bytes` whose tensors fit the service; `path` names the file in errors. */
  static async create(bytes: Uint8Array, path: string, options: OnnxOptions): Promise<OnnxClassifier> {
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
      return new OnnxClassifier(session, signatureOf(session, path));
    } catch (error) {
      await session.release().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Runs exactly one onnxruntime pass over `rows` rows packed row-major in `features`. The call
   * is synchronous inside onnxruntime-node: it blocks the event loop for its whole duration, so
   * callers bound `rows`. The label costs nothing extra: the classifier computes it anyway.
   */
  async predict(features: Float32Array, rows: number): Promise<ModelOutputs> {
    const input = new ort.Tensor('float32', features, [rows, FEATURE_COUNT]);
    const results = await this.#session.run({ [this.#inputName]: input }, this.#outputNames);
    const output = results[this.#probabilitiesName];
    if (!output || output.dims.length !== 2 || output.dims[0] !== rows || output.dims[1] !== 2) {
      throw new Error(`Model returned probabilities of shape [${output?.dims.join(', ')}] for ${rows} rows`);
    }
    const label = this.#labelName === undefined ? undefined : results[this.#labelName];
    if (label && (label.dims.length !== 1 || label.dims[0] !== rows)) {
      throw new Error(`Model returned labels of shape [${label.dims.join(', ')}] for ${rows} rows`);
    }
    const probabilities = output.data as Float32Array;
    const churn = new Float32Array(rows);
    for (let row = 0; row < rows; row += 1) churn[row] = probabilities[row * 2 + 1]!;
    return { rows, churn, probabilities, labels: label?.data as BigInt64Array | undefined };
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}
