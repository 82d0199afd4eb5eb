import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES, ModelFeatures } from '../../src/schemas/customer-features.js';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

let testApp: TestApp;
/** The same service with STRICT_TYPES=true: JSON numbers only, as before FastAPI's lax conversion. */
let strictApp: TestApp;
beforeAll(async () => {
  [testApp, strictApp] = await Promise.all([buildTestApp(), buildTestApp({ STRICT_TYPES: 'true' })]);
});
afterAll(async () => Promise.all([testApp.app.close(), strictApp.app.close()]));

const predict = (body: unknown) => postJson(testApp.app, '/predict', body);

describe('POST /predict', () => {
  it('answers a valid customer with probability, prediction, tier and model version', async () => {
    const response = await predict(VALID_CUSTOMER);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['churn_prediction', 'churn_probability', 'model_version', 'risk_tier']);
    expect(body.churn_probability).toBeGreaterThanOrEqual(0);
    expect(body.churn_probability).toBeLessThanOrEqual(1);
    expect(Math.round(body.churn_probability * 10_000) / 10_000).toBe(body.churn_probability);
    expect(body.churn_prediction).toBe(body.churn_probability >= 0.5);
    expect(['HIGH', 'MEDIUM', 'LOW']).toContain(body.risk_tier);
    expect(body.model_version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('echoes customer_id and ignores unknown properties without echoing them', async () => {
    const response = await predict({ ...VALID_CUSTOMER, customer_id: 'crm-42', crm_segment: 'gold', nested: { a: 1 } });
    expect(response.statusCode).toBe(200);
    expect(response.json().customer_id).toBe('crm-42');
    expect(response.json()).not.toHaveProperty('crm_segment');
    expect(response.json()).not.toHaveProperty('nested');
  });

  it.each([1, 128])('accepts a customer_id of %i characters', async (length) => {
    const response = await predict({ ...VALID_CUSTOMER, customer_id: 'x'.repeat(length) });
    expect(response.statusCode).toBe(200);
    expect(response.json().customer_id).toBe('x'.repeat(length));
  });

  it.each([
    ['', 'string_too_short', { min_length: 1 }, ''],
    ['x'.repeat(129), 'string_too_long', { max_length: 128 }, `${'x'.repeat(64)}…`],
    [42, 'string_type', undefined, 42],
    [null, 'string_type', undefined, null],
  ])('rejects customer_id %j with 422 %s, echoing at most 64 characters', async (customerId, type, ctx, echoed) => {
    const response = await predict({ ...VALID_CUSTOMER, customer_id: customerId });
    expect(response.statusCode).toBe(422);
    const [issue] = response.json().detail;
    expect(issue).toMatchObject({ loc: ['body', 'customer_id'], type, input: echoed });
    expect(issue.ctx).toEqual(ctx);
  });

  describe.each(FEATURE_NAMES.map((name) => [name, ModelFeatures.properties[name]] as const))('%s', (name, schema) => {
    const minimum = schema.minimum as number;
    const maximum = schema.maximum as number;
    const step = schema.type === 'integer' ? 1 : 0.01;

    it.each([minimum, maximum])('accepts the inclusive bound %d', async (value) => {
      const response = await predict({ ...VALID_CUSTOMER, [name]: value });
      expect(response.statusCode).toBe(200);
    });

    it('rejects a value below the minimum', async () => {
      const response = await predict({ ...VALID_CUSTOMER, [name]: minimum - step });
      expect(response.statusCode).toBe(422);
      expect(response.json().detail).toEqual([
        {
          type: 'greater_than_equal',
          loc: ['body', name],
          msg: `Input should be greater than or equal to ${minimum}`,
          input: minimum - step,
          ctx: { ge: minimum },
        },
      ]);
      expect(response.json().message).toBe(`${name} must be greater than or equal to ${minimum}.`);
    });

    it('rejects a value above the maximum', async () => {
      const response = await predict({ ...VALID_CUSTOMER, [name]: maximum + step });
      expect(response.statusCode).toBe(422);
      expect(response.json().detail).toEqual([
        {
          type: 'less_than_equal',
          loc: ['body', name],
          msg: `Input should be less than or equal to ${maximum}`,
          input: maximum + step,
          ctx: { le: maximum },
        },
      ]);
    });

    const typeError = schema.type === 'integer' ? 'int_type' : 'float_type';
    it.each([null, true, false, '5'])('with STRICT_TYPES, rejects %j without coercing it, and echoes it', async (value) => {
      const response = await postJson(strictApp.app, '/predict', { ...VALID_CUSTOMER, [name]: value });
      expect(response.statusCode).toBe(422);
      expect(response.json().detail).toEqual([expect.objectContaining({ loc: ['body', name], type: typeError, input: value })]);
    });

    it.each([[[]], [[1]], [{}], [{ value: 1 }]])('rejects %j without coercing it, and does not echo it', async (value) => {
      const response = await predict({ ...VALID_CUSTOMER, [name]: value });
      expect(response.statusCode).toBe(422);
      const detail = response.json().detail;
      expect(detail).toEqual([expect.objectContaining({ loc: ['body', name], type: typeError })]);
      expect(detail[0]).not.toHaveProperty('input');
    });

    it('is required', async () => {
      const { [name]: _omitted, ...rest } = VALID_CUSTOMER;
      const response = await predict(rest);
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({
        statusCode: 422,
        error: 'Unprocessable Entity',
        message: `${name} is required.`,
      });
      // pydantic would echo the object the field is missing from; objects are never echoed here.
      expect(response.json().detail).toEqual([{ type: 'missing', loc: ['body', name], msg: 'Field required' }]);
    });

    if (schema.type === 'integer') {
      it('rejects a fractional number', async () => {
        const response = await predict({ ...VALID_CUSTOMER, [name]: minimum + 0.5 });
        expect(response.statusCode).toBe(422);
        expect(response.json().detail).toEqual([
          {
            type: 'int_from_float',
            loc: ['body', name],
            msg: 'Input should be a valid integer, got a number with a fractional part',
            input: minimum + 0.5,
          },
        ]);
      });
    }
  });

  it('reports every problem at once, one detail entry each', async () => {
    const response = await predict({ tenure_months: 999, monthly_charges: null, num_products: 6.5 });
    expect(response.statusCode).toBe(422);
    const { detail, message } = response.json();
    expect(detail).toHaveLength(5);
    expect(detail.map((issue: { loc: unknown[]; type: string }) => [issue.loc.join('.'), issue.type]).sort()).toEqual([
      ['body.has_support_calls', 'missing'],
      ['body.monthly_charges', 'float_type'],
      ['body.num_products', 'int_from_float'],
      ['body.tenure_months', 'less_than_equal'],
      ['body.total_charges', 'missing'],
    ]);
    expect(message).toContain('tenure_months must be less than or equal to 120.');
    expect(message).toContain('total_charges is required.');
  });

  it.each([[null], [[]], ['text'], [42]])('rejects a body of %j that is not an object', async (body) => {
    const response = await predict(body);
    expect(response.statusCode).toBe(422);
    expect(response.json().detail[0].loc).toEqual(['body']);
  });
});
