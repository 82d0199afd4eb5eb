import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES, ModelFeatures, type FeatureName } from '../../src/schemas/customer-features.js';
import { cutEcho } from '../../src/echo.js';
import { buildTestApp, VALID_CUSTOMER, type TestApp } from '../helpers.js';

/**
 * What the churn API accepts and refuses for each feature and for ?explain=, by default as
 * FastAPI does (pydantic v2 lax mode: the outcomes pydantic gives, read from pydantic-core's rules
 * and tests), and with STRICT_TYPES=true by the service's earlier strict rules (only JSON numbers
 * are numbers; JSON.parse makes 6.0 and 6 the same number, so 6.0 is an integer in both modes).
 * An accepted value must reach the model as that number; a refused one is a 422 with one detail
 * entry of pydantic's error type at the value's location, echoing the value as sent.
 */

/** A number the model receives, or the error type of the one detail entry. */
type Outcome = number | string;
/** The feature, the value as JSON text, the outcome by default (pydantic's), and with STRICT_TYPES. */
type FieldCase = [field: FeatureName, json: string, lax: Outcome, strict: Outcome];

const DIGITS_400 = '1'.repeat(400);

const FIELD_CASES: FieldCase[] = [
  ['tenure_months', '"2"', 2, 'int_type'],
  ['tenure_months', '" 2 "', 2, 'int_type'],
  ['tenure_months', '"\\t2\\n"', 2, 'int_type'],
  ['tenure_months', '"+2"', 2, 'int_type'],
  ['tenure_months', '"1_0"', 10, 'int_type'],
  ['tenure_months', '"2.0"', 2, 'int_type'],
  ['tenure_months', '"2.00"', 2, 'int_type'],
  ['tenure_months', '"-0"', 0, 'int_type'],
  ['tenure_months', '"0120"', 120, 'int_type'],
  ['tenure_months', '"2.5"', 'int_parsing', 'int_type'],
  ['tenure_months', '"2."', 'int_parsing', 'int_type'],
  ['tenure_months', '"1e1"', 'int_parsing', 'int_type'],
  ['tenure_months', '"0x1F"', 'int_parsing', 'int_type'],
  ['tenure_months', '"1__0"', 'int_parsing', 'int_type'],
  ['tenure_months', '"two"', 'int_parsing', 'int_type'],
  ['tenure_months', '""', 'int_parsing', 'int_type'],
  ['tenure_months', '"121"', 'less_than_equal', 'int_type'],
  ['tenure_months', '"-1"', 'greater_than_equal', 'int_type'],
  ['tenure_months', `"${DIGITS_400}"`, 'less_than_equal', 'int_type'],
  ['tenure_months', `"${'1'.repeat(4301)}"`, 'int_parsing_size', 'int_type'],
  ['tenure_months', 'true', 1, 'int_type'],
  ['tenure_months', 'false', 0, 'int_type'],
  ['tenure_months', '6.0', 6, 6],
  ['tenure_months', '1e2', 100, 100],
  ['tenure_months', '6.5', 'int_from_float', 'int_from_float'],
  ['tenure_months', '121', 'less_than_equal', 'less_than_equal'],
  ['tenure_months', '1e19', 'int_parsing_size', 'less_than_equal'],
  ['tenure_months', '10000000000000000000', 'less_than_equal', 'less_than_equal'],
  ['tenure_months', 'null', 'int_type', 'int_type'],
  ['tenure_months', '[2]', 'int_type', 'int_type'],
  ['tenure_months', '{"value":2}', 'int_type', 'int_type'],
  ['monthly_charges', '"70.7"', 70.7, 'float_type'],
  ['monthly_charges', '" 70.7\\n"', 70.7, 'float_type'],
  ['monthly_charges', '"1_0.5"', 10.5, 'float_type'],
  ['monthly_charges', '"7e1"', 70, 'float_type'],
  ['monthly_charges', '".5"', 0.5, 'float_type'],
  ['monthly_charges', '"70."', 70, 'float_type'],
  ['monthly_charges', '"+70"', 70, 'float_type'],
  ['monthly_charges', '"inf"', 'less_than_equal', 'float_type'],
  ['monthly_charges', '"-Infinity"', 'greater_than_equal', 'float_type'],
  ['monthly_charges', '"nan"', 'less_than_equal', 'float_type'],
  ['monthly_charges', '"70,7"', 'float_parsing', 'float_type'],
  ['monthly_charges', '"0x10"', 'float_parsing', 'float_type'],
  ['monthly_charges', '"$70"', 'float_parsing', 'float_type'],
  ['monthly_charges', '""', 'float_parsing', 'float_type'],
  ['monthly_charges', '"500.01"', 'less_than_equal', 'float_type'],
  ['monthly_charges', 'true', 1, 'float_type'],
  ['monthly_charges', 'false', 0, 'float_type'],
  ['monthly_charges', '70', 70, 70],
  ['monthly_charges', '500.01', 'less_than_equal', 'less_than_equal'],
  ['monthly_charges', 'null', 'float_type', 'float_type'],
  ['monthly_charges', '[]', 'float_type', 'float_type'],
  ['total_charges', '"151.65"', 151.65, 'float_type'],
  ['total_charges', '"1_000_000"', 1_000_000, 'float_type'],
  ['total_charges', '"1e6"', 1_000_000, 'float_type'],
  ['total_charges', '"-0.01"', 'greater_than_equal', 'float_type'],
  ['total_charges', `"${DIGITS_400}"`, 'less_than_equal', 'float_type'],
  ['total_charges', '"1e400"', 'less_than_equal', 'float_type'],
  ['num_products', '"10"', 10, 'int_type'],
  ['num_products', '"11"', 'less_than_equal', 'int_type'],
  ['num_products', 'true', 1, 'int_type'],
  ['num_products', 'false', 'greater_than_equal', 'int_type'],
  ['has_support_calls', '"1"', 1, 'int_type'],
  ['has_support_calls', '"0"', 0, 'int_type'],
  ['has_support_calls', 'true', 1, 'int_type'],
  ['has_support_calls', 'false', 0, 'int_type'],
  ['has_support_calls', '1.0', 1, 1],
  ['has_support_calls', '"true"', 'int_parsing', 'int_type'],
  ['has_support_calls', '"yes"', 'int_parsing', 'int_type'],
  ['has_support_calls', '2', 'less_than_equal', 'less_than_equal'],
  ['has_support_calls', '0.5', 'int_from_float', 'int_from_float'],
];

