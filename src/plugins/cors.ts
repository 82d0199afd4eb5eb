import cors from '@fastify/cors';
import fp from 'fastify-plugin';
import { answerNoRoute } from '../error-handling.js';

/**
 * CORS for browsers on other origins. @fastify/cors answers every OPTIONS request: preflights with
 * 204, and any other OPTIONS with a plain-text 400 of its own (strictPreflight). This service
 * answers that other OPTIONS first, as it answers any method no route takes (405 with Allow, or 404)
 * in the JSON shape of the path's scope, as FastAPI's CORS middleware passes it to the app.
 */
export default fp<{ origin: string | string[] }>(
  async (app, { origin }) => {
    app.addHook('onRequest', (request, reply, done) => {
      // @fastify/cors's own test for a preflight (strictPreflight): both headers present.
      if (request.method === 'OPTIONS' && !(request.headers.origin && request.headers['access-control-request-method'])) {
        answerNoRoute(request, reply);
        return;
      }
      done();
    });
    await app.register(cors, { origin, exposedHeaders: ['x-request-id'] });
  },
  { name: 'cors', dependencies: ['route-registry', 'error-handler'] },
);
