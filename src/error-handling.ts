import type { FastifyError, FastifyInstance } from 'fastify';
import { classify, type InvalidInput } from './error-classifier.js';

/** How one protocol writes the answers classify() decides on. */
export interface ErrorRenderer {
  /** The status this protocol answers invalid input with. */
  readonly invalidInputStatus: number;
  invalidInputBody(input: InvalidInput): unknown;
  /** The body of every other error; `message` is always safe to show. */
  errorBody(statusCode: number, message: string): unknown;
  /** How the 404 and 405 messages end: each protocol keeps the wording its clients have always read. */
  readonly routeMessageEnd: '' | '.';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body property that holds a route's feature rows; unset when the body is the one row. */
    rowsAt?: string;
  }
}

/**
 * Every error in `app`'s scope, and every request no route there matches, is answered here through
 * `renderer`: the error handler, and the not-found handler that tells a known path with the wrong
 * method (405 with an Allow header, as FastAPI answers it) from an unknown path (404).
 * Needs the route-registry plugin.
 */
export function installErrorHandling(app: FastifyInstance, renderer: ErrorRenderer): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const classification = classify(error, {
      parts: { body: request.body, querystring: request.query, params: request.params, headers: request.headers },
      rowsAt: request.routeOptions.config.rowsAt,
    });
    if (classification.kind === 'invalid-input') {
      return reply.code(renderer.invalidInputStatus).send(renderer.invalidInputBody(classification));
    }
    if (classification.log) request.log[classification.log.level]({ err: classification.log.err }, 'request failed');
    return reply.code(classification.status).headers(classification.headers).send(renderer.errorBody(classification.status, classification.publicMessage));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = app.allowedMethods(path);
    const end = renderer.routeMessageEnd;
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send(renderer.errorBody(405, `Method ${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}${end}`));
    }
    return reply.code(404).send(renderer.errorBody(404, `Route ${request.method} ${path} not found${end}`));
  });
}
