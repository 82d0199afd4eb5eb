import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../src/schemas/customer-features.js';
import { buildTestApp, VALID_CUSTOMER, type TestApp } from '../helpers.js';

/** Every error body is smaller than this, whatever the request. */
const ERROR_BODY_LIMIT = 4096;
const RUNS_PER_ROUTE = 5_000;

let testApp: TestApp;
/** The service with STRICT_TYPES=true, for the overflowing numbers. */
let strictApp: TestApp;
beforeAll(async () => {
  [testApp, strictApp] = await Promise.all([buildTestApp({ LOG_LEVEL: 'silent' }), buildTestApp({ LOG_LEVEL: 'silent', STRICT_TYPES: 'true' })]);
});
afterAll(async () => Promise.all([testApp.app.close(), strictApp.app.close()]));

/**
 * Number literals JSON.parse makes ±Infinity. JSON.stringify cannot write them, so they are
 * generated as a marker string that `toJson` replaces with the literal itself.
 */
const OVERFLOWING_LITERALS = ['1e400', '-1e309', '1'.repeat(400), `-${'9'.repeat(400)}`, '1.5e999'];
const RAW = '\u0001raw:';
const overflowingNumber = fc.constantFrom(...OVERFLOWING_LITERALS).map((literal) => `${RAW}${literal}`);
/** JSON text of `value`, with each overflow marker replaced by its number literal. */
const toJson = (value: unknown) => JSON.stringify(value).replace(/"\\u0001raw:([^"]+)"/g, '$1');

const extremeNumber = fc.constantFrom(-0, 0, 1, -1, 0.5, 1e308, -1e308, 5e-324, 2 ** 53 + 1, -(2 ** 53 + 1), 120, 121, 500.0001, 1_000_000, 1e6 + 1e-9);
const anyString = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 50 }), fc.string({ unit: 'binary', maxLength: 50 }), fc.constant('\ud800 lone surrogate'));
/** What a CRM template may send for a number: a numeric string, padded, signed, with underscores, or no number at all. */
const numericString = fc.oneof(
  fc.double({ noNaN: true }).map(String),
  fc.integer({ min: -200, max: 200 }).map(String),
  fc.constantFrom(' 2 ', '+2', '1_0', '2.0', '2.5', '1e2', '0x1F', 'inf', '-inf', 'nan', 'Infinity', '', ' ', '1'.repeat(400), '1'.repeat(4301), '0-1'),
);
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), extremeNumber, overflowingNumber, numericString, anyString, fc.constant(null), fc.boolean());
const validField = {
  tenure_months: fc.integer({ min: 0, max: 120 }),
  monthly_charges: fc.double({ min: 0, max: 500, noNaN: true }),
  total_charges: fc.double({ min: 0, max: 1_000_000, noNaN: true }),
  num_products: fc.integer({ min: 1, max: 10 }),
  has_support_calls: fc.integer({ min: 0, max: 1 }),
  customer_id: fc.string({ minLength: 1, maxLength: 128 }),
};
/** A customer whose every field is valid, wrong, extreme or missing, with extra fields now and then. */
const customer = fc
  .record(
    Object.fromEntries(Object.entries(validField).map(([name, valid]) => [name, fc.option(fc.oneof({ weight: 3, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyValue }), { nil: undefined })])),
  )
  .chain((fields) => fc.dictionary(fc.string({ maxLength: 12 }), anyValue, { maxKeys: 3 }).map((extra) => ({ ...extra, ...fields })))
  .map((fields) => Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)));
const nested = fc.integer({ min: 1, max: 5_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth));

/** A raw body: JSON of many shapes, or text that is not quite JSON. */
function bodies(single: boolean): fc.Arbitrary<string> {
  const shaped = single ? customer : fc.record({ customers: fc.oneof(fc.array(customer, { maxLength: 150 }), anyValue) });
  return fc.oneof(
    { weight: 6, arbitrary: shaped.map(toJson) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: nested },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: shaped.map((value) => toJson(value).slice(0, -1)) },
  );
}

const TIERS = { HIGH: [0.7, 1], MEDIUM: [0.4, 0.7], LOW: [0, 0.4] } as const;
/** A reported (rounded) probability agrees with its tier and yes/no, within the rounding. */
function checkPrediction(prediction: { churn_probability: number; churn_prediction: boolean; risk_tier: keyof typeof TIERS }) {
  const p = prediction.churn_probability;
  expect(p).toBeGreaterThanOrEqual(0);
  expect(p).toBeLessThanOrEqual(1);
  const [low, high] = TIERS[prediction.risk_tier];
  expect(p).toBeGreaterThanOrEqual(low - 0.00005);
  expect(p).toBeLessThanOrEqual(high + 0.00005);
  expect(prediction.churn_prediction ? p >= 0.49995 : p <= 0.50005).toBe(true);
}

