import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvalidRowsError, ModelNotReadyError, type RowIssue } from '../../src/errors.js';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp();
});
afterAll(async () => testApp.app.close());
afterEach(() => vi.restoreAllMocks());

describe('error responses', () => {
  it('answers malformed JSON with 400', async () => {
    const response = await testApp.app.inject({
      method: 'POST',
      url: '/predict',
      payload: '{"tenure_months": 12,',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/application\/json/);
    expect(response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('answers a content type other than JSON with 415', async () => {
    const response = await testApp.app.inject({
      method: 'POST',
      url: '/predict',
      payload: 'tenure_months=12',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });
  });

  it('answers a body over the limit with 413', async () => {
    const response = await postJson(testApp.app, '/predict', { ...VALID_CUSTOMER, padding: 'x'.repeat(1024 * 1024) });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
  });

  it('takes the body limit from BODY_LIMIT_BYTES', async () => {
    const small = await buildTestApp({ BODY_LIMIT_BYTES: '2048' });
    try {
      expect((await postJson(small.app, '/predict', VALID_CUSTOMER)).statusCode).toBe(200);
      expect((await postJson(small.app, '/predict', { ...VALID_CUSTOMER, padding: 'x'.repeat(2048) })).statusCode).toBe(413);
    } finally {
      await small.app.close();
    }
  });

  it('answers an unknown route with a JSON 404', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'Route GET /nope not found',
      detail: 'Route GET /nope not found',
    });
  });

  it.each([
    ['GET', '/predict', 'POST'],
    ['PUT', '/predict/batch', 'POST'],
    ['POST', '/health', 'GET'],
    ['DELETE', '/openapi.json', 'GET'],
  ])('answers %s on %s with 405 and Allow: %s', async (method, url, allow) => {
    const response = await testApp.app.inject({ method: method as 'GET', url });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe(allow);
    expect(response.json()).toMatchObject({ statusCode: 405, error: 'Method Not Allowed' });
  });

  it('answers 404, not 405, for a path no route matches exactly (a trailing slash, an extra segment)', async () => {
    for (const url of ['/predict/', '/predict/batch/x', '/healthz']) {
      const response = await testApp.app.inject({ method: 'POST', url });
      expect(response.statusCode, url).toBe(404);
      expect(response.headers.allow, url).toBeUndefined();
    }
  });

  it.each([
    ['/predict/%zz', 400, { statusCode: 400, error: 'Bad Request', message: "'/predict/%zz' is not a valid URL path: it holds a malformed percent-escape.", detail: "'/predict/%zz' is not a valid URL path: it holds a malformed percent-escape." }],
    ['/v2/models/%zz/ready', 400, { error: "'/v2/models/%zz/ready' is not a valid URL path: it holds a malformed percent-escape." }],
    [`/v2/models/${'m'.repeat(200)}`, 414, { error: `'/v2/models/${'m'.repeat(53)}…' has a path segment longer than this service reads.` }],
  ])('answers a URL the router cannot read (%s) as JSON in the error shape of the path\'s scope, the path cut short', async (path, statusCode, body) => {
    const response = await testApp.app.inject({ method: 'GET', url: `${path}?q=${'q'.repeat(1024)}` });
    expect(response.statusCode).toBe(statusCode);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual(body);
  });

  it('never echoes a 32 KB URL back in a router error', async () => {
    for (const url of [`/v2/models/churn/versions/${'%zz'.repeat(11_000)}`, `/v2/models/${'m'.repeat(32 * 1024)}/ready`, `/predict/${'%'.repeat(32 * 1024)}`]) {
      const response = await testApp.app.inject({ method: 'GET', url });
      expect(response.statusCode, url.slice(0, 40)).toBeGreaterThanOrEqual(400);
      expect(Buffer.byteLength(response.body), url.slice(0, 40)).toBeLessThan(512);
      expect(() => response.json()).not.toThrow();
    }
  });

  it('answers 500 without a stack trace or internals when inference fails', async () => {
    testApp.predict.mockRejectedValueOnce(new Error('secret internal detail at /srv/x.ts:1'));
    const response = await postJson(testApp.app, '/predict', VALID_CUSTOMER);
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal Server Error',
      detail: 'Internal Server Error',
    });
    expect(response.body).not.toMatch(/secret|stack|\.ts/);
    expect(testApp.logs.some((line) => line.level === 50 && JSON.stringify(line).includes('secret internal detail'))).toBe(true);
  });
});

