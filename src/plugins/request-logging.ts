import fp from 'fastify-plugin';

/** Returns the request id to the caller and writes one log line per finished request. */
export default fp(
  async (app) => {
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-request-id', request.id);
    });
    app.addHook('onResponse', async (request, reply) => {
      request.log.info(
        {
          method: request.method,
          path: request.routeOptions.url ?? request.url.split('?')[0],
          statusCode: reply.statusCode,
          latencyMs: Math.round(reply.elapsedTime * 100) / 100,
        },
        'request completed',
      );
    });
  },
  { name: 'request-logging' },
);
