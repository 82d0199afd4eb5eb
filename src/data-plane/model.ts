import type { ModelCard } from '../schemas/model-card.js';
import type { ReferenceCalibration } from '../schemas/reference-calibration.js';
import type { TreeExplainer } from './tree-explainer.js';

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

/** One model run's outputs for `rows` rows, exactly as the backend returned them. */
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
 * The model being served, as every protocol and monitor may see it: its identity, its card
 * (bound to the file by its sha256), its explainer (built from the very trees the backend runs)
 * and its tensors.
 */
export interface ServedModel extends ModelInfo {
  /** sha256 of the model file. */
  readonly sha256: string;
  /** Undefined only when the model was allowed to load without one (see warnings). */
  readonly card: ModelCard | undefined;
  /**
   * The reference calibrator fitted for this file on the hold-out customers, which the performance
   * estimate (CBPE) applies; undefined when there is none beside the model (estimates then use the
   * raw probabilities).
   */
  readonly calibration: ReferenceCalibration | undefined;
  /** What an operator must know about this model, one sentence each; empty when nothing is amiss. */
  readonly warnings: readonly string[];
  /** Exact TreeSHAP over the model's trees, or undefined with the reason in explanationsUnavailable. */
  readonly explainer: TreeExplainer | undefined;
  readonly explanationsUnavailable: string | undefined;
  readonly loadDetails: LoadDetails;
  readonly signature: ModelSignature;
}

/**
 * A loaded model the data plane can run: what it serves, plus one scoring pass and its release.
 * A backend (onnxruntime today) implements predict and close; the loader composes the rest.
 */
export interface Model extends ServedModel {
  /**
   * Exactly one pass over `rows` rows packed row-major in `features`. A backend may block the
   * event loop for the whole pass (onnxruntime-node does), so callers bound `rows`.
   */
  predict(features: Float32Array, rows: number): Promise<ModelOutputs>;
  /** Releases the backend's resources; the model is never used again. */
  close(): Promise<void>;
}

/** Loads, checks and returns the model at `path`, or throws a ModelLoadError saying why not. */
export type ModelLoader = (path: string) => Promise<Model>;

/** Which place a model holds: the champion answers callers; a challenger is compared with it (shadow) or answers a share of them (canary). */
export type ModelRole = 'champion' | 'challenger';

export const MODEL_ROLES: readonly ModelRole[] = ['champion', 'challenger'];
