import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp();
});
afterAll(async () => testApp.app.close());
afterEach(() => vi.restoreAllMocks());

const batch = (customers: unknown) => postJson(testApp.app, '/predict/batch', { customers });

function variedCustomers(count: number) {
  return Array.from({ length: count }, (_, index) => ({
    customer_id: `c-${index}`,
    tenure_months: (index * 7) % 121,
    monthly_charges: (index * 13.37) % 500,
    total_charges: ((index * 7) % 121) * ((index * 13.37) % 500),
    num_products: 1 + (index % 10),
    has_support_calls: index % 2,
  }));
}

describe('POST /predict/batch', () => {
  it('answers every customer in the order sent, with batch_size and latency_ms', async () => {
    const customers = variedCustomers(100);
    const response = await batch(customers);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.batch_size).toBe(100);
    expect(body.predictions.map((prediction: { customer_id: string }) => prediction.customer_id)).toEqual(
      customers.map((customer) => customer.customer_id),
    );
    expect(body.latency_ms).toBeGreaterThan(0);
    expect(Math.round(body.latency_ms * 100) / 100).toBe(body.latency_ms);
  });

  it('gives each row the same answer as /predict gives that row alone', async () => {
    const customers = variedCustomers(40);
    const batchPredictions = (await batch(customers)).json().predictions;
    const singles = await Promise.all(customers.map((customer) => postJson(testApp.app, '/predict', customer)));
    expect(batchPredictions).toEqual(singles.map((response) => response.json()));
    // The rows differ, so equal answers are not a constant model answering everything alike.
    expect(new Set(batchPredictions.map((prediction: { churn_probability: number }) => prediction.churn_probability)).size).toBeGreaterThan(10);
  });

  it('runs the model exactly once per request', async () => {
    const run = testApp.predict;
    run.mockClear();
    const response = await batch(variedCustomers(100));
    expect(response.statusCode).toBe(200);
    expect(run).toHaveBeenCalledTimes(1);
    expect(run.mock.calls[0]?.[1]).toBe(100);
  });

  it('rejects an empty list', async () => {
    const response = await batch([]);
    expect(response.statusCode).toBe(422);
    expect(response.json().detail).toEqual([
      {
        type: 'too_short',
        loc: ['body', 'customers'],
        msg: 'List should have at least 1 item after validation, not 0',
        ctx: { field_type: 'List', min_length: 1, actual_length: 0 },
      },
    ]);
  });

  it('rejects more than the maximum batch size', async () => {
    const customers = variedCustomers(101);
    const response = await batch(customers);
    expect(response.statusCode).toBe(422);
    expect(response.json().detail).toEqual([
      {
        type: 'too_long',
        loc: ['body', 'customers'],
        msg: 'List should have at most 100 items after validation, not 101',
        ctx: { field_type: 'List', max_length: 100, actual_length: 101 },
      },
    ]);
  });

  it('locates a bad row by its index', async () => {
    const customers = [VALID_CUSTOMER, { ...VALID_CUSTOMER, tenure_months: 999 }];
    const response = await batch(customers);
    expect(response.statusCode).toBe(422);
    expect(response.json().detail).toEqual([
      {
        type: 'less_than_equal',
        loc: ['body', 'customers', 1, 'tenure_months'],
        msg: 'Input should be less than or equal to 120',
        input: 999,
        ctx: { le: 120 },
      },
    ]);
    expect(response.json().message).toBe('customers[1].tenure_months must be less than or equal to 120.');
  });

  it('rejects a body without the customers list', async () => {
    const response = await postJson(testApp.app, '/predict/batch', [VALID_CUSTOMER]);
    expect(response.statusCode).toBe(422);
    expect((await postJson(testApp.app, '/predict/batch', {})).json().detail).toEqual([
      { type: 'missing', loc: ['body', 'customers'], msg: 'Field required' },
    ]);
  });
});

describe('BATCH_MAX_SIZE', () => {
  it('sets the largest batch accepted', async () => {
    const small = await buildTestApp({ BATCH_MAX_SIZE: '3' });
    try {
      const customers = variedCustomers(4);
      expect((await postJson(small.app, '/predict/batch', { customers: customers.slice(0, 3) })).statusCode).toBe(200);
      const tooMany = await postJson(small.app, '/predict/batch', { customers });
      expect(tooMany.statusCode).toBe(422);
      expect(tooMany.json().detail[0].type).toBe('too_long');
    } finally {
      await small.app.close();
    }
  });
});
