import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../src/schemas/customer-features.js';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

const API_KEY = 'key-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-0123456789';

interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
}
interface OpenApiDocument {
  info: { description: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, unknown> };
}

const openApi = async (app: FastifyInstance) => (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as OpenApiDocument;
const operationsOf = (spec: OpenApiDocument) =>
  Object.entries(spec.paths).flatMap(([path, operations]) => Object.entries(operations).map(([method, operation]) => ({ method, path, operation })));

/** Builds an app with `env`, hands it to `check`, and closes it. */
async function withApp(env: Record<string, string>, check: (app: FastifyInstance) => Promise<void>) {
  const { app } = await buildTestApp(env);
  try {
    await check(app);
  } finally {
    await app.close();
  }
}

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp();
});
afterAll(async () => testApp.app.close());

const get = (url: string) => testApp.app.inject({ method: 'GET', url });

describe('API docs', () => {
  it('serves OpenAPI 3 with every range, description and the example request', async () => {
    const response = await get('/openapi.json');
    expect(response.statusCode).toBe(200);
    const spec = response.json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/predict', '/predict/batch', '/health']));

    const features = spec.components.schemas.CustomerFeatures;
    expect(Object.keys(features.properties)).toEqual([...FEATURE_NAMES, 'customer_id']);
    expect(features.required).toEqual([...FEATURE_NAMES]);
    expect(features.properties.tenure_months).toMatchObject({ type: 'integer', minimum: 0, maximum: 120 });
    expect(features.properties.monthly_charges).toMatchObject({ type: 'number', minimum: 0, maximum: 500 });
    expect(features.properties.total_charges).toMatchObject({ type: 'number', minimum: 0, maximum: 1_000_000 });
    expect(features.properties.num_products).toMatchObject({ type: 'integer', minimum: 1, maximum: 10 });
    expect(features.properties.has_support_calls).toMatchObject({ type: 'integer', minimum: 0, maximum: 1 });
    for (const name of FEATURE_NAMES) expect(features.properties[name].description).toBeTruthy();
    expect(features.example ?? features.examples?.[0]).toMatchObject({ tenure_months: 2, monthly_charges: 70.7 });

    const predict = spec.paths['/predict'].post;
    expect(predict.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/CustomerFeatures');
    expect(Object.keys(predict.responses).sort()).toEqual(['200', '400', '401', '413', '415', '422', '429', '500', '503']);
    expect(predict.responses['422'].description).toMatch(/one detail entry per problem/);
    const batchSchema = spec.paths['/predict/batch'].post.requestBody.content['application/json'].schema;
    expect(batchSchema.properties.customers).toMatchObject({ minItems: 1, maxItems: 100 });
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await get('/docs');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toContain('swagger');
  });

  it('serves ReDoc at /redoc with its script from the redoc package, not a CDN', async () => {
    const page = await get('/redoc');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('spec-url="/openapi.json"');
    expect(page.body).not.toMatch(/https?:\/\//);
    const script = await get('/redoc/redoc.standalone.js');
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.body.length).toBeGreaterThan(100_000);
  });
});

describe('favicon', () => {
  it('answers /favicon.ico so docs pages load without a 404', async () => {
    const response = await get('/favicon.ico');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('image/png');
    expect(response.rawPayload.subarray(1, 4).toString()).toBe('PNG');
  });
});

describe('the security the docs offer is what this server checks', () => {
  it.each([
    ['no keys and no admin token', {}, []],
    ['API keys', { API_KEYS: API_KEY }, ['apiKeyHeader', 'apiKeyBearer']],
    ['an admin token alone', { ADMIN_TOKEN }, ['adminToken']],
    ['API keys and an admin token', { API_KEYS: API_KEY, ADMIN_TOKEN }, ['apiKeyHeader', 'apiKeyBearer', 'adminToken']],
  ])('with %s, declares exactly the schemes the operations use', async (_what, env: Record<string, string>, schemes: string[]) => {
    await withApp(env, async (app) => {
      const spec = await openApi(app);
      expect(Object.keys(spec.components?.securitySchemes ?? {})).toEqual(schemes);
      const used = new Set(operationsOf(spec).flatMap(({ operation }) => (operation.security ?? []).flatMap(Object.keys)));
      expect([...used].sort()).toEqual([...schemes].sort());
    });
  });

  it('without API_KEYS or ADMIN_TOKEN, asks for nothing: no scheme, no operation with security', async () => {
    await withApp({}, async (app) => {
      const spec = await openApi(app);
      expect(spec.components?.securitySchemes).toBeUndefined();
      expect(operationsOf(spec).filter(({ operation }) => operation.security !== undefined)).toEqual([]);
    });
  });

  it.each([
    ['without PROTECT_OPS', { API_KEYS: API_KEY, ADMIN_TOKEN }],
    ['with PROTECT_OPS', { API_KEYS: API_KEY, ADMIN_TOKEN, PROTECT_OPS: 'true' }],
  ])('%s, declares an API key on exactly the operations that answer 401 without one', async (_what, env: Record<string, string>) => {
    await withApp(env, async (app) => {
      const spec = await openApi(app);
      const declared: Record<string, string> = {};
      const enforced: Record<string, string> = {};
      for (const { method, path, operation } of operationsOf(spec)) {
        const name = `${method.toUpperCase()} ${path}`;
        declared[name] = operation.security === undefined ? 'none' : JSON.stringify(operation.security);
        const url = path.replace('{model_name}', 'churn').replace('{model_version}', '1.2.0');
        const response = await app.inject({ method: method.toUpperCase() as 'GET', url, ...(method === 'post' ? { payload: '{}', headers: { 'content-type': 'application/json' } } : {}) });
        const realm = response.statusCode === 401 ? /realm="([^"]+)"/.exec(String(response.headers['www-authenticate']))?.[1] : undefined;
        enforced[name] = realm === 'churn-service' ? JSON.stringify([{ apiKeyHeader: [] }, { apiKeyBearer: [] }]) : realm === 'admin' ? JSON.stringify([{ adminToken: [] }]) : 'none';
      }
      expect(declared).toEqual(enforced);
      expect(declared['GET /metrics']).toBe(env.PROTECT_OPS ? enforced['POST /predict'] : 'none');
    });
  });
});

