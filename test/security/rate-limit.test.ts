import { afterEach, describe, expect, it } from 'vitest';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-0123456789abcdef';
let testApp: TestApp | undefined;
afterEach(async () => testApp?.app.close());

describe('RATE_LIMIT_PER_MINUTE', () => {
  it('answers 429 with retry-after once a key has made its requests, and counts each key apart', async () => {
    testApp = await buildTestApp({ RATE_LIMIT_PER_MINUTE: '3', API_KEYS: `${KEY_A},${KEY_B}` });
    const asA = () => postJson(testApp!.app, '/predict', VALID_CUSTOMER, { authorization: `Bearer ${KEY_A}` });
    for (let call = 0; call < 3; call += 1) expect((await asA()).statusCode).toBe(200);
    const limited = await asA();
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.json()).toMatchObject({ statusCode: 429, error: 'Too Many Requests', message: expect.stringMatching(/^Rate limit of 3 requests per minute reached; retry in \d+ s\.$/) });
    // The same key as X-API-Key shares the bucket; another key has its own.
    expect((await postJson(testApp.app, '/predict', VALID_CUSTOMER, { 'x-api-key': KEY_A })).statusCode).toBe(429);
    expect((await postJson(testApp.app, '/predict', VALID_CUSTOMER, { 'x-api-key': KEY_B })).statusCode).toBe(200);
  });

  it('limits callers without a valid key by address, and never the health probes', async () => {
    testApp = await buildTestApp({ RATE_LIMIT_PER_MINUTE: '2' });
    const from = (remoteAddress: string) => testApp!.app.inject({ method: 'POST', url: '/predict', payload: VALID_CUSTOMER, remoteAddress });
    expect((await from('10.0.0.1')).statusCode).toBe(200);
    expect((await from('10.0.0.1')).statusCode).toBe(200);
    expect((await from('10.0.0.1')).statusCode).toBe(429);
    expect((await from('10.0.0.2')).statusCode).toBe(200);
    for (let call = 0; call < 5; call += 1) {
      for (const url of ['/health', '/health/live', '/health/ready']) {
        expect((await testApp.app.inject({ method: 'GET', url, remoteAddress: '10.0.0.1' })).statusCode, url).toBe(200);
      }
    }
  });

  it('counts wrong and missing keys per client address before the key check answers 401', async () => {
    testApp = await buildTestApp({ RATE_LIMIT_PER_MINUTE: '3', API_KEYS: KEY_A });
    const from = (remoteAddress: string, headers: Record<string, string> = {}) =>
      testApp!.app.inject({ method: 'POST', url: '/predict', payload: VALID_CUSTOMER, headers, remoteAddress });
    // Wrong and missing keys from one address share its bucket.
    expect((await from('10.0.0.1', { 'x-api-key': 'wrong-key-0123456789' })).statusCode).toBe(401);
    expect((await from('10.0.0.1', { authorization: 'Bearer another-wrong-key-0123' })).statusCode).toBe(401);
    expect((await from('10.0.0.1')).statusCode).toBe(401);
    const limited = await from('10.0.0.1', { 'x-api-key': 'yet-another-wrong-key-01' });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    // Another address has its own bucket, and a valid key is counted apart from its address.
    expect((await from('10.0.0.2')).statusCode).toBe(401);
    expect((await from('10.0.0.1', { 'x-api-key': KEY_A })).statusCode).toBe(200);
  });

  it('names the address by X-Forwarded-For only from a trusted proxy, and an IPv6 client by its /64', async () => {
    testApp = await buildTestApp({ RATE_LIMIT_PER_MINUTE: '1', API_KEYS: KEY_A, TRUST_PROXY: '10.0.0.1' });
    const send = (remoteAddress: string, forwardedFor?: string) =>
      testApp!.app.inject({ method: 'POST', url: '/predict', payload: VALID_CUSTOMER, remoteAddress, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });
    expect((await send('10.0.0.1', '203.0.113.7')).statusCode).toBe(401);
    expect((await send('10.0.0.1', '203.0.113.7')).statusCode).toBe(429);
    // The proxy's other clients are not in that bucket...
    expect((await send('10.0.0.1', '203.0.113.8')).statusCode).toBe(401);
    // ...and an untrusted sender cannot pick a bucket: it is counted by its own address.
    expect((await send('10.0.0.9', '203.0.113.9')).statusCode).toBe(401);
    expect((await send('10.0.0.9', '203.0.113.10')).statusCode).toBe(429);
    // Addresses in one IPv6 /64 belong to one client.
    expect((await send('2001:db8:1:2::1')).statusCode).toBe(401);
    expect((await send('2001:db8:1:2:ffff::9')).statusCode).toBe(429);
    expect((await send('2001:db8:1:3::1')).statusCode).toBe(401);
  });

  it('never counts unknown URLs or CORS preflights', async () => {
    testApp = await buildTestApp({ RATE_LIMIT_PER_MINUTE: '1', API_KEYS: KEY_A });
    for (let call = 0; call < 3; call += 1) {
      expect((await testApp.app.inject({ method: 'GET', url: '/no/such/route', remoteAddress: '10.0.0.1' })).statusCode).toBe(404);
      const preflight = await testApp.app.inject({ method: 'OPTIONS', url: '/predict', remoteAddress: '10.0.0.1', headers: { origin: 'https://crm.example', 'access-control-request-method': 'POST' } });
      expect(preflight.statusCode).toBe(204);
    }
    expect((await testApp.app.inject({ method: 'POST', url: '/predict', payload: VALID_CUSTOMER, remoteAddress: '10.0.0.1' })).statusCode).toBe(401);
  });

  it('is off when unset', async () => {
    testApp = await buildTestApp();
    for (let call = 0; call < 20; call += 1) expect((await postJson(testApp.app, '/predict', VALID_CUSTOMER)).statusCode).toBe(200);
    expect((await postJson(testApp.app, '/predict', VALID_CUSTOMER)).headers).not.toHaveProperty('x-ratelimit-limit');
  });
});
