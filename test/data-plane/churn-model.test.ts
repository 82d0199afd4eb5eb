import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import protobuf from 'protobufjs/light.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadChurnModel } from '../../src/data-plane/churn-model.js';
import { readModelIdentity } from '../../src/data-plane/model-card-file.js';
import { ModelLoadError } from '../../src/errors.js';
import { BUNDLED_MODEL, withMetadata } from './model-fixtures.js';

/**
 * The churn model loader and its onnxruntime backend against sessions whose signature and outputs no real ONNX file could easily have:
 * onnxruntime's session is replaced by a fake that describes the tensors and answers run().
 * The file itself is the linear fixture (no model card, no trees), so a load is cheap.
 */

const MODEL = fileURLToPath(new URL('../fixtures/unexplainable-models/linear/churn_model.onnx', import.meta.url));
const OPTIONS = { intraOpThreads: 1, allowMissingCard: true };
const NOT_FIT = `Model at ${MODEL} does not fit this service: `;

type Metadata = ort.InferenceSession.ValueMetadata;
type Results = Record<string, { dims: readonly number[]; data: unknown }>;
type Feeds = Record<string, ort.Tensor>;

const tensor = (name: string, type: string, shape: (number | string)[]): Metadata => ({ name, isTensor: true, type, shape }) as Metadata;
const notTensor = (name: string): Metadata => ({ name, isTensor: false }) as Metadata;

const FEATURES = tensor('features', 'float32', ['N', 5]);
const LABEL = tensor('label', 'int64', ['N']);
const PROBABILITIES = tensor('probabilities', 'float32', ['N', 2]);

/** P(churn) 0.25 + 0.1 * row for each row; the label is 1 for rows at or above 0.4. */
function probabilities(rows: number): Float32Array {
  return Float32Array.from({ length: rows * 2 }, (_, index) => {
    const churn = 0.25 + 0.1 * Math.floor(index / 2);
    return index % 2 === 1 ? churn : 1 - churn;
  });
}

/** Answers every fetched tensor the way a classifier would, by its metadata. */
function classifierRun(outputs: Metadata[]) {
  return (feeds: Feeds, fetches: string[]): Results => {
    const rows = Object.values(feeds)[0]!.dims[0]!;
    const results: Results = {};
    for (const name of fetches) {
      const meta = outputs.find((output) => output.name === name) as ort.InferenceSession.TensorValueMetadata;
      if (meta.type === 'int64') results[name] = { dims: [rows], data: BigInt64Array.from({ length: rows }, (_, row) => (0.25 + 0.1 * row >= 0.4 ? 1n : 0n)) };
      else if (meta.shape.length === 2 && meta.shape[1] !== 3) results[name] = { dims: [rows, 2], data: probabilities(rows) };
      else results[name] = { dims: [rows, 3], data: new Float32Array(rows * 3).fill(9) };
    }
    return results;
  };
}

function fakeSession({ inputs = [FEATURES], outputs = [LABEL, PROBABILITIES], run }: { inputs?: Metadata[]; outputs?: Metadata[]; run?: (feeds: Feeds, fetches: string[]) => Results } = {}) {
  const answer = run ?? classifierRun(outputs);
  const session = {
    inputMetadata: inputs,
    outputMetadata: outputs,
    run: vi.fn(async (feeds: Feeds, fetches: string[]) => answer(feeds, fetches)),
    release: vi.fn(async () => undefined),
  };
  vi.spyOn(ort.InferenceSession, 'create').mockResolvedValue(session as unknown as ort.InferenceSession);
  return session;
}

afterEach(() => vi.restoreAllMocks());