async function checkAnswer(url: string, payload: string) {
  const response = await testApp.app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });
  const context = `${url} ${payload.slice(0, 300)} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
  expect(response.statusCode, context).toBeLessThan(500);
  expect(response.headers['content-type'], context).toMatch(/^application\/json/);
  const body = response.json();
  if (response.statusCode === 200) {
    if (url === '/predict') checkPrediction(body);
    else {
      expect(body.batch_size).toBe(body.predictions.length);
      body.predictions.forEach(checkPrediction);
    }
    return;
  }
  expect(Buffer.byteLength(response.body), context).toBeLessThan(ERROR_BODY_LIMIT);
  expect(response.body, context).not.toMatch(/FST_/);
  expect(body.statusCode, context).toBe(response.statusCode);
  expect(typeof body.message === 'string' && body.message.length > 0, context).toBe(true);
  if (response.statusCode === 422) {
    expect(body.detail.length, context).toBeGreaterThan(0);
    for (const issue of body.detail) expect(issue.loc[0], context).toBe('body');
  }
}

const COLUMNS = ['tenure_months', 'monthly_charges', 'total_charges', 'num_products', 'has_support_calls'] as const;
const validRow = fc.tuple(...COLUMNS.map((name) => validField[name] as fc.Arbitrary<unknown>));
/** A row whose values may each be valid, extreme or not a number at all. */
const wildRow = fc.tuple(...COLUMNS.map((name) => fc.oneof(validField[name] as fc.Arbitrary<unknown>, extremeNumber, anyValue)));
const rowsOf = (count: number) => fc.array(fc.oneof({ weight: 40, arbitrary: validRow }, { weight: 1, arbitrary: wildRow }), { minLength: count, maxLength: count });
const rowCount = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 8 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 99, 100, 101, 105) });
const tensorInput = (rows: number) =>
  fc.record({
    name: fc.oneof({ weight: 8, arbitrary: fc.constant('features') }, { weight: 1, arbitrary: anyString }),
    datatype: fc.oneof({ weight: 8, arbitrary: fc.constant('FP32') }, { weight: 1, arbitrary: fc.constantFrom('FP64', 'INT64', 'BYTES', 'fp32') }, { weight: 1, arbitrary: anyValue }),
    shape: fc.oneof({ weight: 8, arbitrary: fc.constant([rows, 5]) }, { weight: 2, arbitrary: fc.array(fc.oneof(fc.integer({ min: -2, max: 200 }), anyValue), { maxLength: 4 }) }),
    data: fc.oneof(
      { weight: 4, arbitrary: rowsOf(rows) },
      { weight: 4, arbitrary: rowsOf(rows).map((matrix) => matrix.flat()) },
      { weight: 1, arbitrary: fc.array(anyValue, { maxLength: 20 }) },
      { weight: 1, arbitrary: anyValue },
    ),
  });
/** An Open Inference Protocol request: the right tensor, or one wrong in name, datatype, shape, data or outputs. */
const inferRequest = rowCount.chain((rows) =>
  fc.record(
    {
      id: fc.option(anyString, { nil: undefined }),
      parameters: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), anyValue, { maxKeys: 2 }), { nil: undefined }),
      inputs: fc.oneof({ weight: 8, arbitrary: tensorInput(rows).map((input) => [input]) }, { weight: 1, arbitrary: fc.array(tensorInput(rows), { maxLength: 2 }) }),
      outputs: fc.option(fc.array(fc.record({ name: fc.oneof(fc.constantFrom('label', 'probabilities'), anyString) }), { maxLength: 3 }), { nil: undefined }),
    },
    { requiredKeys: ['inputs'] },
  ),
);

let inferAnswered = 0;
async function checkInferAnswer(payload: string) {
  const response = await testApp.app.inject({ method: 'POST', url: '/v2/models/churn/infer', payload, headers: { 'content-type': 'application/json' } });
  const context = `${payload.slice(0, 300)} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
  expect(response.statusCode, context).toBeLessThan(500);
  expect(response.headers['content-type'], context).toMatch(/^application\/json/);
  const body = response.json();
  if (response.statusCode !== 200) {
    expect(Buffer.byteLength(response.body), context).toBeLessThan(ERROR_BODY_LIMIT);
    expect(Object.keys(body), context).toEqual(['error']);
    expect(typeof body.error === 'string' && body.error.length > 0, context).toBe(true);
    return;
  }
  inferAnswered += 1;
  for (const output of body.outputs) {
    const rows = output.shape[0];
    expect(output.data.length, context).toBe(output.name === 'label' ? rows : rows * 2);
    if (output.name === 'label') for (const label of output.data) expect([0, 1], context).toContain(label);
    else for (let row = 0; row < rows; row += 1) expect(output.data[row * 2] + output.data[row * 2 + 1], context).toBeCloseTo(1, 5);
  }
}

