import { STATUS_CODES } from './http-status.js';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { cutEcho } from './echo.js';
import { classify, type InvalidInput } from './error-classifier.js';
import { ServiceError } from './errors.js';
import { noteReason } from './plugins/request-logging.js';

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

/**
 * Which renderer answers a path: that of the innermost scope that installed error handling and
 * whose prefix holds the path. For answers given outside any route's scope: a URL the router cannot
 * read, an OPTIONS request that is no CORS preflight, what Node's HTTP server meets before Fastify.
 */
export class ErrorScopes {
  readonly #scopes: { prefix: string; renderer: ErrorRenderer }[] = [];

  add(prefix: string, renderer: ErrorRenderer): void {
    this.#scopes.push({ prefix, renderer });
    this.#scopes.sort((one, other) => other.prefix.length - one.prefix.length);
  }

  rendererFor(path: string): ErrorRenderer {
    const scope = this.#scopes.find(({ prefix }) => prefix === '' || path === prefix || path.startsWith(`${prefix}/`));
    if (!scope) throw new Error(`No error handling is installed for ${cutEcho(path)}; install it on the root scope first.`);
    return scope.renderer;
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body property that holds a route's feature rows; unset when the body is the one row. */
    rowsAt?: string;
  }
  interface FastifyInstance {
    /** The error shape of each scope, by path (see ErrorScopes); set by the root scope's installErrorHandling. */
    errorScopes: ErrorScopes;
  }
}

/** A request's path, without the query string. */
export const pathOf = (url: string): string => url.split('?')[0] ?? '/';

/** An answer written outside any route: its status, headers and body. */
export interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * The answer to `method` on `path` when no route takes it, in the shape of the scope that owns the
 * path: 405 with an Allow header when the path is served with other methods (as FastAPI answers
 * it), 404 otherwise. The path is echoed once, cut short. Needs the route-registry plugin.
 */
export function noRouteAnswer(app: FastifyInstance, method: string, path: string): Answer {
  const renderer = app.errorScopes.rendererFor(path);
  const allowed = app.allowedMethods(path);
  const shownPath = cutEcho(path);
  const end = renderer.routeMessageEnd;
  if (allowed.length > 0) {
    return {
      statusCode: 405,
      headers: { allow: allowed.join(', ') },
      body: renderer.errorBody(405, `Method ${method} is not allowed on ${shownPath}; use ${allowed.join(' or ')}${end}`),
    };
  }
  return { statusCode: 404, headers: {}, body: renderer.errorBody(404, `Route ${method} ${shownPath} not found${end}`) };
}

const send = (reply: FastifyReply, { statusCode, headers, body }: Answer) => reply.code(statusCode).headers(headers).send(body);

/** What a URL the router cannot read is answered with, the path cut short in it. */
const FRAMEWORK_ERROR_MESSAGES: Record<string, (shownPath: string) => string> = {
  FST_ERR_BAD_URL: (shownPath) => `'${shownPath}' is not a valid URL path: it holds a malformed percent-escape.`,
  FST_ERR_MAX_PARAM_LENGTH: (shownPath) => `'${shownPath}' has a path segment longer than this service reads.`,
};

/**
 * Fastify's frameworkErrors: a URL the router cannot read (a malformed percent-escape, a path
 * parameter over maxParamLength) never reaches a scope's error handler, so it is answered here in
 * the shape of the scope that owns the path, never with Fastify's own body that echoes the whole URL.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = pathOf(request.url);
  const renderer = request.server.errorScopes.rendererFor(path);
  const explain = FRAMEWORK_ERROR_MESSAGES[error.code];
  if (explain && error.statusCode !== undefined) {
    noteReason(request, error.code === 'FST_ERR_BAD_URL' ? 'malformed percent-escape in the URL' : 'path segment too long');
    return reply.code(error.statusCode).send(renderer.errorBody(error.statusCode, explain(cutEcho(path))));
  }
  // Only an async route constraint fails otherwise, and this service has none: a fault.
  request.log.error({ err: error }, 'request failed');
  noteReason(request, error.message);
  return reply.code(500).send(renderer.errorBody(500, 'Internal Server Error'));
}

/** Sends the answer to a request no route takes, naming why in its log line. */
function sendNoRoute(request: FastifyRequest, reply: FastifyReply, answer: Answer): FastifyReply {
  noteReason(request, answer.statusCode === 405 ? `method not allowed; allowed: ${answer.headers.allow}` : 'no such route');
  return send(reply, answer);
}

/** Answers an OPTIONS request (or any other) that no route takes, as the scope owning its path would. */
export function answerNoRoute(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendNoRoute(request, reply, noRouteAnswer(request.server, request.method, pathOf(request.url)));
}

/** A log line names this many problems of invalid input; the rest are counted. */
const PROBLEMS_IN_REASON = 2;

/**
 * A short reason for the log line of invalid input: where the first problems are and what they
 * are, never the values sent ("body.tenure_months: Input should be less than or equal to 120").
 */
export function invalidInputReason({ issues, moreProblems }: InvalidInput): string {
  const listed = issues.slice(0, PROBLEMS_IN_REASON).map((issue) => `${issue.loc.map((segment) => cutEcho(String(segment), 32)).join('.')}: ${issue.msg}`);
  const rest = issues.length - listed.length + moreProblems;
  return rest > 0 ? `${listed.join('; ')} (and ${rest} more)` : listed.join('; ');
}

/** A refused or failed request's reason for its log line: a service error's own, else the error's message. */
const reasonOf = (error: Error): string => (error instanceof ServiceError ? error.logReason : error.message);

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
    const err = new Error(`The ${status} error body could not be serialized; answered 500 instead`, { cause });
    request.log.error({ err }, 'request failed');
    noteReason(request, err.message);
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
  // The root scope installs first and holds the shapes of all scopes; inner scopes inherit it.
  if (!app.hasDecorator('errorScopes')) app.decorate('errorScopes', new ErrorScopes());
  app.errorScopes.add(app.prefix, renderer);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const classification = classify(error, {
      parts: { body: request.body, querystring: request.query, params: request.params, headers: request.headers },
      rowsAt: request.routeOptions.config.rowsAt,
      refused: request.refusedInput ?? undefined,
    });
    if (classification.kind === 'invalid-input') {
      noteReason(request, invalidInputReason(classification));
      return sendErrorBody(request, reply, renderer, renderer.invalidInputStatus, NO_HEADERS, renderer.invalidInputBody(classification));
    }
    if (classification.log) request.log[classification.log.level]({ err: classification.log.err }, 'request failed');
    noteReason(request, reasonOf(classification.log?.err ?? error));
    return sendErrorBody(request, reply, renderer, classification.status, classification.headers, renderer.errorBody(classification.status, classification.publicMessage));
  });

  app.setNotFoundHandler((request, reply) => sendNoRoute(request, reply, noRouteAnswer(app, request.method, pathOf(request.url))));
}
