import type { Redis } from 'ioredis';
import type { StoreHealth } from './store-health.js';

/** A count that takes longer than this is abandoned and the request served without it. */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000;
/** How long start-up (and each reconnection) waits for a TCP connection to Redis. */
export const REDIS_CONNECT_TIMEOUT_MS = 2_000;

/**
 * The ioredis client for @fastify/rate-limit's Redis store, set to fail fast rather than hold
 * requests: while it is disconnected a count fails at once (no offline queue, no retries of a
 * command), and one that Redis does not answer fails after REDIS_COMMAND_TIMEOUT_MS. It keeps
 * reconnecting in the background. Start-up waits for the first connection attempt only, so the
 * first requests are counted when Redis is there and the service still starts when it is not.
 */
export async function connectRedis(url: string, health: StoreHealth): Promise<Redis> {
  // Loaded only when Redis counts the limits: ioredis took about 40 ms of every start.
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
  });
  redis.on('error', (error: Error) => health.failed(error));
  redis.on('ready', () => health.answered());
  await redis.connect().catch((error: unknown) => health.failed(error));
  return redis;
}