/** What a caller can make huge, and the characters that grow the most when a JSON body repeats them. */
const HUGE = 32 * 1024;
const BODY_FILLERS = ['a', '€', '😀', '\u0001', '"', '\\'] as const;
const HEADER_FILLERS = ['a', ' ', '"', ',', ';'] as const;
const PREDICTION_ROUTES = ['/predict', '/predict/batch', '/v2/models/churn/infer'] as const;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

interface Request {
  method: (typeof METHODS)[number];
  url: string;
  headers?: Record<string, string>;
  payload?: string;
}

/** Any answer that is not a success is JSON in its scope's shape and smaller than ERROR_BODY_LIMIT; true when it was an error. */
async function checkErrorBody(request: Request): Promise<boolean> {
  const response = await testApp.app.inject({ ...request, headers: { 'content-type': 'application/json', ...request.headers } });
  const context = `${request.method} ${request.url.slice(0, 80)} ${JSON.stringify(request.headers ?? {}).slice(0, 80)} ${(request.payload ?? '').slice(0, 80)} -> ${response.statusCode} ${response.body.slice(0, 200)}`;
  if (response.statusCode < 400) return false;
  expect(response.statusCode, context).toBeLessThan(500);
  expect(Buffer.byteLength(response.body), context).toBeLessThan(ERROR_BODY_LIMIT);
  expect(response.headers['content-type'], context).toMatch(/^application\/json/);
  const body = response.json();
  if (request.url.startsWith('/v2/')) expect(Object.keys(body), context).toEqual(['error']);
  else expect(body, context).toMatchObject({ statusCode: response.statusCode, message: expect.any(String), detail: expect.anything() });
  return true;
}

/** Path segments of 32 KB: plain, percent-encoded multi-byte text, malformed escapes, many segments. */
const hugeSegments = [
  'a'.repeat(HUGE),
  encodeURIComponent('€'.repeat(HUGE / 9)),
  '%zz'.repeat(HUGE / 3),
  '%'.repeat(HUGE),
  'a/'.repeat(HUGE / 2),
];
const pathsWith = (segment: string) => [
  `/${segment}`,
  `/v2/${segment}`,
  `/v2/models/${segment}`,
  `/v2/models/churn/versions/${segment}/infer`,
  `/predict/${segment}`,
  `/predict?${segment}`,
  `/health?x=${segment}`,
  `/v2/models/churn/infer?${segment}`,
];

const customerOf = (value: unknown) => Object.fromEntries(['tenure_months', 'monthly_charges', 'total_charges', 'num_products', 'has_support_calls', 'customer_id'].map((name) => [name, value]));
const manyKeys = (count: number, length: number, filler: string, value: unknown) =>
  Object.fromEntries(Array.from({ length: count }, (_, index) => [`${index}`.padEnd(length, filler), value]));
/**
 * The body each prediction route is given: long strings wherever the route reads a value, and
 * made-up keys (`keys` of `keyLength` characters, each holding a list) where it reads objects.
 */
function hugeBody(url: (typeof PREDICTION_ROUTES)[number], shape: { keys: number; keyLength: number; stringLength: number; filler: string }): string {
  const text = shape.filler.repeat(shape.stringLength);
  const keys = manyKeys(shape.keys, shape.keyLength, shape.filler, [text]);
  if (url === '/predict') return JSON.stringify({ ...keys, ...customerOf(text) });
  if (url === '/predict/batch') return JSON.stringify({ ...keys, customers: [{ ...keys, ...customerOf(text) }, ...Array.from({ length: 9 }, () => customerOf(text))] });
  const named = { name: text, datatype: text, shape: [text, 5], data: [text] };
  return JSON.stringify({
    id: text,
    parameters: keys,
    inputs: [{ ...named, parameters: keys }, ...Array.from({ length: 15 }, () => named)],
    outputs: [{ name: text, parameters: keys }, ...Array.from({ length: 15 }, () => ({ name: text }))],
  });
}

