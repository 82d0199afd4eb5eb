import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

const KEY_OLD = 'old-key-0123456789abcdef';
const KEY_NEW = 'new-key-0123456789abcdef';
const ADMIN = 'admin-token-0123456789';

describe('API keys', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await buildTestApp({ API_KEYS: `${KEY_OLD}, ${KEY_NEW}`, ADMIN_TOKEN: ADMIN });
  });
  afterAll(async () => testApp.app.close());

  it.each([
    ['no credentials', {}],
    ['a wrong bearer key', { authorization: 'Bearer wrong-key-0123456789abc' }],
    ['a wrong X-API-Key', { 'x-api-key': 'wrong-key-0123456789abc' }],
    ['a key with a different case', { authorization: `Bearer ${KEY_NEW.toUpperCase()}` }],
    ['the key as Basic credentials', { authorization: `Basic ${KEY_NEW}` }],
    ['the admin token', { authorization: `Bearer ${ADMIN}` }],
  ])('refuses %s on the prediction routes with 401', async (_what, headers) => {
    for (const [url, body] of [['/predict', VALID_CUSTOMER], ['/predict/batch', { customers: [VALID_CUSTOMER] }]] as const) {
      const response = await postJson(testApp.app, url, body, headers as Record<string, string>);
      expect(response.statusCode, url).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="churn-service"');
      expect(response.json()).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'A valid API key is required: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>".',
        detail: 'A valid API key is required: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>".',
      });
    }
  });

  it.each([
    ['the new key as a bearer token', { authorization: `Bearer ${KEY_NEW}` }],
    ['the old key as a bearer token (rotation)', { authorization: `bearer ${KEY_OLD}` }],
    ['the new key as X-API-Key', { 'x-api-key': KEY_NEW }],
    ['the old key as X-API-Key', { 'x-api-key': ` ${KEY_OLD} ` }],
  ])('accepts %s', async (_what, headers) => {
    expect((await postJson(testApp.app, '/predict', VALID_CUSTOMER, headers as Record<string, string>)).statusCode).toBe(200);
    expect((await postJson(testApp.app, '/predict/batch', { customers: [VALID_CUSTOMER] }, headers as Record<string, string>)).statusCode).toBe(200);
  });

  it('checks the key before the body: a bad body without a key is a 401, not a 422', async () => {
    expect((await postJson(testApp.app, '/predict', { tenure_months: 'x' })).statusCode).toBe(401);
  });

  it.each(['/health', '/health/live', '/health/ready', '/metrics', '/docs', '/openapi.json', '/redoc'])('leaves %s open without PROTECT_OPS', async (url) => {
    const response = await testApp.app.inject({ method: 'GET', url });
    expect(response.statusCode).toBeLessThan(400);
  });

  it.each(['/model', '/monitoring/drift', '/v2', '/v2/models/churn', '/v2/models/churn/versions/1.2.0'])(
    'needs a key for %s: the model card, drift shares and protocol metadata are not for anyone',
    async (url) => {
      const refused = await testApp.app.inject({ method: 'GET', url });
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="churn-service"');
      expect((await testApp.app.inject({ method: 'GET', url, headers: { 'x-api-key': KEY_NEW } })).statusCode).toBe(200);
    },
  );

  it('refuses every documented route without a key, but the probes and /metrics: a new route is closed until it says otherwise', async () => {
    const spec = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const open = ['/health', '/health/live', '/health/ready', '/v2/health/live', '/v2/health/ready', '/v2/models/{model_name}/ready', '/v2/models/{model_name}/versions/{model_version}/ready', '/metrics'];
    const answers = await Promise.all(
      Object.entries(spec.paths).flatMap(([path, operations]) =>
        Object.keys(operations).map(async (method) => {
          const url = path.replace('{model_name}', 'churn').replace('{model_version}', '1.2.0');
          const response = await testApp.app.inject({ method: method.toUpperCase() as 'GET', url, ...(method === 'post' ? { payload: '{}', headers: { 'content-type': 'application/json' } } : {}) });
          return [`${method} ${path}`, response.statusCode === 401 ? 'refused' : 'open'] as const;
        }),
      ),
    );
    expect(answers.length).toBeGreaterThan(open.length + 5);
    expect(Object.fromEntries(answers)).toEqual(Object.fromEntries(answers.map(([operation]) => [operation, open.includes(operation.split(' ')[1]!) ? 'open' : 'refused'])));
  });

  it('answers a CORS preflight without a key: browsers never send one with it', async () => {
    const preflight = await testApp.app.inject({
      method: 'OPTIONS',
      url: '/predict',
      headers: { origin: 'https://dashboard.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key, content-type' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
  });

  it('keeps /admin behind ADMIN_TOKEN, not API keys', async () => {
    const withKey = await testApp.app.inject({ method: 'POST', url: '/admin/reload', headers: { authorization: `Bearer ${KEY_NEW}` } });
    expect(withKey.statusCode).toBe(401);
    expect(withKey.headers['www-authenticate']).toBe('Bearer realm="admin"');
  });

  it('answers unknown routes with 404 whoever asks', async () => {
    expect((await testApp.app.inject({ method: 'GET', url: '/nope' })).statusCode).toBe(404);
  });

  it('declares the schemes in the OpenAPI document, on the routes that need them', async () => {
    const spec = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.components.securitySchemes).toMatchObject({
      apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      apiKeyBearer: { type: 'http', scheme: 'bearer' },
      adminToken: { type: 'http', scheme: 'bearer' },
    });
    const security = [{ apiKeyHeader: [] }, { apiKeyBearer: [] }];
    expect(spec.paths['/predict'].post.security).toEqual(security);
    expect(spec.paths['/predict/batch'].post.security).toEqual(security);
    expect(spec.paths['/admin/reload'].post.security).toEqual([{ adminToken: [] }]);
    for (const path of ['/model', '/monitoring/drift', '/v2', '/v2/models/{model_name}']) expect(spec.paths[path].get.security, path).toEqual(security);
    expect(spec.paths['/health/ready'].get.security).toBeUndefined();
    expect(spec.paths['/metrics'].get.security).toBeUndefined();
  });
});

