import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { freePort } from '../e2e/server-process.js';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';
import { sampleValue } from '../prometheus-text.js';

/** The Redis this machine runs (.ci/run starts one when nothing listens there). */
const REDIS_URL = 'redis://127.0.0.1:6379';
const KEY = 'key-redis-0123456789abcdef';

let redis: Redis;
let prefix: string;
const apps: TestApp[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await redis.quit();
});
// Each test counts under its own prefix, so tests never share a count and clean up only theirs.
beforeEach(() => {
  prefix = `churn-test:${randomUUID()}:`;
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map(({ app }) => app.close()));
  for (const child of children.splice(0)) {
    child.kill();
    await once(child, 'exit');
  }
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
});

async function replica(env: Record<string, string>): Promise<TestApp> {
  const testApp = await buildTestApp({ RATE_LIMIT_REDIS_PREFIX: prefix, ...env });
  apps.push(testApp);
  return testApp;
}

/** The scrape is a counted request too, from a scraper's address of its own. */
const unchecked = async ({ app }: TestApp) =>
  sampleValue((await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.9.9.9' })).body, 'churn_rate_limit_unchecked_total');

describe('RATE_LIMIT_REDIS_URL', () => {
  it('shares one limit between replicas, with buckets named by a digest of the key', async () => {
    const env = { RATE_LIMIT_PER_MINUTE: '3', API_KEYS: KEY, RATE_LIMIT_REDIS_URL: REDIS_URL };
    const [first, second] = [await replica(env), await replica(env)];
    const asKey = (target: TestApp) => postJson(target.app, '/predict', VALID_CUSTOMER, { 'x-api-key': KEY });
    const statuses = [];
    for (const target of [first, second, first, second, first]) statuses.push((await asKey(target)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    // Wrong keys are counted per address in Redis too.
    const wrong = (target: TestApp) => target.app.inject({ method: 'POST', url: '/predict', payload: VALID_CUSTOMER, remoteAddress: '10.0.0.7' });
    expect([(await wrong(first)).statusCode, (await wrong(second)).statusCode, (await wrong(first)).statusCode, (await wrong(second)).statusCode]).toEqual([401, 401, 401, 429]);
    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toHaveLength(2);
    expect(keys).toContain(`${prefix}address:10.0.0.7`);
    expect(keys.find((key) => key !== `${prefix}address:10.0.0.7`)).toMatch(new RegExp(`^${prefix}key:[\\w-]{22}$`));
    expect(keys.join()).not.toContain(KEY);
    for (const key of keys) expect(await redis.pttl(key)).toBeGreaterThan(0);
    expect(await unchecked(first)).toBe(0);
  });

  it('fails open when Redis is unreachable: serves, counts the unchecked requests, warns once, and limits again once Redis answers', async () => {
    const port = await freePort();
    const testApp = await replica({ RATE_LIMIT_PER_MINUTE: '2', RATE_LIMIT_REDIS_URL: `redis://127.0.0.1:${port}` });
    const send = () => postJson(testApp.app, '/predict', VALID_CUSTOMER);
    for (let call = 0; call < 4; call += 1) expect((await send()).statusCode).toBe(200);
    // The four, and the scrape that reads the counter.
    expect(await unchecked(testApp)).toBe(5);
    const warnings = testApp.logs.filter((line) => line.msg === 'rate limit: Redis does not answer; requests are served without a limit until it does');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, err: { message: expect.stringContaining('ECONNREFUSED') } });

    // Redis comes up on that port: the client reconnects on its own and the limit holds again.
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    children.push(server);
    const recovered = () => testApp.logs.some((line) => line.msg === 'rate limit: Redis answers again; requests are limited again');
    for (let waited = 0; !recovered() && waited < 15_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(recovered()).toBe(true);
    expect([(await send()).statusCode, (await send()).statusCode, (await send()).statusCode]).toEqual([200, 200, 429]);
    // Nothing went unchecked since, this scrape included.
    expect(await unchecked(testApp)).toBe(5);
  });

  it('takes a redis:// or rediss:// URL and never echoes it, and has a default key prefix', () => {
    expect(loadConfig({ RATE_LIMIT_REDIS_URL: 'rediss://:password@redis.internal:6380/2' }).RATE_LIMIT_REDIS_URL).toBe('rediss://:password@redis.internal:6380/2');
    expect(loadConfig({}).RATE_LIMIT_REDIS_PREFIX).toBe('churn-service:rate-limit:');
    expect(() => loadConfig({ RATE_LIMIT_REDIS_URL: 'http://:password@redis:6379' })).toThrowError(
      new ConfigError('Invalid environment: RATE_LIMIT_REDIS_URL must be a redis:// or rediss:// URL, got a value of 27 characters.'),
    );
  });

  it('warns that a Redis URL without RATE_LIMIT_PER_MINUTE limits nothing', async () => {
    const testApp = await replica({ RATE_LIMIT_REDIS_URL: REDIS_URL });
    expect(testApp.logs.some((line) => line.level === 40 && line.msg === 'RATE_LIMIT_REDIS_URL is set but RATE_LIMIT_PER_MINUTE is not: nothing is rate limited.')).toBe(true);
    for (let call = 0; call < 3; call += 1) expect((await postJson(testApp.app, '/predict', VALID_CUSTOMER)).statusCode).toBe(200);
  });
});