/**
 * Numbers JSON.parse makes ±Infinity, in every field. pydantic reads 1e400 as the float inf (no
 * int; beyond a float field's `le`) and a 400-digit literal as an exact int (beyond an int field's
 * `le`; too large for a float). Nothing non-finite is ever echoed.
 */
const OVERFLOW_CASES: FieldCase[] = FEATURE_NAMES.flatMap((field): FieldCase[] =>
  ModelFeatures.properties[field].type === 'integer'
    ? [
        [field, '1e400', 'finite_number', 'int_type'],
        [field, '-1e309', 'finite_number', 'int_type'],
        [field, DIGITS_400, 'less_than_equal', 'int_type'],
        [field, `-${DIGITS_400}`, 'greater_than_equal', 'int_type'],
      ]
    : [
        [field, '1e400', 'less_than_equal', 'float_type'],
        [field, '-1e309', 'greater_than_equal', 'float_type'],
        [field, DIGITS_400, 'float_type', 'float_type'],
        [field, `-${DIGITS_400}`, 'float_type', 'float_type'],
      ],
);

/** The query, and whether the answer is explained, or the error type: by default, and with STRICT_TYPES. */
type ExplainCase = [query: string, lax: boolean | string, strict: boolean | string];

const EXPLAIN_CASES: ExplainCase[] = [
  ['', false, false],
  ['explain=true', true, true],
  ['explain=false', false, false],
  ['explain=1', true, 'literal_error'],
  ['explain=0', false, 'literal_error'],
  ['explain=yes', true, 'literal_error'],
  ['explain=YES', true, 'literal_error'],
  ['explain=on', true, 'literal_error'],
  ['explain=t', true, 'literal_error'],
  ['explain=Y', true, 'literal_error'],
  ['explain=TRUE', true, 'literal_error'],
  ['explain=no', false, 'literal_error'],
  ['explain=Off', false, 'literal_error'],
  ['explain=f', false, 'literal_error'],
  ['explain=n', false, 'literal_error'],
  ['explain=False', false, 'literal_error'],
  ['explain=', 'bool_parsing', 'literal_error'],
  ['explain=maybe', 'bool_parsing', 'literal_error'],
  ['explain=2', 'bool_parsing', 'literal_error'],
  ['explain=%20true', 'bool_parsing', 'literal_error'],
  // FastAPI reads the last of repeated values.
  ['explain=true&explain=false', false, 'string_type'],
  ['explain=no&explain=yes', true, 'string_type'],
  ['explain=true&explain=maybe', 'bool_parsing', 'string_type'],
];

