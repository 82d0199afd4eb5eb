import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { EXAMPLE_INFER_REQUEST, EXAMPLE_INFER_RESPONSE } from '../../src/schemas/examples.js';
import { buildTestApp, postJson, type TestApp } from '../helpers.js';

const INFER = '/v2/models/churn/infer';
const tensor = (data: unknown, shape: unknown = [Array.isArray(data) && Array.isArray(data[0]) ? data.length : 1, 5], extra: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'features', datatype: 'FP32', shape, data, ...extra }],
});
const CUSTOMER = [2, 70.7, 151.65, 2, 0];
const LOYAL = [45, 42.3, 1840.75, 4, 1];

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp({ LOG_LEVEL: 'silent' });
});
afterAll(async () => testApp.app.close());

const infer = (body: unknown, url = INFER) => postJson(testApp.app, url, body);
async function refused(body: unknown): Promise<string> {
  const response = await infer(body);
  expect(response.statusCode, response.body).toBe(400);
  expect(Object.keys(response.json())).toEqual(['error']);
  return response.json().error as string;
}

/** Random valid customers, as rows in the model's column order. */
function randomRows(count: number, seed: number): number[][] {
  let state = seed;
  const next = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: count }, () => {
    const tenure = Math.floor(next() * 121);
    const monthly = Math.round(next() * 50_000) / 100;
    return [tenure, monthly, Math.round(tenure * monthly * 100) / 100, 1 + Math.floor(next() * 10), Math.round(next())];
  });
}

describe('POST /v2/models/{name}/infer: the spec\'s request shapes', () => {
  it('answers the documented example: label INT64 [N] and probabilities FP32 [N, 2], id echoed', async () => {
    const response = await infer(EXAMPLE_INFER_REQUEST);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(EXAMPLE_INFER_RESPONSE);
  });

  it('takes data flat in row-major order or nested, with the same answer', async () => {
    const nested = (await infer(tensor([CUSTOMER, LOYAL]))).json();
    const flat = (await infer(tensor([...CUSTOMER, ...LOYAL], [2, 5]))).json();
    expect(flat).toEqual(nested);
    expect(nested.outputs).toEqual(EXAMPLE_INFER_RESPONSE.outputs);
  });

  it('leaves id out when none was sent, and answers the versioned route the same', async () => {
    const unversioned = (await infer(tensor(CUSTOMER))).json();
    expect(unversioned).not.toHaveProperty('id');
    expect((await infer(tensor(CUSTOMER), '/v2/models/churn/versions/1.2.0/infer')).json()).toEqual(unversioned);
  });

  it('returns the outputs asked for, in the order asked, each once', async () => {
    const only = (await infer({ ...tensor(CUSTOMER), outputs: [{ name: 'probabilities' }] })).json();
    expect(only.outputs).toEqual([{ name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: [0.3662310838699341, 0.6337689161300659] }]);
    const reordered = (await infer({ ...tensor(CUSTOMER), outputs: [{ name: 'probabilities' }, { name: 'label' }, { name: 'probabilities' }] })).json();
    expect(reordered.outputs.map((output: { name: string }) => output.name)).toEqual(['probabilities', 'label']);
    expect((await infer({ ...tensor(CUSTOMER), outputs: [] })).json().outputs.map((output: { name: string }) => output.name)).toEqual(['label', 'probabilities']);
  });

  it('accepts the protocol\'s optional parameters anywhere, and ignores them', async () => {
    const plain = (await infer(tensor([CUSTOMER, LOYAL]))).json();
    const withParameters = await infer({
      parameters: { priority: 1, trace: true },
      inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 5], data: [CUSTOMER, LOYAL], parameters: { content_type: 'np' } }],
      outputs: [{ name: 'label', parameters: { binary_data: false } }, { name: 'probabilities' }],
    });
    expect(withParameters.statusCode).toBe(200);
    expect(withParameters.json()).toEqual(plain);
  });

  it('takes 1 to BATCH_MAX_SIZE rows', async () => {
    const rows = randomRows(loadConfig({}).BATCH_MAX_SIZE, 7);
    const response = (await infer(tensor(rows))).json();
    expect(response.outputs[0].shape).toEqual([rows.length]);
    expect(response.outputs[1].shape).toEqual([rows.length, 2]);
    expect(response.outputs[1].data).toHaveLength(rows.length * 2);
  });
});

