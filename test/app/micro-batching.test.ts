import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildTestApp, postJson, VALID_CUSTOMER } from '../helpers.js';

afterEach(() => vi.restoreAllMocks());

function randomCustomer(index: number) {
  const tenure = Math.floor(Math.random() * 121);
  const monthly = Math.round(Math.random() * 50_000) / 100;
  return {
    customer_id: `c-${index}`,
    tenure_months: tenure,
    monthly_charges: monthly,
    total_charges: Math.round(tenure * monthly * 100) / 100,
    num_products: 1 + Math.floor(Math.random() * 10),
    has_support_calls: Math.round(Math.random()),
  };
}

describe('micro-batched /predict', () => {
  it('answers 1,000 concurrent random predictions each with its own single-run result, in few runs', async () => {
    const { app, predict } = await buildTestApp({ MICRO_BATCH_MAX_ROWS: '128', LOG_LEVEL: 'warn' });
    try {
      const customers = Array.from({ length: 1000 }, (_, index) => randomCustomer(index));
      const alone = await Promise.all(customers.map(async (customer) => (await postJson(app, '/predict/batch', { customers: [customer] })).json().predictions[0]));
      const run = predict;
      run.mockClear();
      const responses = await Promise.all(customers.map((customer) => postJson(app, '/predict', customer)));
      expect(responses.map((response) => response.json())).toEqual(alone);
      expect(run.mock.calls.length).toBeLessThan(1000);
      expect(Math.max(...run.mock.calls.map((call) => call[1]))).toBeLessThanOrEqual(128);
    } finally {
      await app.close();
    }
  });

  it('answers every caller of a failed coalesced run with a JSON 500, and recovers', async () => {
    const { app, predict } = await buildTestApp({ LOG_LEVEL: 'silent' });
    try {
      const run = predict;
      run.mockClear();
      run.mockRejectedValueOnce(new Error('onnxruntime exploded'));
      const responses = await Promise.all(Array.from({ length: 20 }, () => postJson(app, '/predict', VALID_CUSTOMER)));
      expect(run).toHaveBeenCalledTimes(1);
      expect(responses.map((response) => response.statusCode)).toEqual(Array(20).fill(500));
      expect(responses[0]!.json()).toMatchObject({ statusCode: 500, message: 'Internal Server Error' });
      expect((await postJson(app, '/predict', VALID_CUSTOMER)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('runs one model call per request, with the same answers, when MICRO_BATCHING is off', async () => {
    const batched = await buildTestApp({ LOG_LEVEL: 'warn' });
    const { app, predict } = await buildTestApp({ MICRO_BATCHING: 'false', LOG_LEVEL: 'warn' });
    try {
      const customers = Array.from({ length: 5 }, (_, index) => randomCustomer(index));
      const expected = await Promise.all(customers.map(async (customer) => (await postJson(batched.app, '/predict', customer)).json()));
      const run = predict;
      run.mockClear();
      const responses = await Promise.all(customers.map((customer) => postJson(app, '/predict', customer)));
      expect(run).toHaveBeenCalledTimes(5);
      expect(responses.map((response) => response.statusCode)).toEqual(Array(5).fill(200));
      expect(responses.map((response) => response.json())).toEqual(expected);
    } finally {
      await Promise.all([app.close(), batched.app.close()]);
    }
  });

  it('answers 503 with retry-after once the data plane is closing', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'warn' });
    try {
      await app.dataPlane.close();
      const response = await postJson(app, '/predict', VALID_CUSTOMER);
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('1');
      expect(response.json().message).toBe('The service is shutting down and takes no new predictions.');
    } finally {
      await app.close();
    }
  });
});
