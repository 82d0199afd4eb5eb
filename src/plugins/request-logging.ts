import fp from 'fastify-plugin';
import { cutEcho } from '../echo.js';

/** A path no route matched is the caller's own text: a log line keeps only its start. */
export const MAX_LOGGED_PATH_CHARS = 256;

/**
 * Returns the request id to the caller and writes one log line per finished request. The hooks
 * are synchronous on purpose: an async hook costs a promise per request on the hot path.
 */
export default fp(
  async (app) => {
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id);
      done();
    });
    app.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        {
          method: request.method,
          path: request.routeOptions.url ?? cutEcho(request.url.split('?')[0]!, MAX_LOGGED_PATH_CHARS),
          statusCode: reply.statusCode,
          latencyMs: Math.round(reply.elapsedTime * 100) / 100,
        },
        'request completed',
      );
      done();
    });
  },
  { name: 'request-logging' },
);