let laxApp: TestApp;
let strictApp: TestApp;
beforeAll(async () => {
  [laxApp, strictApp] = await Promise.all([buildTestApp({ LOG_LEVEL: 'silent' }), buildTestApp({ LOG_LEVEL: 'silent', STRICT_TYPES: 'true' })]);
});
afterAll(async () => Promise.all([laxApp.app.close(), strictApp.app.close()]));

const VALID_ROW = JSON.stringify(VALID_CUSTOMER);

/** A customer whose `field` is the JSON text `json`, the other features valid. */
function customerWith(field: FeatureName, json: string): string {
  const { [field]: _replaced, ...others } = VALID_CUSTOMER;
  return `${JSON.stringify(others).slice(0, -1)},"${field}":${json}}`;
}

/** What the error may echo of the value sent: a scalar, strings cut to 64 characters, nothing non-finite. */
function echoOf(json: string): { input?: unknown } {
  const sent: unknown = JSON.parse(json);
  if (typeof sent === 'string') return { input: cutEcho(sent) };
  if ((typeof sent === 'number' && Number.isFinite(sent)) || typeof sent === 'boolean' || sent === null) return { input: sent };
  return {};
}

const modes = [
  ['by default (as FastAPI)', () => laxApp, 2],
  ['with STRICT_TYPES=true', () => strictApp, 3],
] as const;

describe.each(modes)('each feature %s', (_mode, testApp, column) => {
  const routes = [
    // The route, its body around the customer, and the customer's row and location in it.
    ['/predict', (customer: string) => customer, 0, ['body']],
    ['/predict/batch', (customer: string) => `{"customers":[${VALID_ROW},${customer}]}`, 1, ['body', 'customers', 1]],
  ] as const;

  describe.each(routes)('on %s', (url, bodyOf, row, location) => {
    it.each([...FIELD_CASES, ...OVERFLOW_CASES].map((fieldCase) => [fieldCase[0], fieldCase[1].slice(0, 40), fieldCase[column], fieldCase[1]] as const))(
      '%s: %s -> %j',
      async (field, _shown, expected, json) => {
        const { app, predict } = testApp();
        const response = await app.inject({ method: 'POST', url, payload: bodyOf(customerWith(field, json)), headers: { 'content-type': 'application/json' } });
        if (typeof expected === 'number') {
          expect(response.statusCode, response.body).toBe(200);
          const [features, rows] = predict.mock.lastCall as [Float32Array, number];
          expect(rows).toBe(row + 1);
          expect(features[row * FEATURE_NAMES.length + FEATURE_NAMES.indexOf(field)]).toBe(Math.fround(expected));
          return;
        }
        expect(response.statusCode, response.body).toBe(422);
        const { detail } = response.json();
        expect(detail).toEqual([expect.objectContaining({ type: expected, loc: [...location, field] })]);
        expect(detail[0].input).toEqual(echoOf(json).input);
        expect('input' in detail[0]).toBe('input' in echoOf(json));
      },
    );
  });
});

