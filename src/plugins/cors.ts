import cors from '@fastify/cors';
import fp from 'fastify-plugin';
import { answerNoRoute } from '../error-handling.js';

/**
 * CORS for browsers on other origins. @fastify/cors answers every OPTIONS request: preflights with
 * 204, and any other OPTIONS with a plain-text 400 of its own (strictPreflight). This service
 * answers that other OPTIONS first, as it answers any method no route takes (405 with Allow, or 404)
 * in the JSON shape of the path's scope, as FastAPI's CORS middleware passes it to the app.
 */
/** Response headers a browser page may read: @fastify/rate-limit's, and the request id. */
const EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'];

export interface CorsOptions {
  origin: string | string[];
  /** Seconds a browser may reuse a preflight's answer; 0 sends no Access-Control-Max-Age. */
  maxAge: number;
}

export default fp<CorsOptions>(
  async (app, { origin, maxAge }) => {
    app.addHook('onRequest', (request, reply, done) => {
      // @fastify/cors's own test for a preflight (strictPreflight): both headers present.
      if (request.method === 'OPTIONS' && !(request.headers.origin && request.headers['access-control-request-method'])) {
        answerNoRoute(request, reply);
        return;
      }
      done();
    });
    // A dashboard reads the request id, and when to retry after a 429 or 503.
    await app.register(cors, { origin, exposedHeaders: EXPOSED_HEADERS, ...(maxAge > 0 ? { maxAge } : {}) });
  },
  { name: 'cors', dependencies: ['route-registry', 'error-handler'] },
);
