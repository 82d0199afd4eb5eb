import cluster from 'node:cluster';
import { createHash } from 'node:crypto';
import rateLimit, { normalizeIP, type RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { apiKeys, type Config } from '../config.js';
import { Credentials, presentedKey } from '../auth/credentials.js';
import { RateLimitedError } from '../errors.js';
import { PrimaryCountClient, primaryCountStore } from '../rate-limit/cluster-counts.js';
import { connectRedis } from '../rate-limit/redis-client.js';
import { StoreHealth } from '../rate-limit/store-health.js';

const WINDOW_MS = 60_000;

/** Marks the routes the limiter counts: every route declared after it that does not opt out. */
const COUNTED: unique symbol = Symbol('rate-limit.counted');

declare module 'fastify' {
  interface FastifyContextConfig {
    /** False exempts a route (the probes) from the rate limit. */
    rateLimited?: boolean;
    [COUNTED]?: true;
  }
}

type CountStore = Pick<RateLimitPluginOptions, 'redis' | 'nameSpace' | 'store'>;

/**
 * Where the counts live: Redis when RATE_LIMIT_REDIS_URL is set (one limit for every replica);
 * else the cluster primary in a worker (one limit for every worker); else this process.
 */
async function countStore(app: FastifyInstance, config: Config): Promise<{ options: CountStore; health?: StoreHealth }> {
  if (config.RATE_LIMIT_REDIS_URL !== undefined) {
    const health = new StoreHealth(app.log, 'Redis');
    const redis = await connectRedis(config.RATE_LIMIT_REDIS_URL, health);
    app.addHook('onClose', async () => redis.disconnect());
    return { options: { redis, nameSpace: config.RATE_LIMIT_REDIS_PREFIX }, health };
  }
  if (cluster.isWorker) {
    const client = new PrimaryCountClient(process);
    app.addHook('onClose', async () => client.close());
    return { options: { store: primaryCountStore(client) }, health: new StoreHealth(app.log, 'the cluster primary') };
  }
  return { options: {} };
}

/**
 * RATE_LIMIT_PER_MINUTE requests per minute for each API key, or for each client address (an
 * IPv6 client by its /64) when the caller has no valid key, counted once for the whole server
 * (see countStore). The limiter runs before the API-key check, so a flood of wrong or missing
 * keys is answered 429 once its address is over the limit instead of 401 for ever. Counted: every
 * route declared after this plugin except the probes; not counted: unknown URLs and CORS
 * preflights. When the shared count does not answer, requests are served unlimited (fail open):
 * the limit guards capacity, and an outage of Redis must not become an outage of predictions.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const limit = config.RATE_LIMIT_PER_MINUTE;
    if (limit === undefined) {
      if (config.RATE_LIMIT_REDIS_URL !== undefined) app.log.warn('RATE_LIMIT_REDIS_URL is set but RATE_LIMIT_PER_MINUTE is not: nothing is rate limited.');
      return;
    }
    const keys = new Credentials(apiKeys(config));
    // A key's bucket is named by a digest of the key, never the key itself, and the same on every
    // replica whatever order their API_KEYS lists it in (they differ during a rotation).
    const keyBuckets = apiKeys(config).map((key) => `key:${createHash('sha256').update(key).digest('base64url').slice(0, 22)}`);
    const { options: store, health } = await countStore(app, config);
    await app.register(rateLimit, {
      ...store,
      // Installed below as this plugin's own onRequest hook: the plugin's per-route hooks would run
      // after the API-key check (application hooks run before route hooks), and never see a 401.
      global: false,
      max: limit,
      timeWindow: WINDOW_MS,
      keyGenerator: (request) => {
        const key = keys.match(presentedKey(request.headers));
        return key >= 0 ? keyBuckets[key]! : `address:${normalizeIP(request.ip)}`;
      },
      errorResponseBuilder: (_request, context) => new RateLimitedError(context.max, Math.max(1, Math.ceil(context.ttl / 1000))),
    });
    const limitRequest = app.rateLimit();
    app.addHook('onRoute', (route) => {
      if (route.config?.rateLimited !== false) route.config = { ...route.config, [COUNTED]: true };
    });
    // app.ts registers this plugin before the access plugin, so this hook runs before the key check.
    app.addHook('onRequest', async function (request, reply) {
      if (!request.routeOptions.config[COUNTED]) return;
      try {
        await limitRequest.call(this, request, reply);
      } catch (error) {
        // Only a shared count can fail; a fault of this process's own is a fault like any other.
        if (error instanceof RateLimitedError || health === undefined) throw error;
        app.metrics.rateLimitUnchecked();
        health.failed(error);
        return;
      }
      health?.answered();
    });
  },
  { name: 'rate-limit', dependencies: ['error-handler', 'metrics'] },
);
