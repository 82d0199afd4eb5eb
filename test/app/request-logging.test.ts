import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
