import { describe, expect, it } from 'vitest';
import type { OutputSpec, ServedModel } from '../../src/data-plane/model.js';
import type { Score } from '../../src/data-plane/data-plane.js';
import { BadRequestError, type RowIssue } from '../../src/errors.js';
import { datatypeOf, describeRowIssues, inputMetadata, MAX_LISTED_ISSUES, outputMetadata, outputTensor, rowsFromInputs, selectOutputs } from '../../src/open-inference/tensors.js';
import type { RequestInput } from '../../src/schemas/open-inference.js';

/** The Open Inference Protocol's tensors to and from the data plane's rows, without HTTP. */

const INPUT = { name: 'features', type: 'float32', shape: ['N', 5] };
const LABEL: OutputSpec = { name: 'label', type: 'int64', shape: ['N'], role: 'label' };
const PROBABILITIES: OutputSpec = { name: 'probabilities', type: 'float32', shape: ['N', 2], role: 'probabilities' };
const input = (data: unknown[], shape = [1, 5]): RequestInput => ({ name: 'features', datatype: 'FP32', shape, data });

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('metadata', () => {
  it('names onnxruntime element types as the protocol does, and refuses one it has no name for', () => {
    expect(['bool', 'uint8', 'int32', 'int64', 'float16', 'float32', 'float64', 'string'].map(datatypeOf)).toEqual(['BOOL', 'UINT8', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES']);
    expect(() => datatypeOf('complex64')).toThrowError('No Open Inference Protocol datatype for onnxruntime type complex64');
  });

  it('writes symbolic and negative dimensions as -1 and keeps sizes, 0 included', () => {
    expect(outputMetadata({ name: 'scores', type: 'float32', shape: ['batch', 0, 3, -1] })).toEqual({ name: 'scores', datatype: 'FP32', shape: [-1, 0, 3, -1] });
    // Any negative size is unknown; a symbolic name is one however it reads, a number's digits or nothing.
    expect(outputMetadata({ name: 'scores', type: 'float32', shape: [-2, '8', ''] }).shape).toEqual([-1, -1, -1]);
    expect(inputMetadata(INPUT)).toEqual({
      name: 'features',
      datatype: 'FP32',
      shape: [-1, 5],
      parameters: { columns: 'tenure_months,monthly_charges,total_charges,num_products,has_support_calls' },
    });
  });
});

describe('rowsFromInputs', () => {
  it('turns flat and nested data into named feature rows', () => {
    const expected = [
      { tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 },
      { tenure_months: 45, monthly_charges: 42.3, total_charges: 1840.75, num_products: 4, has_support_calls: 1 },
    ];
    expect(rowsFromInputs([input([2, 70.7, 151.65, 2, 0, 45, 42.3, 1840.75, 4, 1], [2, 5])], INPUT, 2)).toEqual(expected);
    expect(rowsFromInputs([input([[2, 70.7, 151.65, 2, 0], [45, 42.3, 1840.75, 4, 1]], [2, 5])], INPUT, 2)).toEqual(expected);
  });

  it('refuses a shape of more than two dimensions, even when its first two fit', () => {
    expect(refusal(() => rowsFromInputs([input([1, 2, 3, 4, 5], [1, 5, 1])], INPUT, 10))).toBe("Input 'features' must have shape [N, 5], one row per customer; got [1, 5, 1].");
  });

  it('takes exactly up to the row limit', () => {
    expect(rowsFromInputs([input(new Array(15).fill(1), [3, 5])], INPUT, 3)).toHaveLength(3);
    expect(refusal(() => rowsFromInputs([input(new Array(20).fill(1), [4, 5])], INPUT, 3))).toBe("Input 'features' holds 4 rows; at most 3 are taken in one request.");
  });

  it('names the input the model takes, by the model\'s own name', () => {
    const renamed = { name: 'float_input', type: 'float32', shape: [-1, 5] };
    expect(refusal(() => rowsFromInputs([input([1, 2, 3, 4, 5])], renamed, 10))).toBe(
      "The model takes one input, 'float_input' (FP32 [-1, 5], columns tenure_months, monthly_charges, total_charges, num_products, has_support_calls); the request sent 'features'.",
    );
  });

  it('says what a value that is no number is, and cuts a long string short', () => {
    const long = 'x'.repeat(40);
    expect(refusal(() => rowsFromInputs([input([1, 2, long, 4, 5])], INPUT, 10))).toBe(`Input 'features' data[2] must be a number, got "${'x'.repeat(32)}".`);
    expect(refusal(() => rowsFromInputs([input([1, 2, 3, { value: 4 }, 5])], INPUT, 10))).toBe("Input 'features' data[3] must be a number, got object.");
    expect(refusal(() => rowsFromInputs([input([[1, 2, 3, 4, 'five']])], INPUT, 10))).toBe('Input \'features\' data[0][4] must be a number, got "five".');
  });

  it('reads a row count of one in the singular', () => {
    expect(refusal(() => rowsFromInputs([input([1, 2, 3])], INPUT, 10))).toBe(
      "Input 'features' data must hold 5 numbers for shape [1, 5] (flat, row-major, or nested as 1 row of 5); got 3.",
    );
  });
});

describe('describeRowIssues', () => {
  const issue = (row: number): RowIssue => ({ row, feature: 'num_products', problem: 'below_minimum', value: 0, limit: 1, message: '' });

  it('spells out up to 20 problems with no count of the rest', () => {
    const text = describeRowIssues(Array.from({ length: MAX_LISTED_ISSUES }, (_, row) => issue(row)));
    expect(text.match(/column 3 \(num_products\) must be at least 1, got 0/g)).toHaveLength(20);
    expect(text).toMatch(/^Input values are outside the model's feature ranges: row 0, .*; row 19, column 3 \(num_products\) must be at least 1, got 0\.$/);
  });

  it('counts the problems past 20', () => {
    expect(describeRowIssues(Array.from({ length: 21 }, (_, row) => issue(row)))).toMatch(/; row 19, column 3 \(num_products\) must be at least 1, got 0; …and 1 more\.$/);
  });

  it('words every kind of problem', () => {
    expect(
      describeRowIssues([
        { row: 0, feature: 'tenure_months', problem: 'not_a_number', value: Number.NaN, message: '' },
        { row: 0, feature: 'has_support_calls', problem: 'not_an_integer', value: 0.5, message: '' },
        { row: 1, feature: 'monthly_charges', problem: 'above_maximum', value: 501, limit: 500, message: '' },
      ]),
    ).toBe(
      "Input values are outside the model's feature ranges: row 0, column 0 (tenure_months) must be a finite number, got NaN; " +
        'row 0, column 4 (has_support_calls) must be a whole number, got 0.5; row 1, column 1 (monthly_charges) must be at most 500, got 501.',
    );
  });
});

describe('selectOutputs', () => {
  it('names every unknown output and every served one', () => {
    expect(refusal(() => selectOutputs([PROBABILITIES], [{ name: 'label' }]))).toBe("Unknown output 'label'; the model gives 'probabilities'.");
    expect(refusal(() => selectOutputs([LABEL, PROBABILITIES], [{ name: 'a' }, { name: 'label' }, { name: 'b' }]))).toBe(
      "Unknown output 'a', 'b'; the model gives 'label' and 'probabilities'.",
    );
  });

  it('gives the outputs asked for in the order asked, each once, or all of them', () => {
    expect(selectOutputs([LABEL, PROBABILITIES], [{ name: 'probabilities' }, { name: 'label' }, { name: 'probabilities' }])).toEqual([PROBABILITIES, LABEL]);
    expect(selectOutputs([LABEL, PROBABILITIES], undefined)).toEqual([LABEL, PROBABILITIES]);
    expect(selectOutputs([LABEL, PROBABILITIES], [])).toEqual([LABEL, PROBABILITIES]);
  });
});

describe('outputTensor', () => {
  it('takes each score\'s row from the run that scored it, wherever the row sat in that run', () => {
    const model = {} as ServedModel;
    const shared = { rows: 3, churn: Float32Array.from([0.1, 0.2, 0.3]), probabilities: Float32Array.from([0.9, 0.1, 0.8, 0.2, 0.7, 0.3]), labels: BigInt64Array.from([0n, 0n, 1n]) };
    const alone = { rows: 1, churn: Float32Array.from([0.6]), probabilities: Float32Array.from([0.4, 0.6]), labels: BigInt64Array.from([1n]) };
    const scores: Score[] = [
      { probability: 0.3, model, role: 'champion', inferenceMs: 1, queuedMs: 0, runId: 1, outputs: shared, row: 2 },
      { probability: 0.6, model, role: 'champion', inferenceMs: 1, queuedMs: 0, runId: 2, outputs: alone, row: 0 },
      { probability: 0.2, model, role: 'champion', inferenceMs: 1, queuedMs: 0, runId: 1, outputs: shared, row: 1 },
    ];
    expect(outputTensor(LABEL, scores)).toEqual({ name: 'label', datatype: 'INT64', shape: [3], data: [1, 1, 0] });
    expect(outputTensor(PROBABILITIES, scores)).toEqual({
      name: 'probabilities',
      datatype: 'FP32',
      shape: [3, 2],
      data: [0.7, 0.3, 0.4, 0.6, 0.8, 0.2].map(Math.fround),
    });
  });
});
