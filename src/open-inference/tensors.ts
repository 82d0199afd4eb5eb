import type { OutputSpec, TensorSpec } from '../data-plane/model.js';
import type { Score } from '../data-plane/data-plane.js';
import type { FeatureRow } from '../data-plane/feature-rows.js';
import { cutEcho } from '../echo.js';
import { BadRequestError, type RowIssue } from '../errors.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../schemas/customer-features.js';
import type { Datatype, MetadataTensor, RequestInput, ResponseOutput } from '../schemas/open-inference.js';

/**
 * The protocol's tensors and the data plane's rows and scores, each turned into the other. The
 * data plane checks the values (the feature ranges); this file checks only the tensor's form.
 */

const DATATYPE_OF: Record<string, Datatype> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

/** The protocol's datatype for an onnxruntime element type. */
export function datatypeOf(type: string): Datatype {
  const datatype = DATATYPE_OF[type];
  if (!datatype) throw new Error(`No Open Inference Protocol datatype for onnxruntime type ${type}`);
  return datatype;
}

/** A symbolic dimension (the batch, "N") is -1 in metadata. */
function metadataShape(spec: TensorSpec): number[] {
  return spec.shape.map((dimension) => (typeof dimension === 'number' && dimension >= 0 ? dimension : -1));
}

/** The model's input as metadata, naming its columns so a caller can build rows without the churn API's docs. */
export function inputMetadata(input: TensorSpec): MetadataTensor {
  return { name: input.name, datatype: datatypeOf(input.type), shape: metadataShape(input), parameters: { columns: FEATURE_NAMES.join(',') } };
}

export function outputMetadata(output: TensorSpec): MetadataTensor {
  return { name: output.name, datatype: datatypeOf(output.type), shape: metadataShape(output) };
}

const formatShape = (shape: readonly unknown[]) => `[${shape.join(', ')}]`;

function describeInput(input: TensorSpec): string {
  return `'${input.name}' (${datatypeOf(input.type)} ${formatShape(metadataShape(input))}, columns ${FEATURE_NAMES.join(', ')})`;
}

const invalid = (message: string) => new BadRequestError(message);
/** A tensor name the caller chose, as a message quotes it: cut short. */
const quoted = (name: string) => `'${cutEcho(name)}'`;

/** The one element at `path` must be a JSON number; the data plane then checks its range. */
function numberAt(value: unknown, path: string, name: string): number {
  if (typeof value !== 'number') throw invalid(`Input '${name}' ${path} must be a number, got ${value === null ? 'null' : typeof value === 'string' ? JSON.stringify(value.slice(0, 32)) : Array.isArray(value) ? 'an array' : typeof value}.`);
  return value;
}

/**
 * The request's inputs as feature rows. The model takes one FP32 [N, 5] input, N from 1 to
 * `maxRows`, with `data` flat in row-major order or nested as N rows of 5.
 */