describe('loadChurnModel: the input must be one float32 [N, 5] tensor', () => {
  it.each([
    ['a symbolic batch', [tensor('features', 'float32', ['batch', 5])]],
    ['a -1 batch', [tensor('features', 'float32', [-1, 5])]],
    ['a fixed batch', [tensor('features', 'float32', [1, 5])]],
    ['symbolic columns', [tensor('features', 'float32', ['N', 'C'])]],
    ['-1 columns', [tensor('features', 'float32', ['N', -1])]],
    ['another name', [tensor('float_input', 'float32', ['N', 5])]],
  ])('takes %s', async (_case, inputs) => {
    const session = fakeSession({ inputs });
    const model = await loadChurnModel(MODEL, OPTIONS);
    expect(model.signature.input).toEqual({ name: inputs[0]!.name, type: 'float32', shape: (inputs[0] as ort.InferenceSession.TensorValueMetadata).shape });
    // The probe ran on the input by its name: one row of every feature's lower bound.
    const [feeds] = session.run.mock.calls[0]!;
    expect(Object.keys(feeds)).toEqual([inputs[0]!.name]);
    expect([feeds[inputs[0]!.name]!.type, feeds[inputs[0]!.name]!.dims, [...(feeds[inputs[0]!.name]!.data as Float32Array)]]).toEqual(['float32', [1, 5], [0, 0, 0, 1, 0]]);
    await model.close();
  });

  it.each([
    ['four columns', [tensor('features', 'float32', ['N', 4])], "'features' float32 [N, 4]"],
    ['six columns', [tensor('features', 'float32', [1, 6])], "'features' float32 [1, 6]"],
    ['rank 1', [tensor('features', 'float32', [5])], "'features' float32 [5]"],
    ['rank 3', [tensor('features', 'float32', ['N', 5, 1])], "'features' float32 [N, 5, 1]"],
    ['float64', [tensor('features', 'float64', ['N', 5])], "'features' float64 [N, 5]"],
    ['int64', [tensor('features', 'int64', ['N', 5])], "'features' int64 [N, 5]"],
    ['not a tensor', [notTensor('features')], "'features' (not a tensor)"],
    ['two inputs', [FEATURES, tensor('extra', 'float32', ['N', 1])], "'features' float32 [N, 5], 'extra' float32 [N, 1]"],
    ['no input', [], ''],
  ])('refuses %s, naming what it takes, and releases the session', async (_case, inputs, takes) => {
    const session = fakeSession({ inputs });
    await expect(loadChurnModel(MODEL, OPTIONS)).rejects.toThrowError(new ModelLoadError(`${NOT_FIT}it must take one float32 [N, 5] input, but takes ${takes}`));
    expect(session.release).toHaveBeenCalledTimes(1);
    expect(session.run).not.toHaveBeenCalled();
  });
});

describe('loadChurnModel: the outputs it serves', () => {
  it('serves the probabilities and the label in the model\'s order, and nothing else', async () => {
    const outputs = [tensor('raw_scores', 'float32', ['N', 3]), PROBABILITIES, tensor('leaf_ids', 'int32', ['N']), LABEL];
    fakeSession({ outputs });
    const model = await loadChurnModel(MODEL, OPTIONS);
    expect(model.signature.outputs).toEqual([
      { name: 'probabilities', type: 'float32', shape: ['N', 2], role: 'probabilities' },
      { name: 'label', type: 'int64', shape: ['N'], role: 'label' },
    ]);
    expect(model.loadDetails.inputs).toEqual(["'features' float32 [N, 5]"]);
    expect(model.loadDetails.outputs).toEqual(["'raw_scores' float32 [N, 3]", "'probabilities' float32 [N, 2]", "'leaf_ids' int32 [N]", "'label' int64 [N]"]);
    await model.close();
  });

  it('prefers the output named probabilities over an earlier float32 [N, 2] one, and reads P(churn) from it', async () => {
    const decoy = tensor('logits', 'float32', ['N', 2]);
    const session = fakeSession({
      outputs: [decoy, LABEL, PROBABILITIES],
      run: (feeds, fetches) => {
        const rows = Object.values(feeds)[0]!.dims[0]!;
        const results: Results = { logits: { dims: [rows, 2], data: new Float32Array(rows * 2).fill(0.9) }, probabilities: { dims: [rows, 2], data: probabilities(rows) } };
        results.label = { dims: [rows], data: new BigInt64Array(rows) };
        return Object.fromEntries(fetches.map((name) => [name, results[name]!]));
      },
    });
    const model = await loadChurnModel(MODEL, OPTIONS);
    expect(model.signature.outputs.map((output) => [output.name, output.role])).toEqual([['label', 'label'], ['probabilities', 'probabilities']]);
    const scored = await model.predict(new Float32Array(10), 2);
    expect([...scored.churn]).toEqual([Math.fround(0.25), Math.fround(0.35)]);
    expect(session.run.mock.calls.at(-1)![1]).toEqual(['label', 'probabilities']);
    await model.close();
  });

  it.each([
    ['symbolic', tensor('output_probability', 'float32', ['N', 'C'])],
    ['-1', tensor('output_probability', 'float32', ['N', -1])],
    ['fixed', tensor('output_probability', 'float32', [1, 2])],
  ])('takes a float32 rank-2 output of another name whose second dimension is %s as the probabilities', async (_case, output) => {
    fakeSession({ outputs: [tensor('scores', 'float64', ['N', 2]), tensor('flat', 'float32', ['N']), tensor('wide', 'float32', ['N', 2, 1]), output] });
    const model = await loadChurnModel(MODEL, OPTIONS);
    expect(model.signature.outputs).toEqual([{ name: 'output_probability', type: 'float32', shape: output.isTensor ? [...output.shape] : [], role: 'probabilities' }]);
    await model.close();
  });

  it.each([
    ['float64 [N, 2]', tensor('probabilities', 'float64', ['N', 2]), "'probabilities' float64 [N, 2]"],
    ['float32 [N, 3]', tensor('probabilities', 'float32', ['N', 3]), "'probabilities' float32 [N, 3]"],
    ['float32 [N]', tensor('probabilities', 'float32', ['N']), "'probabilities' float32 [N]"],
    ['float32 [N, 2, 1]', tensor('probabilities', 'float32', ['N', 2, 1]), "'probabilities' float32 [N, 2, 1]"],
  ])('refuses a model whose only float output is %s', async (_case, output, described) => {
    const session = fakeSession({ outputs: [LABEL, output] });
    await expect(loadChurnModel(MODEL, OPTIONS)).rejects.toThrowError(
      new ModelLoadError(`${NOT_FIT}it needs a float32 [N, 2] probabilities output, but has 'label' int64 [N], ${described}`),
    );
    expect(session.release).toHaveBeenCalledTimes(1);
  });

  it('refuses map or sequence outputs, naming each, with the export advice', async () => {
    fakeSession({ outputs: [LABEL, notTensor('output_probability'), notTensor('extra_map')] });
    await expect(loadChurnModel(MODEL, OPTIONS)).rejects.toThrowError(
      new ModelLoadError(
        `${NOT_FIT}output 'output_probability' (not a tensor), 'extra_map' (not a tensor) is a map or sequence, which onnxruntime-node cannot return. ` +
          "Export the classifier with ZipMap disabled (skl2onnx: options={id(model): {'zipmap': False}}) so probabilities are a float32 [N, 2] tensor.",
      ),
    );
  });

  it('prefers the int64 [N] output named label over an earlier one', async () => {
    fakeSession({ outputs: [tensor('cluster', 'int64', ['N']), PROBABILITIES, LABEL] });
    const model = await loadChurnModel(MODEL, OPTIONS);
    expect(model.signature.outputs.map((output) => [output.name, output.role])).toEqual([['probabilities', 'probabilities'], ['label', 'label']]);
    await model.close();
  });

  it('takes the first int64 [N] output as the label when none is named label, and no label when none fits', async () => {
    fakeSession({ outputs: [tensor('label', 'int64', ['N', 1]), tensor('class', 'int32', ['N']), PROBABILITIES, tensor('output_label', 'int64', ['N']), tensor('other', 'int64', ['N'])] });
    const renamed = await loadChurnModel(MODEL, OPTIONS);
    expect(renamed.signature.outputs.map((output) => [output.name, output.role])).toEqual([['probabilities', 'probabilities'], ['output_label', 'label']]);
    const labelled = await renamed.predict(new Float32Array(15), 3);
    expect([...labelled.labels!]).toEqual([0n, 0n, 1n]);
    await renamed.close();

    vi.restoreAllMocks();
    fakeSession({ outputs: [tensor('label', 'int64', ['N', 1]), PROBABILITIES] });
    const unlabelled = await loadChurnModel(MODEL, OPTIONS);
    expect(unlabelled.signature.outputs.map((output) => output.role)).toEqual(['probabilities']);
    expect((await unlabelled.predict(new Float32Array(5), 1)).labels).toBeUndefined();
    await unlabelled.close();
  });
});

