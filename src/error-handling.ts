import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Sends an error body serialized here, with the route's response schema for the status, rather than
 * by Fastify after the handler: a body that fails there would go to Fastify's own fallback, which
 * logs nothing (request logging is off) and answers a 500 naming the schema. Here the failure is
 * logged at error level with its cause, and the caller gets the protocol's generic 500.
 */
function sendErrorBody(
  request: FastifyRequest,
  reply: FastifyReply,
  renderer: ErrorRenderer,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: unknown,
): FastifyReply {
  const code = String(status);
  // A response schema per content type, or one for every content type, or none (then plain JSON, as Fastify does).
  const schemaSerializer = reply.getSerializationFunction(code, 'application/json') ?? reply.getSerializationFunction(code);
  let payload: string;
  try {
    payload = typeof schemaSerializer === 'function' ? schemaSerializer(body as Record<string, unknown>) : JSON.stringify(body);
  } catch (cause) {
    request.log.error({ err: new Error(`The ${status} error body could not be serialized; answered 500 instead`, { cause }) }, 'request failed');
    return reply.code(500).send(renderer.errorBody(500, STATUS_CODES[500]!));
  }
  return reply.code(status).headers(headers).type(JSON_CONTENT_TYPE).send(payload);
}

const NO_HEADERS: Readonly<Record<string, string>> = {};

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
      refused: request.refusedInput ?? undefined,
    });
    if (classification.kind === 'invalid-input') {
      return sendErrorBody(request, reply, renderer, renderer.invalidInputStatus, NO_HEADERS, renderer.invalidInputBody(classification));
    }
    if (classification.log) request.log[classification.log.level]({ err: classification.log.err }, 'request failed');
    return sendErrorBody(request, reply, renderer, classification.status, classification.headers, renderer.errorBody(classification.status, classification.publicMessage));
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