describe('model not ready', () => {
  it('answers predictions with 503, retry-after and a message, and health with 503 unhealthy', async () => {
    const { app } = await buildTestApp();
    try {
      // No model is loaded only before the start completes; the data plane reports it like this.
      vi.spyOn(app.dataPlane, 'model', 'get').mockReturnValue(undefined);
      vi.spyOn(app.dataPlane, 'resolve').mockImplementation(() => {
        throw new ModelNotReadyError();
      });
      const predict = await postJson(app, '/predict', VALID_CUSTOMER);
      expect(predict.statusCode).toBe(503);
      expect(predict.headers['retry-after']).toBe('1');
      expect(predict.json()).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'Model is not loaded yet; retry shortly.',
        detail: 'Model is not loaded yet; retry shortly.',
      });
      const batch = await postJson(app, '/predict/batch', { customers: [VALID_CUSTOMER] });
      expect(batch.statusCode).toBe(503);
      expect(batch.headers['retry-after']).toBe('1');
      const health = await app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ status: 'unhealthy', model_loaded: false, model_version: null });
    } finally {
      await app.close();
    }
  });
});

describe('rows refused by the data plane', () => {
  const issue = (row: number, feature: string, problem: RowIssue['problem'], value: unknown, limit?: number): RowIssue => ({
    row,
    feature,
    problem,
    value,
    ...(limit === undefined ? {} : { limit }),
    message: 'internal wording',
  });

  it('are a FastAPI-style 422 located in the batch body', async () => {
    vi.spyOn(testApp.app.dataPlane, 'predict').mockRejectedValueOnce(
      new InvalidRowsError([
        issue(1, 'tenure_months', 'above_maximum', 999, 120),
        issue(2, 'num_products', 'below_minimum', 0, 1),
        issue(3, 'has_support_calls', 'not_an_integer', 0.5),
        issue(4, 'total_charges', 'not_a_number', 'NaN'),
      ]),
    );
    const response = await postJson(testApp.app, '/predict/batch', { customers: [VALID_CUSTOMER] });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message:
        'customers[1].tenure_months must be less than or equal to 120. customers[2].num_products must be greater than or equal to 1. ' +
        'customers[3].has_support_calls must be a valid integer, got a number with a fractional part. customers[4].total_charges must be a valid number.',
      detail: [
        { type: 'less_than_equal', loc: ['body', 'customers', 1, 'tenure_months'], msg: 'Input should be less than or equal to 120', input: 999, ctx: { le: 120 } },
        { type: 'greater_than_equal', loc: ['body', 'customers', 2, 'num_products'], msg: 'Input should be greater than or equal to 1', input: 0, ctx: { ge: 1 } },
        { type: 'int_from_float', loc: ['body', 'customers', 3, 'has_support_calls'], msg: 'Input should be a valid integer, got a number with a fractional part', input: 0.5 },
        { type: 'float_type', loc: ['body', 'customers', 4, 'total_charges'], msg: 'Input should be a valid number', input: 'NaN' },
      ],
    });
  });

  it('are located at the body itself for /predict', async () => {
    vi.spyOn(testApp.app.dataPlane, 'predict').mockRejectedValueOnce(new InvalidRowsError([issue(0, 'tenure_months', 'above_maximum', 999, 120)]));
    const response = await postJson(testApp.app, '/predict', VALID_CUSTOMER);
    expect(response.statusCode).toBe(422);
    expect(response.json().detail[0].loc).toEqual(['body', 'tenure_months']);
    expect(response.json().message).toBe('tenure_months must be less than or equal to 120.');
  });
});