describe('loadChurnModel: the test run at load time', () => {
  const withProbe = (churn: number) => ({
    outputs: [PROBABILITIES],
    run: (): Results => ({ probabilities: { dims: [1, 2], data: Float32Array.from([1 - churn, churn]) } }),
  });

  it.each([0, 1, 0.5])('accepts a probability of %s', async (churn) => {
    fakeSession(withProbe(churn));
    const model = await loadChurnModel(MODEL, OPTIONS);
    await model.close();
  });

  it.each([
    [1.5, '1.5'],
    [-0.25, '-0.25'],
    [Number.NaN, 'NaN'],
  ])('refuses a probability of %s, and releases the session', async (churn, shown) => {
    const session = fakeSession(withProbe(churn));
    await expect(loadChurnModel(MODEL, OPTIONS)).rejects.toThrowError(
      new ModelLoadError(`${NOT_FIT}a test run gave 1 probabilities (${shown}) for one row`),
    );
    expect(session.release).toHaveBeenCalledTimes(1);
  });

  it('refuses a model whose test run fails, with the reason', async () => {
    const session = fakeSession({
      run: () => {
        throw new Error('Got invalid dimensions for input: features');
      },
    });
    await expect(loadChurnModel(MODEL, OPTIONS)).rejects.toThrowError(
      new ModelLoadError(`${NOT_FIT}a test run failed: Got invalid dimensions for input: features`),
    );
    expect(session.release).toHaveBeenCalledTimes(1);
  });
});

