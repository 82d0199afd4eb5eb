import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import { apiKeys, type Config } from '../config.js';
import { Credentials, presentedKey } from '../auth/credentials.js';
import { RateLimitedError } from '../errors.js';

/** Marks the routes the limiter counts: every route declared after it that does not opt out. */
const COUNTED: unique symbol = Symbol('rate-limit.counted');

declare module 'fastify' {
  interface FastifyContextConfig {
    /** False exempts a route (the probes) from the rate limit. */
    rateLimited?: boolean;
    [COUNTED]?: true;
  }
}

/**
 * RATE_LIMIT_PER_MINUTE requests per minute for each API key, or for each client address (an
 * IPv6 client by its /64) when the caller has no valid key. The limiter runs before the API-key
 * check, so a flood of wrong or missing keys is answered 429 once its address is over the limit
 * instead of 401 for ever. Counted: every route declared after this plugin except the probes; not
 * counted: unknown URLs and CORS preflights. Counts are kept in each process: with WORKERS > 1
 * or several replicas, a client whose requests spread over N processes may make up to N times
 * the limit.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const limit = config.RATE_LIMIT_PER_MINUTE;
    if (limit === undefined) return;
    const keys = new Credentials(apiKeys(config));
    await app.register(rateLimit, {
      // Installed below as this plugin's own onRequest hook: the plugin's per-route hooks would run
      // after the API-key check (application hooks run before route hooks), and never see a 401.
      global: false,
      max: limit,
      timeWindow: 60_000,
      keyGenerator: (request) => {
        // A key's bucket is named by its position in API_KEYS: the key itself never sits in the store.
        const key = keys.match(presentedKey(request.headers));
        return key >= 0 ? `key:${key}` : `address:${normalizeIP(request.ip)}`;
      },
      errorResponseBuilder: (_request, context) => new RateLimitedError(context.max, Math.max(1, Math.ceil(context.ttl / 1000))),
    });
    const limitRequest = app.rateLimit();
    app.addHook('onRoute', (route) => {
      if (route.config?.rateLimited !== false) route.config = { ...route.config, [COUNTED]: true };
    });
    // app.ts registers this plugin before the access plugin, so this hook runs before the key check.
    app.addHook('onRequest', async function (request, reply) {
      if (request.routeOptions.config[COUNTED]) await limitRequest.call(this, request, reply);
    });
  },
  { name: 'rate-limit', dependencies: ['error-handler'] },
);
