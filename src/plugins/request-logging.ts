import fp from 'fastify-plugin';
import { cutEcho } from '../echo.js';

/** A path no route matched is the caller's own text: a log line keeps only its start. */
export const MAX_LOGGED_PATH_CHARS = 256;

const roundMs = (ms: number) => Math.round(ms * 100) / 100;

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
      const { stages } = request;
      request.log.info(
        {
          method: request.method,
          path: request.routeOptions.url ?? cutEcho(request.url.split('?')[0]!, MAX_LOGGED_PATH_CHARS),
          statusCode: reply.statusCode,
          latencyMs: roundMs(reply.elapsedTime),
          // Only requests that reached the model carry its stages: the run ids tie them to the debug 'model run' lines.
          ...(stages.runIds.length > 0
            ? { modelVersion: stages.modelVersion, runIds: stages.runIds, queueMs: roundMs(stages.queueMs!), modelMs: roundMs(stages.modelMs!) }
            : {}),
          ...(stages.explainMs === undefined ? {} : { explainMs: roundMs(stages.explainMs) }),
        },
        'request completed',
      );
      done();
    });
  },
  { name: 'request-logging', dependencies: ['request-stages'] },
);
