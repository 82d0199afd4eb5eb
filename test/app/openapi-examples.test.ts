import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FEATURE_NAMES, ModelFeatures } from '../../src/schemas/customer-features.js';
import { EXAMPLE_BATCH_REQUEST, EXAMPLE_BATCH_RESPONSE, EXAMPLE_CUSTOMER, EXAMPLE_ERRORS, EXAMPLE_PREDICTION, EXAMPLE_VALIDATION_ERROR } from '../../src/schemas/examples.js';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

let testApp: TestApp;
let spec: { paths: Record<string, Record<string, { responses: Record<string, { description: string; content?: Record<string, { example?: unknown }> }> }>>; components: { schemas: Record<string, unknown> } };
beforeAll(async () => {
  testApp = await buildTestApp({ ADMIN_TOKEN: 'admin-token-0123456789' });
  spec = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
});
afterAll(async () => testApp.app.close());
afterEach(() => vi.restoreAllMocks());

describe('the OpenAPI examples are the service\'s real answers', () => {
  it('for one customer', async () => {
    expect((await postJson(testApp.app, '/predict', EXAMPLE_CUSTOMER)).json()).toEqual(EXAMPLE_PREDICTION);
  });

  it('for a batch (apart from the measured latency)', async () => {
    const body = (await postJson(testApp.app, '/predict/batch', EXAMPLE_BATCH_REQUEST)).json();
    expect({ ...body, latency_ms: EXAMPLE_BATCH_RESPONSE.latency_ms }).toEqual(EXAMPLE_BATCH_RESPONSE);
  });

  it('for each error status of the prediction routes', async () => {
    const send = (payload: string, headers: Record<string, string> = {}) =>
      testApp.app.inject({ method: 'POST', url: '/predict', payload, headers: { 'content-type': 'application/json', ...headers } });
    expect((await send('['.repeat(33) + ']'.repeat(33))).json()).toEqual(EXAMPLE_ERRORS[400]);
    expect((await send(JSON.stringify({ padding: 'x'.repeat(1024 * 1024) }))).json()).toEqual(EXAMPLE_ERRORS[413]);
    expect((await send(JSON.stringify(VALID_CUSTOMER), { 'content-type': 'text/plain' })).json()).toEqual(EXAMPLE_ERRORS[415]);
    expect((await send(JSON.stringify({ ...VALID_CUSTOMER, tenure_months: 999 }))).json()).toEqual(EXAMPLE_VALIDATION_ERROR);
    testApp.predict.mockRejectedValueOnce(new Error('boom'));
    expect((await send(JSON.stringify(VALID_CUSTOMER))).json()).toEqual(EXAMPLE_ERRORS[500]);

    const keyed = await buildTestApp({ API_KEYS: 'key-0123456789abcdef,other-key-0123456789', RATE_LIMIT_PER_MINUTE: '600' });
    try {
      expect((await postJson(keyed.app, '/predict', VALID_CUSTOMER)).json()).toEqual(EXAMPLE_ERRORS[401]);
      const asKey = () => postJson(keyed.app, '/predict', VALID_CUSTOMER, { 'x-api-key': 'key-0123456789abcdef' });
      for (let call = 0; call < 600; call += 1) await asKey();
      const limited = (await asKey()).json();
      expect({ ...limited, message: limited.message.replace(/\d+ s\./, '42 s.'), detail: limited.detail.replace(/\d+ s\./, '42 s.') }).toEqual(EXAMPLE_ERRORS[429]);
      await keyed.app.dataPlane.close();
      expect((await postJson(keyed.app, '/predict', VALID_CUSTOMER, { 'x-api-key': 'other-key-0123456789' })).json()).toEqual(EXAMPLE_ERRORS[503]);
    } finally {
      await keyed.app.close();
    }
  });

  it('are the ones the document shows', () => {
    const predict = spec.paths['/predict']!.post!.responses;
    expect(predict['200']!.content!['application/json']).toBeDefined();
    expect(predict['200']!.content!['application/json']!.example).toEqual(EXAMPLE_PREDICTION);
    expect(spec.paths['/predict/batch']!.post!.responses['200']!.content!['application/json']!.example).toEqual(EXAMPLE_BATCH_RESPONSE);
    const examples = { ...EXAMPLE_ERRORS, 422: EXAMPLE_VALIDATION_ERROR };
    for (const status of ['400', '401', '413', '415', '422', '429', '500', '503'] as const) {
      expect(predict[status]!.content!['application/json']!.example, status).toEqual(examples[status]);
      expect(spec.paths['/predict/batch']!.post!.responses[status]!.content!['application/json']!.example, status).toEqual(examples[status]);
    }
  });
});

describe('the OpenAPI document', () => {
  it('describes every response of every operation', () => {
    for (const [path, operations] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          expect(response.description, `${method.toUpperCase()} ${path} ${status}`).not.toBe('Default Response');
          expect(response.description.length, `${method.toUpperCase()} ${path} ${status}`).toBeGreaterThan(5);
        }
      }
    }
  });

  it('shows enums as enums, never as an anyOf of constants', () => {
    const text = JSON.stringify(spec);
    expect(text).not.toMatch(/"anyOf":\[\{"const"/);
    expect(text).not.toMatch(/"anyOf":\[\{"type":"string","enum":\["[^"]+"\]\}/);
    expect(spec.components.schemas.PredictionResponse).toMatchObject({ properties: { risk_tier: { type: 'string', enum: ['HIGH', 'MEDIUM', 'LOW'] } } });
    expect(spec.components.schemas.HealthResponse).toMatchObject({ properties: { status: { type: 'string', enum: ['healthy', 'unhealthy'] } } });
  });

  it('gives every feature its unit and valid range, and has_support_calls its caveat', () => {
    for (const name of FEATURE_NAMES) {
      const schema = ModelFeatures.properties[name];
      const { description } = schema;
      const format = (value: number) => value.toLocaleString('en-US');
      if (name !== 'has_support_calls') {
        expect(description, name).toMatch(/Unit: [a-zA-Z ]+\./);
        expect(description, name).toContain(`Valid range: ${format(schema.minimum!)} to ${format(schema.maximum!)}, inclusive`);
      }
    }
    expect(ModelFeatures.properties.has_support_calls.description).toMatch(/Caveat: .*tech-support add-on/);
  });
});
