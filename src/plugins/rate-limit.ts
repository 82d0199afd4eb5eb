import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import { apiKeys, type Config } from '../config.js';
import { Credentials, presentedKey } from '../auth/credentials.js';
import { RateLimitedError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** False exempts a route (the probes) from the rate limit. */
    rateLimited?: boolean;
  }
}

/**
 * RATE_LIMIT_PER_MINUTE requests per minute for each API key, or for each client address when
 * the caller has no valid key (so a flood of bad keys is limited too). The probes are exempt.
 * Counts are kept in each process: with WORKERS > 1 or several replicas, a client whose requests
 * spread over N processes may make up to N times the limit.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const limit = config.RATE_LIMIT_PER_MINUTE;
    if (limit === undefined) return;
    const keys = new Credentials(apiKeys(config));
    await app.register(rateLimit, {
      max: limit,
      timeWindow: 60_000,
      // The health probes must keep answering whatever a client does.
      allowList: (request) => request.routeOptions.config.rateLimited === false,
      keyGenerator: (request) => {
        // A key's bucket is named by its position in API_KEYS: the key itself never sits in the store.
        const key = keys.match(presentedKey(request.headers));
        return key >= 0 ? `key:${key}` : `address:${request.ip}`;
      },
      errorResponseBuilder: (_request, context) => new RateLimitedError(context.max, Math.max(1, Math.ceil(context.ttl / 1000))),
    });
  },
  { name: 'rate-limit', dependencies: ['error-handler'] },
);