export function rowsFromInputs(inputs: readonly RequestInput[], modelInput: TensorSpec, maxRows: number): FeatureRow[] {
  const input = inputs[0]!;
  if (inputs.length > 1 || input.name !== modelInput.name) {
    const names = inputs.map((candidate) => quoted(candidate.name)).join(', ');
    throw invalid(`The model takes one input, ${describeInput(modelInput)}; the request sent ${names}.`);
  }
  const { name, datatype, shape, data } = input;
  if (datatype !== 'FP32') throw invalid(`Input '${name}' must be FP32, got ${datatype}.`);
  if (shape.length !== 2 || shape[1] !== FEATURE_COUNT) {
    throw invalid(`Input '${name}' must have shape [N, ${FEATURE_COUNT}], one row per customer; got ${formatShape(shape)}.`);
  }
  const rows = shape[0]!;
  if (rows < 1) throw invalid(`Input '${name}' must hold at least one row; got shape ${formatShape(shape)}.`);
  if (rows > maxRows) throw invalid(`Input '${name}' holds ${rows} rows; at most ${maxRows} are taken in one request.`);

  const values = new Array<number>(rows * FEATURE_COUNT);
  if (Array.isArray(data[0])) {
    if (data.length !== rows) throw invalid(`Input '${name}' data must hold ${rows} rows of ${FEATURE_COUNT} for shape ${formatShape(shape)}; got ${data.length} rows.`);
    for (let row = 0; row < rows; row += 1) {
      const cells = data[row];
      if (!Array.isArray(cells) || cells.length !== FEATURE_COUNT) {
        const got = Array.isArray(cells) ? `${cells.length} values` : 'a single value';
        throw invalid(`Input '${name}' data[${row}] must be a row of ${FEATURE_COUNT} numbers; got ${got}.`);
      }
      for (let column = 0; column < FEATURE_COUNT; column += 1) values[row * FEATURE_COUNT + column] = numberAt(cells[column], `data[${row}][${column}]`, name);
    }
  } else {
    if (data.length !== values.length) {
      throw invalid(`Input '${name}' data must hold ${values.length} numbers for shape ${formatShape(shape)} (flat, row-major, or nested as ${rows} row${rows === 1 ? '' : 's'} of ${FEATURE_COUNT}); got ${data.length}.`);
    }
    for (let index = 0; index < values.length; index += 1) values[index] = numberAt(data[index], `data[${index}]`, name);
  }

  const featureRows = new Array<FeatureRow>(rows);
  for (let row = 0; row < rows; row += 1) {
    const features: Record<string, number> = {};
    for (let column = 0; column < FEATURE_COUNT; column += 1) features[FEATURE_NAMES[column]!] = values[row * FEATURE_COUNT + column]!;
    featureRows[row] = features as FeatureRow;
  }
  return featureRows;
}

const RULES: Record<RowIssue['problem'], (issue: RowIssue) => string> = {
  not_a_number: () => 'must be a finite number',
  not_an_integer: () => 'must be a whole number',
  below_minimum: ({ limit }) => `must be at least ${limit}`,
  above_maximum: ({ limit }) => `must be at most ${limit}`,
};

/** At most this many value problems are spelled out in one error message. */
export const MAX_LISTED_ISSUES = 20;

/** Values outside the feature ranges, named by row, column and feature, in one message. */
export function describeRowIssues(issues: readonly RowIssue[]): string {
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map(
    (issue) => `row ${issue.row}, column ${FEATURE_NAMES.indexOf(issue.feature as (typeof FEATURE_NAMES)[number])} (${issue.feature}) ${RULES[issue.problem](issue)}, got ${String(issue.value)}`,
  );
  const more = issues.length - listed.length;
  return `Input values are outside the model's feature ranges: ${listed.join('; ')}${more > 0 ? `; …and ${more} more` : ''}.`;
}

/** The outputs to return: those requested, in the order requested (each once), or all the model serves. */
export function selectOutputs(served: readonly OutputSpec[], requested: readonly { name: string }[] | undefined): OutputSpec[] {
  if (requested === undefined || requested.length === 0) return [...served];
  const unknown = requested.filter((output) => !served.some((candidate) => candidate.name === output.name));
  if (unknown.length > 0) {
    throw invalid(`Unknown output ${unknown.map((output) => quoted(output.name)).join(', ')}; the model gives ${served.map((output) => `'${output.name}'`).join(' and ')}.`);
  }
  const names = [...new Set(requested.map((output) => output.name))];
  return names.map((name) => served.find((candidate) => candidate.name === name)!);
}

/** One output tensor for all of `scores`, exactly as onnxruntime returned it for each row. */
export function outputTensor(output: OutputSpec, scores: readonly Score[]): ResponseOutput {
  const rows = scores.length;
  if (output.role === 'label') {
    const data = new Array<number>(rows);
    for (let row = 0; row < rows; row += 1) {
      const { outputs, row: at } = scores[row]!;
      data[row] = Number(outputs.labels![at]);
    }
    return { name: output.name, datatype: datatypeOf(output.type), shape: [rows], data };
  }
  const data = new Array<number>(rows * 2);
  for (let row = 0; row < rows; row += 1) {
    const { outputs, row: at } = scores[row]!;
    data[row * 2] = outputs.probabilities[at * 2]!;
    data[row * 2 + 1] = outputs.probabilities[at * 2 + 1]!;
  }
  return { name: output.name, datatype: datatypeOf(output.type), shape: [rows, 2], data };
}