describe('PROTECT_OPS=true', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await buildTestApp({ API_KEYS: KEY_NEW, PROTECT_OPS: 'true' });
  });
  afterAll(async () => testApp.app.close());

  it.each(['/metrics'])('protects %s too', async (url) => {
    expect((await testApp.app.inject({ method: 'GET', url })).statusCode).toBe(401);
    expect((await testApp.app.inject({ method: 'GET', url, headers: { 'x-api-key': KEY_NEW } })).statusCode).toBeLessThan(400);
  });

  it.each(['/health', '/health/live', '/health/ready', '/v2/health/live', '/v2/health/ready', '/v2/models/churn/ready', '/v2/models/churn/versions/1.2.0/ready'])(
    'leaves the probe %s open: orchestrators send no key',
    async (url) => {
      expect((await testApp.app.inject({ method: 'GET', url })).statusCode).toBe(200);
    },
  );

  it('answers the image\'s HEALTHCHECK, which sends no key', async () => {
    const healthcheck = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8').split('\n').find((line) => line.includes('fetch('));
    const path = /\/health[\w/-]*/.exec(healthcheck ?? '')?.[0];
    expect(path, 'the Dockerfile HEALTHCHECK fetches a /health route').toBeDefined();
    expect((await testApp.app.inject({ method: 'GET', url: path! })).statusCode).toBe(200);
  });

  it.each([
    '/docs',
    '/docs/static/index.html',
    '/docs/static/swagger-initializer.js',
    '/docs/static/swagger-ui-bundle.js',
    '/docs/static/swagger-ui.css',
    '/docs/json',
    '/openapi.json',
    '/redoc',
    '/redoc/redoc.standalone.js',
    '/favicon.ico',
    '/redoc/',
    '/',
  ])('lets a browser load the docs without a key: %s', async (url) => {
    expect((await testApp.app.inject({ method: 'GET', url })).statusCode).toBeLessThan(400);
  });

  it('declares the key on /metrics in the OpenAPI document, and none on the probes', async () => {
    const spec = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.paths['/metrics'].get.security).toEqual([{ apiKeyHeader: [] }, { apiKeyBearer: [] }]);
    expect(spec.paths['/health/ready'].get.security).toBeUndefined();
    expect(spec.paths['/v2/models/{model_name}/ready'].get.security).toBeUndefined();
  });
});

describe('without API_KEYS', () => {
  it('serves predictions to anyone, and warns at start when bound beyond loopback', async () => {
    const open = await buildTestApp({ HOST: '0.0.0.0' });
    const local = await buildTestApp({ HOST: '127.0.0.1' });
    try {
      expect((await postJson(open.app, '/predict', VALID_CUSTOMER)).statusCode).toBe(200);
      const warning = 'API_KEYS is not set: anyone who can reach 0.0.0.0:8000 gets predictions.';
      expect(open.logs.filter((line) => line.msg === warning && line.level === 40)).toHaveLength(1);
      expect(local.logs.some((line) => String(line.msg).startsWith('API_KEYS is not set'))).toBe(false);
      const spec = (await open.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      expect(spec.paths['/predict'].post.security).toBeUndefined();
    } finally {
      await Promise.all([open.app.close(), local.app.close()]);
    }
  });
});