describe('POST /v2/models/{name}/infer: what the model gives', () => {
  // The same session options as the service: with more threads, onnxruntime sums the trees in
  // another order, and the last bit of a float32 can differ (about 1e-7).
  it('is exactly what onnxruntime gives for the model file with the service\'s session options, bit for bit', async () => {
    const rows = randomRows(100, 11);
    const session = await ort.InferenceSession.create(loadConfig({}).MODEL_PATH, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
    try {
      const direct = await session.run({ features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 5]) });
      const served = (await infer(tensor(rows))).json();
      expect(served.outputs[0].data).toEqual([...(direct.label!.data as BigInt64Array)].map(Number));
      expect(served.outputs[1].data).toEqual([...(direct.probabilities!.data as Float32Array)]);
    } finally {
      await session.release();
    }
  });

  it('agrees with /predict/batch for the same rows: probability and yes/no', async () => {
    const rows = randomRows(100, 23);
    const names = ['tenure_months', 'monthly_charges', 'total_charges', 'num_products', 'has_support_calls'];
    const customers = rows.map((row) => Object.fromEntries(names.map((name, column) => [name, row[column]])));
    const batch = (await postJson(testApp.app, '/predict/batch', { customers })).json();
    const served = (await infer(tensor(rows))).json();
    const [labels, probabilities] = served.outputs as { data: number[] }[];
    rows.forEach((_, row) => {
      const prediction = batch.predictions[row];
      expect(Math.round(probabilities!.data[row * 2 + 1]! * 10_000) / 10_000, `row ${row}`).toBe(prediction.churn_probability);
      expect(probabilities!.data[row * 2]! + probabilities!.data[row * 2 + 1]!, `row ${row}`).toBeCloseTo(1, 6);
      expect(labels!.data[row] === 1, `row ${row}`).toBe(prediction.churn_prediction);
    });
  });
});

