import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXAMPLE_INFER_REQUEST, EXAMPLE_INFER_RESPONSE, EXAMPLE_MODEL_METADATA, EXAMPLE_OIP_ERRORS } from '../../src/schemas/examples.js';
import { buildTestApp, postJson, type TestApp } from '../helpers.js';

const KEY = 'oip-key-0123456789abcdef';
const INFER = '/v2/models/churn/infer';

afterEach(() => vi.restoreAllMocks());

describe('Open Inference Protocol: API keys and rate limits, as for the churn API', () => {
  it('needs an API key to infer and for metadata, answered as {"error"} with a www-authenticate challenge; probes stay open', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', API_KEYS: KEY });
    try {
      const refused = await postJson(app, INFER, EXAMPLE_INFER_REQUEST);
      expect([refused.statusCode, refused.headers['www-authenticate'], refused.json()]).toEqual([401, 'Bearer realm="churn-service"', EXAMPLE_OIP_ERRORS[401]]);
      expect((await postJson(app, INFER, EXAMPLE_INFER_REQUEST, { 'x-api-key': KEY })).statusCode).toBe(200);
      expect((await postJson(app, '/v2/models/churn/versions/1.2.0/infer', EXAMPLE_INFER_REQUEST, { authorization: `Bearer ${KEY}` })).statusCode).toBe(200);
      for (const url of ['/v2/health/live', '/v2/health/ready', '/v2/models/churn/ready']) {
        expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
      }
      for (const url of ['/v2', '/v2/models/churn']) {
        const metadata = await app.inject({ method: 'GET', url });
        expect([metadata.statusCode, metadata.json()], url).toEqual([401, EXAMPLE_OIP_ERRORS[401]]);
        expect((await app.inject({ method: 'GET', url, headers: { 'x-api-key': KEY } })).statusCode, url).toBe(200);
      }
    } finally {
      await app.close();
    }
  });

  it('with PROTECT_OPS too, needs the key for metadata, never for the probes', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', API_KEYS: KEY, PROTECT_OPS: 'true' });
    try {
      for (const url of ['/v2', '/v2/models/churn']) {
        const refused = await app.inject({ method: 'GET', url });
        expect([refused.statusCode, refused.json()], url).toEqual([401, EXAMPLE_OIP_ERRORS[401]]);
        expect((await app.inject({ method: 'GET', url, headers: { 'x-api-key': KEY } })).statusCode, url).toBe(200);
      }
      for (const url of ['/v2/health/live', '/v2/health/ready', '/v2/models/churn/ready', '/v2/models/churn/versions/1.2.0/ready']) {
        expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
      }
    } finally {
      await app.close();
    }
  });

  it('shares the rate limit with the churn API, answers 429 as {"error"} with retry-after, and never limits the probes', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', API_KEYS: KEY, RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const headers = { 'x-api-key': KEY };
      expect((await postJson(app, '/predict', { tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 }, headers)).statusCode).toBe(200);
      expect((await postJson(app, INFER, EXAMPLE_INFER_REQUEST, headers)).statusCode).toBe(200);
      expect((await postJson(app, INFER, EXAMPLE_INFER_REQUEST, headers)).statusCode).toBe(200);
      const limited = await postJson(app, INFER, EXAMPLE_INFER_REQUEST, headers);
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.json().error).toMatch(/^Rate limit of 3 requests per minute reached; retry in \d+ s\.$/);
      // The same client, its bucket spent: every probe still answers it, while metadata (no probe) is refused.
      for (const url of ['/v2/health/live', '/v2/health/ready', '/v2/models/churn/ready', '/v2/models/churn/versions/1.2.0/ready']) {
        expect((await app.inject({ method: 'GET', url, headers })).statusCode, url).toBe(200);
      }
      expect((await app.inject({ method: 'GET', url: '/v2/models/churn', headers })).statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });
});

type Operation = { tags: string[]; summary: string; description?: string; requestBody?: { content: Record<string, { schema: { $ref?: string } }> }; responses: Record<string, { description: string; content?: Record<string, { example?: unknown; schema?: unknown }> }> };
let testApp: TestApp;
let spec: { paths: Record<string, Record<string, Operation>>; tags: { name: string; description: string }[]; components: { schemas: Record<string, { example?: unknown }> } };
// Built for each test, not once: Stryker switches a mutant on per test, so routes registered in a
// beforeAll would document the unmutated schemas to every test (see test/MUTATION.md).
beforeEach(async () => {
  testApp = await buildTestApp({ LOG_LEVEL: 'silent' });
  spec = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
});
afterEach(async () => testApp.app.close());