describe.each(modes)('?explain= %s', (_mode, testApp, column) => {
  describe.each(['/predict', '/predict/batch'])('on %s', (url) => {
    it.each(EXPLAIN_CASES.map((explainCase) => [explainCase[0], explainCase[column - 1]] as const))('?%s -> %j', async (query, expected) => {
      const body = url === '/predict' ? VALID_CUSTOMER : { customers: [VALID_CUSTOMER] };
      const response = await testApp().app.inject({ method: 'POST', url: `${url}?${query}`, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      if (typeof expected === 'boolean') {
        expect(response.statusCode, response.body).toBe(200);
        const prediction = url === '/predict' ? response.json() : response.json().predictions[0];
        expect('explanation' in prediction).toBe(expected);
        return;
      }
      expect(response.statusCode, response.body).toBe(422);
      const sent = new URLSearchParams(query).getAll('explain');
      const [issue] = response.json().detail;
      expect(issue).toMatchObject({ type: expected, loc: ['querystring', 'explain'] });
      // pydantic echoes the value it read: the last one sent. Several values are a list, never echoed, without the conversion.
      if (expected === 'string_type') expect(issue).not.toHaveProperty('input');
      else expect(issue.input).toBe(sent.at(-1));
    });
  });
});

describe('refused values beside other problems', () => {
  it('are reported once each, in place of the schema\'s own violation, with every other problem', async () => {
    const body = { customers: [{ tenure_months: '2', monthly_charges: 'seventy', num_products: '0', has_support_calls: 'yes', customer_id: '' }] };
    const response = await laxApp.app.inject({ method: 'POST', url: '/predict/batch', payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(422);
    const at = (field: string) => ['body', 'customers', 0, field];
    expect(response.json().detail).toEqual([
      { type: 'missing', loc: at('total_charges'), msg: 'Field required' },
      { type: 'float_parsing', loc: at('monthly_charges'), msg: 'Input should be a valid number, unable to parse string as a number', input: 'seventy' },
      { type: 'greater_than_equal', loc: at('num_products'), msg: 'Input should be greater than or equal to 1', input: '0', ctx: { ge: 1 } },
      { type: 'int_parsing', loc: at('has_support_calls'), msg: 'Input should be a valid integer, unable to parse string as an integer', input: 'yes' },
      { type: 'string_too_short', loc: at('customer_id'), msg: 'String should have at least 1 character', input: '', ctx: { min_length: 1 } },
    ]);
    expect(response.json().message).toBe(
      'customers[0].total_charges is required. customers[0].monthly_charges must be a valid number, unable to parse string as a number. ' +
        'customers[0].num_products must be greater than or equal to 1. customers[0].has_support_calls must be a valid integer, unable to parse string as an integer. ' +
        'customers[0].customer_id must have at least 1 character.',
    );
  });

  it('word a message that is no rule as a quote', async () => {
    const response = await laxApp.app.inject({ method: 'POST', url: '/predict', payload: customerWith('tenure_months', '1e19'), headers: { 'content-type': 'application/json' } });
    expect(response.json().message).toBe('tenure_months: Unable to parse input string as an integer, exceeded maximum size.');
  });

  it('never reach the model, and the converted values of a valid body reach it as numbers', async () => {
    const runs = laxApp.predict.mock.calls.length;
    const refused = await laxApp.app.inject({ method: 'POST', url: '/predict', payload: customerWith('tenure_months', '"x"'), headers: { 'content-type': 'application/json' } });
    expect(refused.statusCode).toBe(422);
    expect(laxApp.predict.mock.calls.length).toBe(runs);
    const converted = { tenure_months: '2', monthly_charges: '70.7', total_charges: ' 151.65 ', num_products: '2', has_support_calls: false, customer_id: '9237-HQITU' };
    const fromStrings = await laxApp.app.inject({ method: 'POST', url: '/predict?explain=yes', payload: JSON.stringify(converted), headers: { 'content-type': 'application/json' } });
    const fromNumbers = await laxApp.app.inject({ method: 'POST', url: '/predict?explain=true', payload: JSON.stringify({ ...VALID_CUSTOMER, customer_id: '9237-HQITU' }), headers: { 'content-type': 'application/json' } });
    expect(fromStrings.statusCode).toBe(200);
    expect(fromStrings.body).toBe(fromNumbers.body);
    expect(fromStrings.json().explanation.contributions.map(({ value }: { value: unknown }) => value)).toEqual([2, 70.7, 151.65, 2, 0]);
  });
});

describe('the OpenAPI document', () => {
  it('documents numbers as numbers, and says strings are converted only when they are', async () => {
    const laxSpec = (await laxApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const strictSpec = (await strictApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const spec of [laxSpec, strictSpec]) {
      const properties = spec.components.schemas.CustomerFeatures.properties;
      for (const field of FEATURE_NAMES) expect(properties[field].type, field).toBe(ModelFeatures.properties[field].type);
    }
    for (const path of ['/predict', '/predict/batch']) {
      expect(laxSpec.paths[path].post.description).toContain('as strings ("2", "70.7") or booleans');
      expect(strictSpec.paths[path].post.description).not.toContain('strings');
    }
  });
});