describe('POST /v2/models/{name}/infer: each error is 400 with {"error"}', () => {
  it('a wrong input name, or more than one input', async () => {
    const columns = 'columns tenure_months, monthly_charges, total_charges, num_products, has_support_calls';
    expect(await refused({ inputs: [{ name: 'input0', datatype: 'FP32', shape: [1, 5], data: CUSTOMER }] })).toBe(
      `The model takes one input, 'features' (FP32 [-1, 5], ${columns}); the request sent 'input0'.`,
    );
    expect(await refused({ inputs: [tensor(CUSTOMER).inputs[0], tensor(LOYAL).inputs[0]] })).toBe(
      `The model takes one input, 'features' (FP32 [-1, 5], ${columns}); the request sent 'features', 'features'.`,
    );
    expect(await refused({ inputs: [] })).toBe('inputs must have at least 1 item after validation, not 0.');
    expect(await refused({})).toBe('inputs is required.');
  });

  it('a wrong datatype', async () => {
    expect(await refused(tensor(CUSTOMER, [1, 5], { datatype: 'FP64' }))).toBe("Input 'features' must be FP32, got FP64.");
    expect(await refused(tensor(CUSTOMER, [1, 5], { datatype: 'INT64' }))).toBe("Input 'features' must be FP32, got INT64.");
    expect(await refused(tensor(CUSTOMER, [1, 5], { datatype: 'float32' }))).toBe(
      "inputs[0].datatype must be 'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64' or 'BYTES'.",
    );
  });

  it('a wrong shape', async () => {
    expect(await refused(tensor(CUSTOMER, [5]))).toBe("Input 'features' must have shape [N, 5], one row per customer; got [5].");
    expect(await refused(tensor(CUSTOMER.slice(0, 4), [1, 4]))).toBe("Input 'features' must have shape [N, 5], one row per customer; got [1, 4].");
    expect(await refused(tensor([CUSTOMER], [1, 1, 5]))).toBe("Input 'features' must have shape [N, 5], one row per customer; got [1, 1, 5].");
    expect(await refused(tensor([], [0, 5]))).toBe("Input 'features' must hold at least one row; got shape [0, 5].");
    expect(await refused(tensor(randomRows(101, 3), [101, 5]))).toBe("Input 'features' holds 101 rows; at most 100 are taken in one request.");
    expect(await refused(tensor(CUSTOMER, [1, -5]))).toBe('inputs[0].shape[1] must be greater than or equal to 0.');
    expect(await refused(tensor(CUSTOMER, [1.5, 5]))).toBe('inputs[0].shape[0] must be a valid integer, got a number with a fractional part.');
  });

  it('a data length that does not match the shape', async () => {
    expect(await refused(tensor(CUSTOMER.slice(0, 4), [1, 5]))).toBe(
      "Input 'features' data must hold 5 numbers for shape [1, 5] (flat, row-major, or nested as 1 row of 5); got 4.",
    );
    expect(await refused(tensor([...CUSTOMER, ...LOYAL], [3, 5]))).toBe(
      "Input 'features' data must hold 15 numbers for shape [3, 5] (flat, row-major, or nested as 3 rows of 5); got 10.",
    );
    expect(await refused(tensor([CUSTOMER, LOYAL], [3, 5]))).toBe("Input 'features' data must hold 3 rows of 5 for shape [3, 5]; got 2 rows.");
    expect(await refused(tensor([CUSTOMER, LOYAL.slice(0, 3)]))).toBe("Input 'features' data[1] must be a row of 5 numbers; got 3 values.");
    expect(await refused(tensor([CUSTOMER, 45]))).toBe("Input 'features' data[1] must be a row of 5 numbers; got a single value.");
    expect(await refused(tensor([CUSTOMER[0], CUSTOMER.slice(1)], [1, 5]))).toBe(
      "Input 'features' data must hold 5 numbers for shape [1, 5] (flat, row-major, or nested as 1 row of 5); got 2.",
    );
  });

  it('an element that is not a number', async () => {
    expect(await refused(tensor([2, '70.7', 151.65, 2, 0]))).toBe('Input \'features\' data[1] must be a number, got "70.7".');
    expect(await refused(tensor([2, 70.7, null, 2, 0]))).toBe("Input 'features' data[2] must be a number, got null.");
    expect(await refused(tensor([[2, 70.7, 151.65, 2, true]]))).toBe("Input 'features' data[0][4] must be a number, got boolean.");
    expect(await refused(tensor([2, 70.7, 151.65, [2], 0]))).toBe("Input 'features' data[3] must be a number, got an array.");
    expect(await refused({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 5], data: 'oops' }] })).toBe('inputs[0].data must be a valid list.');
  });

  it('a value outside the churn API\'s feature ranges, every problem named by row and column', async () => {
    expect(await refused(tensor([[2, 70.7, 151.65, 2, 0], [-1, 600, 151.65, 0, 0.5]]))).toBe(
      "Input values are outside the model's feature ranges: row 1, column 0 (tenure_months) must be at least 0, got -1; " +
        'row 1, column 1 (monthly_charges) must be at most 500, got 600; row 1, column 3 (num_products) must be at least 1, got 0; ' +
        'row 1, column 4 (has_support_calls) must be a whole number, got 0.5.',
    );
    const infinite = await testApp.app.inject({
      method: 'POST',
      url: INFER,
      headers: { 'content-type': 'application/json' },
      payload: '{"inputs":[{"name":"features","datatype":"FP32","shape":[1,5],"data":[2,70.7,1e400,2,0]}]}',
    });
    expect([infinite.statusCode, infinite.json()]).toEqual([400, { error: "Input values are outside the model's feature ranges: row 0, column 2 (total_charges) must be a finite number, got Infinity." }]);
  });

  it('lists at most 20 value problems, then counts the rest', async () => {
    const error = await refused(tensor(Array.from({ length: 10 }, () => [-1, -1, -1, 0, 2])));
    expect(error.match(/ row \d+, column/g)).toHaveLength(20);
    expect(error).toMatch(/; …and 30 more\.$/);
  });

  it('a parameter value that is no string, number or boolean, in one sentence that says "must" once', async () => {
    expect(await refused({ ...tensor(CUSTOMER), parameters: { priority: null } })).toBe('parameters.priority must be of type string, number or boolean.');
    expect(await refused({ ...tensor(CUSTOMER), parameters: { priority: null, trace: {} } })).toBe(
      'parameters.priority must be of type string, number or boolean. parameters.trace must be of type string, number or boolean.',
    );
  });

  it('a parameter under a huge key, named once and cut short: the error stays small however large the key', async () => {
    const key = 'k'.repeat(1_000_000);
    const response = await infer({ ...tensor(CUSTOMER), parameters: { [key]: [1] } });
    expect([response.statusCode, response.json()]).toEqual([400, { error: `parameters.${'k'.repeat(64)}… must be of type string, number or boolean.` }]);
  });

  it('input and output names the model does not have, each cut short', async () => {
    const name = (letter: string) => letter.repeat(256);
    const inputs = Array.from({ length: 16 }, (_, index) => ({ ...tensor(CUSTOMER).inputs[0], name: name(String.fromCharCode(97 + index)) }));
    const wrongInputs = await refused({ inputs });
    expect(wrongInputs).toContain(`the request sent '${'a'.repeat(64)}…', '${'b'.repeat(64)}…',`);
    expect(wrongInputs.length).toBeLessThan(1_500);
    const outputs = Array.from({ length: 16 }, (_, index) => ({ name: name(String.fromCharCode(97 + index)) }));
    const wrongOutputs = await refused({ ...tensor(CUSTOMER), outputs });
    expect(wrongOutputs).toMatch(new RegExp(`^Unknown output '${'a'.repeat(64)}…', '${'b'.repeat(64)}…', .*'${'p'.repeat(64)}…'; the model gives 'label' and 'probabilities'\\.$`));
  });

  it('an unknown output', async () => {
    expect(await refused({ ...tensor(CUSTOMER), outputs: [{ name: 'output_probability' }, { name: 'scores' }] })).toBe(
      "Unknown output 'output_probability', 'scores'; the model gives 'label' and 'probabilities'.",
    );
  });

  it('a body that is not JSON, or not UTF-8 JSON, or too large', async () => {
    const send = (payload: string, contentType = 'application/json') => testApp.app.inject({ method: 'POST', url: INFER, payload, headers: { 'content-type': contentType } });
    const broken = await send('{"inputs": [');
    expect([broken.statusCode, Object.keys(broken.json())]).toEqual([400, ['error']]);
    expect(broken.json().error).toMatch(/^Body is not valid JSON/);
    const form = await send('a=1', 'application/x-www-form-urlencoded');
    expect([form.statusCode, Object.keys(form.json())]).toEqual([415, ['error']]);
    const large = await send(JSON.stringify({ ...tensor(CUSTOMER), id: 'x'.repeat(2 * 1024 * 1024) }));
    expect([large.statusCode, large.json()]).toEqual([413, { error: 'Request body is too large' }]);
    const longId = await infer({ ...tensor(CUSTOMER), id: 'x'.repeat(257) });
    expect([longId.statusCode, longId.json()]).toEqual([400, { error: 'id must have at most 256 characters.' }]);
  });
});
