import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LOGGED_PATH_CHARS, MAX_REASON_CHARS } from '../../src/plugins/request-logging.js';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp();
});
afterAll(async () => testApp.app.close());

/** The 'request completed' line of the request `send` makes, with the id `id`. */
async function requestLine(send: () => Promise<unknown>, id: string): Promise<Record<string, unknown>> {
  await send();
  const lines = testApp.logs.filter((line) => line.reqId === id && line.msg === 'request completed');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

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

  it('writes exactly one JSON line per finished request with method, route, path, client, status, latency, pid and id', async () => {
    const before = testApp.logs.length;
    await postJson(testApp.app, '/predict', VALID_CUSTOMER, { 'x-request-id': 'log-test-1' });
    const lines = testApp.logs.slice(before).filter((line) => line.reqId === 'log-test-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'request completed', method: 'POST', route: '/predict', path: '/predict', clientIp: '127.0.0.1', statusCode: 200, reqId: 'log-test-1', pid: process.pid });
    expect(typeof lines[0]!.latencyMs).toBe('number');
    expect(lines[0]).not.toHaveProperty('reason');
  });

  it('names the route pattern and the path asked for, without its query', async () => {
    const line = await requestLine(() => testApp.app.inject({ method: 'GET', url: '/v2/models/churn/versions/9.9.9?secret=1', headers: { 'x-request-id': 'log-route' } }), 'log-route');
    expect(line).toMatchObject({ statusCode: 404, route: '/v2/models/:model_name/versions/:model_version', path: '/v2/models/churn/versions/9.9.9' });
  });

  it('logs the start of a long unknown path, not all of it, under the route "unmatched"', async () => {
    const before = testApp.logs.length;
    await testApp.app.inject({ method: 'GET', url: `/${'p'.repeat(32 * 1024)}?q=1`, headers: { 'x-request-id': 'log-test-2' } });
    const [line] = testApp.logs.slice(before).filter((entry) => entry.reqId === 'log-test-2' && entry.msg === 'request completed');
    expect(line).toMatchObject({ method: 'GET', statusCode: 404, route: 'unmatched', reason: 'no such route', path: `/${'p'.repeat(MAX_LOGGED_PATH_CHARS - 1)}…` });
  });

  it('gives a 422 the first problems as its reason at info, never the values sent', async () => {
    const secret = 'S3CRET-VALUE-'.repeat(40);
    const line = await requestLine(
      () => postJson(testApp.app, '/predict', { ...VALID_CUSTOMER, tenure_months: 999, contract_type: secret, monthly_charges: 'x', total_charges: -1 }, { 'x-request-id': 'log-422' }),
      'log-422',
    );
    expect(line).toMatchObject({ level: 30, statusCode: 422, reason: expect.stringMatching(/^body\.tenure_months: Input should be less than or equal to 120; body\.\w+: .* \(and \d+ more\)$/) });
    expect(String(line.reason)).not.toContain('S3CRET');
    expect(String(line.reason).length).toBeLessThanOrEqual(MAX_REASON_CHARS + 1);
  });

  it('gives a 405 its reason', async () => {
    const line = await requestLine(() => testApp.app.inject({ method: 'DELETE', url: '/predict', headers: { 'x-request-id': 'log-405' } }), 'log-405');
    expect(line).toMatchObject({ level: 30, statusCode: 405, route: 'unmatched', reason: 'method not allowed; allowed: POST' });
  });

  it('logs a 5xx at error level with its cause; a probe\'s 503 stays at info', async () => {
    testApp.predict.mockRejectedValueOnce(new Error('tensor shape mismatch'));
    const failed = await requestLine(() => postJson(testApp.app, '/predict', VALID_CUSTOMER, { 'x-request-id': 'log-500' }), 'log-500');
    expect(failed).toMatchObject({ level: 50, statusCode: 500, reason: 'Inference failed: tensor shape mismatch' });
    const draining = await buildTestApp();
    try {
      draining.app.lifecycle.startDraining();
      expect((await draining.app.inject({ method: 'GET', url: '/health/ready', headers: { 'x-request-id': 'log-probe' } })).statusCode).toBe(503);
      expect(draining.logs.find((line) => line.reqId === 'log-probe')).toMatchObject({ level: 30, statusCode: 503, reason: 'not ready' });
    } finally {
      await draining.app.close();
    }
  });
});

describe('the reason of a refused request names what was wrong, never the credential sent', () => {
  const API_KEY = 'api-key-0123456789abcdef';
  const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
  let secured: TestApp;
  beforeAll(async () => {
    secured = await buildTestApp({ API_KEYS: API_KEY, ADMIN_TOKEN, RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: 'loopback' });
  });
  afterAll(async () => secured.app.close());
  const lineOf = (id: string) => secured.logs.find((line) => line.reqId === id && line.msg === 'request completed')!;

  it.each([
    ['no API key', '/predict', {}],
    ['wrong API key', '/predict', { 'x-api-key': 'guess-0123456789abcdef' }],
    ['wrong API key', '/predict', { authorization: 'Bearer guess-0123456789abcdef' }],
    ['no admin token', '/admin/reload', {}],
    ['wrong admin token', '/admin/reload', { authorization: 'Bearer guess-0123456789abcdef' }],
  ])('401 %s (%s)', async (reason, url, headers) => {
    const id = `auth-${Math.random().toString(36).slice(2)}`;
    // Each from an address of its own (through the trusted proxy), so the rate limit never answers first.
    const response = await postJson(secured.app, url, VALID_CUSTOMER, { ...headers, 'x-request-id': id, 'x-forwarded-for': `198.51.100.${Math.floor(Math.random() * 250)}` });
    expect(response.statusCode).toBe(401);
    expect(lineOf(id)).toMatchObject({ level: 30, statusCode: 401, reason });
    expect(JSON.stringify(lineOf(id))).not.toContain('guess-0123456789abcdef');
  });

  it('names the client address X-Forwarded-For gives through a trusted proxy, and a 429 "rate limited"', async () => {
    const headers = { 'x-api-key': API_KEY, 'x-forwarded-for': '203.0.113.7' };
    for (let index = 0; index < 3; index += 1) expect((await postJson(secured.app, '/predict', VALID_CUSTOMER, headers)).statusCode).toBe(200);
    const refused = await postJson(secured.app, '/predict', VALID_CUSTOMER, { ...headers, 'x-request-id': 'limited' });
    expect(refused.statusCode).toBe(429);
    expect(lineOf('limited')).toMatchObject({ level: 30, statusCode: 429, clientIp: '203.0.113.7', reason: 'rate limited: over 3 requests per minute' });
    expect(JSON.stringify(secured.logs)).not.toContain(API_KEY);
  });

  it('names the connection\'s own address when no proxy is trusted', async () => {
    const line = await requestLine(() => testApp.app.inject({ method: 'GET', url: '/health', headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'no-proxy' } }), 'no-proxy');
    expect(line.clientIp).toBe('127.0.0.1');
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
