import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LOGGED_PATH_CHARS } from '../../src/plugins/request-logging.js';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp();
});
afterAll(async () => testApp.app.close());

describe('request ids and logs', () => {
  it('honours an incoming x-request-id and returns it', async () => {
    const response = await postJson(testApp.app, '/predict', VALID_CUSTOMER, { 'x-request-id': 'crm-call-7' });
    expect(response.headers['x-request-id']).toBe('crm-call-7');
  });

  it('generates an id when none (or a malformed one) is sent', async () => {
    const plain = await postJson(testApp.app, '/predict', VALID_CUSTOMER);
    expect(plain.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const forged = await postJson(testApp.app, '/predict', VALID_CUSTOMER, { 'x-request-id': 'bad id\nlevel=fatal' });
    expect(forged.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes exactly one JSON line per finished request with method, path, status, latency and id', async () => {
    const before = testApp.logs.length;
    await postJson(testApp.app, '/predict', { tenure_months: 999 }, { 'x-request-id': 'log-test-1' });
    const lines = testApp.logs.slice(before).filter((line) => line.reqId === 'log-test-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: 'POST', path: '/predict', statusCode: 422, reqId: 'log-test-1' });
    expect(typeof lines[0]!.latencyMs).toBe('number');
  });

  it('logs the start of a long unknown path, not all of it', async () => {
    const before = testApp.logs.length;
    await testApp.app.inject({ method: 'GET', url: `/${'p'.repeat(32 * 1024)}?q=1`, headers: { 'x-request-id': 'log-test-2' } });
    const [line] = testApp.logs.slice(before).filter((entry) => entry.reqId === 'log-test-2' && entry.msg === 'request completed');
    expect(line).toMatchObject({ method: 'GET', statusCode: 404, path: `/${'p'.repeat(MAX_LOGGED_PATH_CHARS - 1)}…` });
  });
});

describe('CORS', () => {
  it('allows any origin by default', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://dashboard.example' } });
    expect(response.headers['access-control-allow-origin']).toBe('*');
  });

  it('lets a page read the request id and the retry and rate-limit headers, and reuse a preflight for CORS_MAX_AGE_SECONDS', async () => {
    const limited = await buildTestApp({ RATE_LIMIT_PER_MINUTE: '1' });
    try {
      const origin = { origin: 'https://dashboard.example' };
      const first = await postJson(limited.app, '/predict', VALID_CUSTOMER, origin);
      expect(first.headers['access-control-expose-headers']).toBe('x-request-id, retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset');
      expect(first.headers['x-ratelimit-limit']).toBe('1');
      const refused = await postJson(limited.app, '/predict', VALID_CUSTOMER, origin);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['access-control-expose-headers']).toContain('retry-after');
      const preflight = await limited.app.inject({
        method: 'OPTIONS',
        url: '/predict',
        headers: { ...origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' },
      });
      expect([preflight.statusCode, preflight.headers['access-control-max-age']]).toEqual([204, '600']);
    } finally {
      await limited.app.close();
    }
    const noCache = await buildTestApp({ CORS_MAX_AGE_SECONDS: '0' });
    try {
      const preflight = await noCache.app.inject({ method: 'OPTIONS', url: '/predict', headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' } });
      expect(preflight.headers['access-control-max-age']).toBeUndefined();
    } finally {
      await noCache.app.close();
    }
  });

  it('answers a preflight with 204 and the CORS headers', async () => {
    const response = await testApp.app.inject({
      method: 'OPTIONS',
      url: '/predict',
      headers: { origin: 'https://dashboard.example', 'access-control-request-method': 'POST' },
    });
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers['access-control-allow-methods']).toBeDefined();
  });

  it.each([
    ['no CORS headers', {}],
    ['an Origin alone', { origin: 'https://dashboard.example' }],
    ['a requested method alone', { 'access-control-request-method': 'GET' }],
  ])('answers an OPTIONS request that is no preflight (%s) like any method no route takes, as JSON', async (_case, headers) => {
    const health = await testApp.app.inject({ method: 'OPTIONS', url: '/health', headers });
    const notAllowed = 'Method OPTIONS is not allowed on /health; use GET';
    expect([health.statusCode, health.headers.allow, health.json()]).toEqual([
      405,
      'GET',
      { statusCode: 405, error: 'Method Not Allowed', message: notAllowed, detail: notAllowed },
    ]);
    const live = await testApp.app.inject({ method: 'OPTIONS', url: '/v2/health/live', headers });
    expect([live.statusCode, live.headers.allow, live.json()]).toEqual([405, 'GET', { error: 'Method OPTIONS is not allowed on /v2/health/live; use GET.' }]);
    const unknown = await testApp.app.inject({ method: 'OPTIONS', url: '/nowhere', headers });
    expect([unknown.statusCode, unknown.json()]).toMatchObject([404, { statusCode: 404, message: 'Route OPTIONS /nowhere not found' }]);
  });

  it('allows only the configured origins', async () => {
    const restricted = await buildTestApp({ CORS_ORIGINS: 'https://dashboard.example' });
    try {
      const allowed = await restricted.app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://dashboard.example' } });
      expect(allowed.headers['access-control-allow-origin']).toBe('https://dashboard.example');
      const denied = await restricted.app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example' } });
      expect(denied.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await restricted.app.close();
    }
  });
});
