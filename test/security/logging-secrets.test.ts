import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildTestApp, postJson, VALID_CUSTOMER } from '../helpers.js';

const KEY = 'secret-api-key-do-not-log-0001';
const TOKEN = 'secret-admin-token-do-not-log-02';
const COOKIE = 'session=secret-cookie-do-not-log-03';
const REDIS_PASSWORD = 'secret-redis-password-do-not-log-05';
const SECRETS = [KEY, TOKEN, 'secret-cookie-do-not-log-03', 'wrong-secret-key-do-not-log-04', REDIS_PASSWORD];

afterEach(() => vi.restoreAllMocks());

describe('what is never logged', () => {
  it.each(['info', 'trace'])('keys, tokens, authorization headers and cookies, at LOG_LEVEL=%s', async (level) => {
    const { app, logs, predict } = await buildTestApp({ LOG_LEVEL: level, API_KEYS: KEY, ADMIN_TOKEN: TOKEN });
    try {
      await postJson(app, '/predict', VALID_CUSTOMER, { authorization: `Bearer ${KEY}`, cookie: COOKIE });
      await postJson(app, '/predict', VALID_CUSTOMER, { 'x-api-key': 'wrong-secret-key-do-not-log-04' });
      await postJson(app, '/predict', { tenure_months: 'bad' }, { 'x-api-key': KEY });
      await app.inject({ method: 'POST', url: '/admin/reload', headers: { authorization: `Bearer ${TOKEN}` } });
      // A server fault logs the error and its cause.
      predict.mockRejectedValueOnce(new Error('boom'));
      expect((await postJson(app, '/predict/batch', { customers: [VALID_CUSTOMER] }, { authorization: `Bearer ${KEY}` })).statusCode).toBe(500);
      // Anything that logs a request or headers object has them censored.
      app.log.info({ req: { headers: { authorization: `Bearer ${KEY}`, 'x-api-key': KEY, cookie: COOKIE } } }, 'a request');
      app.log.info({ headers: { authorization: `Bearer ${TOKEN}` }, config: { API_KEYS: KEY, ADMIN_TOKEN: TOKEN, RATE_LIMIT_REDIS_URL: `redis://:${REDIS_PASSWORD}@redis:6379`, DATABASE_URL: `postgres://churn:${REDIS_PASSWORD}@db:5432/churn` } }, 'settings');
      const text = JSON.stringify(logs);
      expect(logs.length).toBeGreaterThan(5);
      for (const secret of SECRETS) expect(text).not.toContain(secret);
      expect(logs.find((line) => line.msg === 'settings')).toMatchObject({
        headers: { authorization: '[redacted]' },
        config: { API_KEYS: '[redacted]', ADMIN_TOKEN: '[redacted]', RATE_LIMIT_REDIS_URL: '[redacted]', DATABASE_URL: '[redacted]' },
      });
      expect(logs.some((line) => line.level === 50 && JSON.stringify(line).includes('boom'))).toBe(true);
    } finally {
      await app.close();
    }
  });
});