describe('operation ids, for generated clients', () => {
  it('gives every operation a unique operationId named after what it does', async () => {
    await withApp({ ADMIN_TOKEN }, async (app) => {
      const operations = operationsOf(await openApi(app));
      const ids = Object.fromEntries(operations.map(({ method, path, operation }) => [`${method.toUpperCase()} ${path}`, operation.operationId]));
      expect(ids).toEqual({
        'POST /predict': 'predict',
        'POST /predict/batch': 'predictBatch',
        'POST /outcomes': 'postOutcomes',
        'GET /health': 'health',
        'GET /health/live': 'healthLive',
        'GET /health/ready': 'healthReady',
        'GET /model': 'getModel',
        'GET /monitoring/drift': 'getDrift',
        // The prediction log (on by default) is the performance report's source.
        'GET /monitoring/comparison': 'getComparison',
        'GET /monitoring/performance': 'getPerformance',
        'GET /metrics': 'getMetrics',
        'POST /admin/reload': 'reloadModel',
        'PUT /admin/challenger': 'loadChallenger',
        'DELETE /admin/challenger': 'dropChallenger',
        'POST /admin/challenger/promote': 'promoteChallenger',
        'GET /v2': 'serverMetadata',
        'GET /v2/health/live': 'serverLive',
        'GET /v2/health/ready': 'serverReady',
        'GET /v2/models/{model_name}': 'modelMetadata',
        'GET /v2/models/{model_name}/versions/{model_version}': 'modelVersionMetadata',
        'GET /v2/models/{model_name}/ready': 'modelReady',
        'GET /v2/models/{model_name}/versions/{model_version}/ready': 'modelVersionReady',
        'POST /v2/models/{model_name}/infer': 'modelInfer',
        'POST /v2/models/{model_name}/versions/{model_version}/infer': 'modelVersionInfer',
      });
      const all = operations.map(({ operation }) => operation.operationId);
      expect(all.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]*$/.test(id))).toBe(true);
      expect(new Set(all).size).toBe(all.length);
    });
  });
});

describe('the page\'s description', () => {
  it('says how errors and explain work, and nothing of keys on a server that asks for none', async () => {
    await withApp({}, async (app) => {
      const { description } = (await openApi(app)).info;
      expect(description).toMatch(/422 with FastAPI's `detail` list: one entry per problem/);
      expect(description).toContain('Under `/v2` (Open Inference Protocol) every error is `{"error": "..."}`');
      expect(description).toContain('`?explain=true` on `/predict` and `/predict/batch`');
      expect(description).not.toMatch(/API key|X-API-Key|Bearer|admin/i);
    });
  });

  it('names the key headers once API_KEYS is set, and the admin token only with ADMIN_TOKEN', async () => {
    await withApp({ API_KEYS: API_KEY }, async (app) => {
      const { description } = (await openApi(app)).info;
      expect(description).toContain('`X-API-Key: <key>` or `Authorization: Bearer <key>`');
      expect(description).toContain('the probes, the docs and `/metrics` need none');
      expect(description).not.toMatch(/admin/i);
    });
    await withApp({ API_KEYS: API_KEY, PROTECT_OPS: 'true', ADMIN_TOKEN }, async (app) => {
      const { description } = (await openApi(app)).info;
      expect(description).toContain('the probes and the docs need none');
      expect(description).toContain('`/admin` routes take the admin token as `Authorization: Bearer <token>`');
    });
    await withApp({ ADMIN_TOKEN }, async (app) => {
      const { description } = (await openApi(app)).info;
      expect(description).toContain('`/admin` routes take the admin token');
      expect(description).not.toMatch(/API key|X-API-Key/);
    });
  });
});

describe('?explain in Try it out', () => {
  it.each([
    ['by default', {}],
    ['with STRICT_TYPES', { STRICT_TYPES: 'true' }],
  ])('%s, has no schema default for Swagger UI to fill in, and the server still reads it as false', async (_what, env: Record<string, string>) => {
    await withApp(env, async (app) => {
      const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
      for (const path of ['/predict', '/predict/batch']) {
        const [explain] = spec.paths[path].post.parameters;
        expect(explain).toMatchObject({ in: 'query', name: 'explain', required: false });
        expect(JSON.stringify(explain), path).not.toContain('"default"');
        expect(explain.description).toContain('Left out, it is false.');
      }
      const plain = await postJson(app, '/predict', VALID_CUSTOMER);
      expect(plain.statusCode).toBe(200);
      expect(plain.json()).not.toHaveProperty('explanation');
    });
  });
});

describe('the bare host and /redoc/', () => {
  it.each(['GET', 'HEAD'] as const)('%s / redirects to the docs', async (method) => {
    const response = await testApp.app.inject({ method, url: '/' });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe('/docs');
  });

  it('serves ReDoc at /redoc/ as at /redoc, as Swagger UI answers /docs/ as /docs', async () => {
    const [bare, slashed] = await Promise.all([get('/redoc'), get('/redoc/')]);
    expect(slashed.statusCode).toBe(200);
    expect(slashed.headers['content-type']).toBe(bare.headers['content-type']);
    expect(slashed.body).toBe(bare.body);
    expect((await get('/docs/')).statusCode).toBe(200);
  });
});