describe('error bodies under 4 KB, whatever is sent', () => {
  it('for 32 KB paths, on unknown paths and on known ones with every method', async () => {
    const succeeded: string[] = [];
    for (const segment of hugeSegments) {
      for (const url of pathsWith(segment)) for (const method of METHODS) if (!(await checkErrorBody({ method, url }))) succeeded.push(`${method} ${url.split('?')[0]!.slice(0, 20)}`);
    }
    // Only the health probe, with a query string it ignores, answers these.
    expect(succeeded).toEqual(hugeSegments.map(() => 'GET /health'));
  }, 60_000);

  it('for huge Content-Encoding and Content-Type values', async () => {
    for (const url of PREDICTION_ROUTES) {
      for (const filler of HEADER_FILLERS) {
        const value = filler.repeat(HUGE);
        // Valid JSON for none of the routes: every answer is an error, whichever check refuses it.
        const payload = '{}';
        expect(await checkErrorBody({ method: 'POST', url, payload, headers: { 'content-encoding': `gzip${value}` } })).toBe(true);
        for (const contentType of [`application/json; charset=${value}`, `text/${value}`, `application/${value}+json`, `x${value}`]) {
          expect(await checkErrorBody({ method: 'POST', url, payload, headers: { 'content-type': contentType } }), contentType.slice(0, 30)).toBe(true);
        }
      }
    }
  }, 60_000);

  it('for bodies with many keys, long keys and long strings, on every prediction route', async () => {
    const shapes = fc
      .record({
        keys: fc.constantFrom(0, 1, 50, 2_000),
        keyLength: fc.constantFrom(1, 100, 5_000),
        stringLength: fc.constantFrom(0, 100, 2_000),
        filler: fc.constantFrom(...BODY_FILLERS),
      })
      // Bodies up to about the body limit (1 MiB): larger ones only meet the 413.
      .filter(({ keys, keyLength }) => keys * keyLength <= 250_000);
    // A fixed seed: the same requests on every run.
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PREDICTION_ROUTES), shapes, async (url, shape) => {
        // Every such body breaks the schema somewhere.
        expect(await checkErrorBody({ method: 'POST', url, payload: hugeBody(url, shape) })).toBe(true);
      }),
      { seed: 20_260_101, numRuns: 150 },
    );
    // Each long key and string, alone, as large as the body limit allows.
    for (const url of PREDICTION_ROUTES) {
      for (const filler of BODY_FILLERS) {
        expect(await checkErrorBody({ method: 'POST', url, payload: hugeBody(url, { keys: 1, keyLength: 200_000 / filler.length, stringLength: 0, filler }) })).toBe(true);
        expect(await checkErrorBody({ method: 'POST', url, payload: hugeBody(url, { keys: 0, keyLength: 0, stringLength: 1_000, filler }) })).toBe(true);
      }
    }
  }, 120_000);
});

describe('fuzzing the prediction routes', () => {
  it(`never answers ${RUNS_PER_ROUTE} generated Open Inference Protocol requests with a 5xx, a non-JSON or an oversized error`, async () => {
    const payloads = fc.oneof(
      { weight: 8, arbitrary: inferRequest.map(toJson) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((value) => JSON.stringify(value)) },
      { weight: 1, arbitrary: inferRequest.map((value) => toJson(value).slice(0, -1)) },
    );
    await fc.assert(fc.asyncProperty(payloads, checkInferAnswer), { numRuns: RUNS_PER_ROUTE });
    // The generator reaches the model, not only the checks in front of it.
    expect(inferAnswered).toBeGreaterThan(RUNS_PER_ROUTE / 10);
  }, 60_000);

  it.each(['/predict', '/predict/batch'])(`never answers ${RUNS_PER_ROUTE} generated bodies on %s with a 5xx, a non-JSON or an oversized error`, async (url) => {
    await fc.assert(
      fc.asyncProperty(bodies(url === '/predict'), (payload) => checkAnswer(url, payload)),
      { numRuns: RUNS_PER_ROUTE },
    );
  }, 60_000);

  describe.each([
    ['by default', () => testApp],
    ['with STRICT_TYPES=true', () => strictApp],
  ])('numbers that overflow to ±Infinity, %s', (_mode, app) => {
    it.each(['/predict', '/predict/batch'])('in any feature on %s are a 422 at that feature that echoes no non-finite value', async (url) => {
      for (const field of FEATURE_NAMES) {
        for (const literal of OVERFLOWING_LITERALS) {
          const customer = toJson({ ...VALID_CUSTOMER, [field]: `${RAW}${literal}` });
          const payload = url === '/predict' ? customer : `{"customers":[${JSON.stringify(VALID_CUSTOMER)},${customer}]}`;
          const response = await app().app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });
          const context = `${field}: ${literal.slice(0, 12)} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
          expect(response.statusCode, context).toBe(422);
          expect(response.headers['content-type'], context).toMatch(/^application\/json/);
          const [issue, ...others] = response.json().detail;
          expect(others, context).toEqual([]);
          expect(issue.loc, context).toEqual(url === '/predict' ? ['body', field] : ['body', 'customers', 1, field]);
          expect(issue, context).not.toHaveProperty('input');
          expect(response.body, context).not.toMatch(/FST_|Infinity|null/);
        }
      }
    });
  });

  it('still answers /health and valid predictions afterwards', async () => {
    expect((await testApp.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const response = await testApp.app.inject({ method: 'POST', url: '/predict', payload: VALID_CUSTOMER });
    expect(response.statusCode).toBe(200);
  });
});
