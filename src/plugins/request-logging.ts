import fp from 'fastify-plugin';

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
          path: request.routeOptions.url ?? request.url.split('?')[0],
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