describe('Open Inference Protocol: in the OpenAPI document', () => {
  const V2_OPERATIONS = [
    ['get', '/v2'],
    ['get', '/v2/health/live'],
    ['get', '/v2/health/ready'],
    ['get', '/v2/models/{model_name}'],
    ['get', '/v2/models/{model_name}/versions/{model_version}'],
    ['get', '/v2/models/{model_name}/ready'],
    ['get', '/v2/models/{model_name}/versions/{model_version}/ready'],
    ['post', '/v2/models/{model_name}/infer'],
    ['post', '/v2/models/{model_name}/versions/{model_version}/infer'],
  ] as const;

  it('lists every endpoint under its own tag', () => {
    expect(spec.tags.map((tag) => tag.name)).toContain('open-inference');
    const documented = Object.entries(spec.paths).flatMap(([path, operations]) =>
      Object.entries(operations).filter(([, operation]) => operation.tags?.includes('open-inference')).map(([method]) => `${method} ${path}`),
    );
    expect(documented.sort()).toEqual(V2_OPERATIONS.map(([method, path]) => `${method} ${path}`).sort());
  });

  it('gives every operation a summary and every answer a description; the infer docs name the row limit and the columns', () => {
    for (const [method, path] of V2_OPERATIONS) {
      const operation = spec.paths[path]![method]!;
      expect(operation.summary, `${method} ${path}`).toMatch(/\w{3}/);
      for (const [status, response] of Object.entries(operation.responses)) {
        // The docs plugin's stand-in for an answer documented without a description.
        expect(response.description, `${method} ${path} ${status}`).not.toBe('Default Response');
        expect(response.description, `${method} ${path} ${status}`).toMatch(/\w{3}/);
      }
    }
    const infer = spec.paths['/v2/models/{model_name}/infer']!.post!;
    expect(infer.summary).toBe('Infer: P(stay) and P(churn) and the class label for 1 to 100 customers');
    expect(infer.description).toContain('The one input is FP32 [N, 5], N from 1 to 100: one row per customer');
    expect(infer.description).toContain('(tenure_months, monthly_charges, total_charges, num_products, has_support_calls)');
  });

  it('documents the infer body and its answers with the service\'s real examples', () => {
    const operation = spec.paths['/v2/models/{model_name}/infer']!.post!;
    expect(operation.requestBody!.content['application/json']!.schema.$ref).toBe('#/components/schemas/OipInferenceRequest');
    expect(spec.components.schemas.OipInferenceRequest!.example).toEqual(EXAMPLE_INFER_REQUEST);
    expect(operation.responses['200']!.content!['application/json']!.example).toEqual(EXAMPLE_INFER_RESPONSE);
    for (const status of ['400', '401', '404', '413', '415', '429', '500', '503'] as const) {
      expect(operation.responses[status]!.content!['application/json']!.example, status).toEqual(EXAMPLE_OIP_ERRORS[status]);
    }
    expect(spec.paths['/v2/models/{model_name}']!.get!.responses['200']!.content!['application/json']!.example).toEqual(EXAMPLE_MODEL_METADATA);
  });

  it('shows error examples that are the service\'s real answers', async () => {
    const { app } = testApp;
    expect((await postJson(app, INFER, { inputs: [{ name: 'features', datatype: 'FP32', shape: [5], data: [2, 70.7, 151.65, 2, 0] }] })).json()).toEqual(EXAMPLE_OIP_ERRORS[400]);
    expect((await app.inject({ method: 'GET', url: '/v2/models/churn/versions/0.9.0' })).json()).toEqual(EXAMPLE_OIP_ERRORS[404]);
    const send = (payload: string, contentType = 'application/json') => app.inject({ method: 'POST', url: INFER, payload, headers: { 'content-type': contentType } });
    expect((await send(JSON.stringify({ padding: 'x'.repeat(1024 * 1024) }))).json()).toEqual(EXAMPLE_OIP_ERRORS[413]);
    expect((await send(JSON.stringify(EXAMPLE_INFER_REQUEST), 'text/plain')).json()).toEqual(EXAMPLE_OIP_ERRORS[415]);
    testApp.predict.mockRejectedValueOnce(new Error('boom'));
    expect((await send(JSON.stringify(EXAMPLE_INFER_REQUEST))).json()).toEqual(EXAMPLE_OIP_ERRORS[500]);
    const closing = await buildTestApp({ LOG_LEVEL: 'silent' });
    try {
      await closing.app.dataPlane.close();
      expect((await postJson(closing.app, INFER, EXAMPLE_INFER_REQUEST)).json()).toEqual(EXAMPLE_OIP_ERRORS[503]);
    } finally {
      await closing.app.close();
    }
  });
});