describe("the loaded model's predict: outputs of the wrong shape are errors, never misread scores", () => {
  /** A model that loads (its probe is answered well), then answers `later` for every run. */
  async function loadThen(later: (rows: number) => Results) {
    let probed = false;
    fakeSession({
      run: (feeds, fetches) => {
        const rows = Object.values(feeds)[0]!.dims[0]!;
        if (!probed) {
          probed = true;
          return classifierRun([LABEL, PROBABILITIES])(feeds, fetches);
        }
        return later(rows);
      },
    });
    return loadChurnModel(MODEL, OPTIONS);
  }
  const labels = (rows: number) => ({ dims: [rows], data: new BigInt64Array(rows) });

  it.each([
    ['no probabilities', (rows: number): Results => ({ label: labels(rows) }), /^Model returned probabilities of shape \[undefined\] for 2 rows$/],
    ['rank 1', (rows: number): Results => ({ label: labels(rows), probabilities: { dims: [rows * 2], data: probabilities(rows) } }), /^Model returned probabilities of shape \[4\] for 2 rows$/],
    ['rank 3', (rows: number): Results => ({ label: labels(rows), probabilities: { dims: [rows, 2, 1], data: probabilities(rows) } }), /^Model returned probabilities of shape \[2, 2, 1\] for 2 rows$/],
    ['too few rows', (): Results => ({ label: labels(2), probabilities: { dims: [1, 2], data: probabilities(1) } }), /^Model returned probabilities of shape \[1, 2\] for 2 rows$/],
    ['three columns', (rows: number): Results => ({ label: labels(rows), probabilities: { dims: [rows, 3], data: new Float32Array(rows * 3) } }), /^Model returned probabilities of shape \[2, 3\] for 2 rows$/],
    ['labels of rank 2', (rows: number): Results => ({ label: { dims: [rows, 1], data: new BigInt64Array(rows) }, probabilities: { dims: [rows, 2], data: probabilities(rows) } }), /^Model returned labels of shape \[2, 1\] for 2 rows$/],
    ['too few labels', (rows: number): Results => ({ label: labels(1), probabilities: { dims: [rows, 2], data: probabilities(rows) } }), /^Model returned labels of shape \[1\] for 2 rows$/],
  ])('%s', async (_case, later, message) => {
    const model = await loadThen(later);
    await expect(model.predict(new Float32Array(10), 2)).rejects.toThrowError(message);
    await model.close();
  });

  it('reads P(churn) from column 1 of each row, and keeps the outputs as onnxruntime gave them', async () => {
    const model = await loadThen((rows) => ({ label: { dims: [rows], data: BigInt64Array.from([0n, 0n, 1n]) }, probabilities: { dims: [rows, 2], data: probabilities(rows) } }));
    const scored = await model.predict(new Float32Array(15), 3);
    expect(scored.rows).toBe(3);
    expect([...scored.churn]).toEqual([0.25, 0.35, 0.45].map(Math.fround));
    expect(scored.probabilities).toEqual(probabilities(3));
    expect([...scored.labels!]).toEqual([0n, 0n, 1n]);
    await model.close();
  });

  it('a model without a label output runs without one', async () => {
    fakeSession({ outputs: [PROBABILITIES] });
    const model = await loadChurnModel(MODEL, OPTIONS);
    const scored = await model.predict(new Float32Array(5), 1);
    expect(scored.labels).toBeUndefined();
    await model.close();
  });
});

describe('readModelIdentity: who a model file says it is', () => {
  const bundled = readFileSync(BUNDLED_MODEL);

  it('reads the version and the card hash from the ONNX metadata_props', () => {
    const bytes = withMetadata(bundled, { model_version: '3.0.0-rc1', model_card_sha256: 'c'.repeat(64) });
    expect(readModelIdentity(bytes, 'm.onnx')).toEqual({ version: '3.0.0-rc1', cardSha256: 'c'.repeat(64) });
    expect(readModelIdentity(withMetadata(bundled, { model_card_sha256: undefined }), 'm.onnx').cardSha256).toBeUndefined();
  });

  it.each([
    ['no version', undefined],
    ['an empty version', ''],
    ['a blank version', '  '],
  ])('refuses a file with %s', (_case, version) => {
    expect(() => readModelIdentity(withMetadata(bundled, { model_version: version }), 'm.onnx')).toThrowError(
      new ModelLoadError('Model at m.onnx has no model_version in its ONNX metadata_props, so nothing says which model it is: export it with training/train.py, which records it.'),
    );
  });

  it('refuses a file that records its version twice', () => {
    // A second metadata_props record appended to the file: protobuf readers accept it, and which value wins would be theirs to decide.
    const second = protobuf.Writer.create().uint32((14 << 3) | 2).fork().uint32(10).string('model_version').uint32(18).string('6.6.6').ldelim().finish();
    expect(() => readModelIdentity(Buffer.concat([bundled, second]), 'm.onnx')).toThrowError(
      new ModelLoadError('Model at m.onnx has unreadable ONNX metadata: its metadata_props hold the key "model_version" twice'),
    );
  });
});
