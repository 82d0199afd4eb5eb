import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyError, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import fp from 'fastify-plugin';
import { InvalidRowsError, ServiceError, type RowIssue } from '../errors.js';
import type { ErrorResponse, ValidationErrorResponse, ValidationIssue } from '../schemas/errors.js';

type Location = (string | number)[];

function locationOf(error: FastifySchemaValidationError, context: string): Location {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
  const missing = error.keyword === 'required' ? [String(error.params.missingProperty)] : [];
  return [context, ...segments, ...missing];
}

function valueAt(root: unknown, location: Location): unknown {
  return location.slice(1).reduce<unknown>((value, key) => (value as Record<string | number, unknown> | null)?.[key], root);
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** At most this many problems are listed in a 422; `more_problems` counts the rest. */
export const MAX_DETAIL_ENTRIES = 20;
/** An echoed string input is cut to this many characters (then "…"). */
export const MAX_INPUT_CHARS = 64;

/**
 * What a 422 may echo of an offending value: scalars only, strings cut short. Objects and arrays
 * are never echoed, so an error body stays small (and serialisable) whatever was sent.
 */
function echoed(value: unknown): Pick<ValidationIssue, 'input'> {
  if (typeof value === 'string') return { input: value.length > MAX_INPUT_CHARS ? `${value.slice(0, MAX_INPUT_CHARS)}…` : value };
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return { input: value };
  return {};
}

/** pydantic's way of listing allowed values: 'a', 'b' or 'c'. */
function expectedValues(values: readonly unknown[]): string {
  const quoted = values.map((value) => (typeof value === 'string' ? `'${value}'` : JSON.stringify(value)));
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : (quoted[0] ?? '');
}

/**
 * Ajv's keywords in the words, type names, `input` and `ctx` of FastAPI (pydantic v2), which
 * clients already parse.
 */
function toIssue(error: FastifySchemaValidationError, context: string, root: unknown): ValidationIssue {
  const loc = locationOf(error, context);
  const limit = error.params.limit as number;
  const input = valueAt(root, loc);
  const issue = (type: string, msg: string, ctx?: ValidationIssue['ctx']): ValidationIssue =>
    ctx ? { type, loc, msg, ...echoed(input), ctx } : { type, loc, msg, ...echoed(input) };
  // pydantic echoes the object a missing field is missing from; objects are never echoed here.
  const missing = (): ValidationIssue => ({ type: 'missing', loc, msg: 'Field required' });
  const listLength = Array.isArray(input) ? input.length : 0;
  switch (error.keyword) {
    case 'required':
      return missing();
    case 'type':
      switch (error.params.type) {
        case 'integer':
          return typeof input === 'number' && Number.isFinite(input)
            ? issue('int_from_float', 'Input should be a valid integer, got a number with a fractional part')
            : issue('int_type', 'Input should be a valid integer');
        case 'number':
          return issue('float_type', 'Input should be a valid number');
        case 'string':
          return issue('string_type', 'Input should be a valid string');
        case 'array':
          return issue('list_type', 'Input should be a valid list');
        case 'object':
          return input === undefined
            ? missing()
            : issue('model_attributes_type', 'Input should be a valid dictionary or object to extract fields from');
        default:
          return issue('type_error', `Input should be of type ${String(error.params.type)}`);
      }
    case 'enum': {
      const expected = expectedValues(error.params.allowedValues as unknown[]);
      return issue('literal_error', `Input should be ${expected}`, { expected });
    }
    case 'minimum':
      return issue('greater_than_equal', `Input should be greater than or equal to ${limit}`, { ge: limit });
    case 'maximum':
      return issue('less_than_equal', `Input should be less than or equal to ${limit}`, { le: limit });
    case 'exclusiveMinimum':
      return issue('greater_than', `Input should be greater than ${limit}`, { gt: limit });
    case 'exclusiveMaximum':
      return issue('less_than', `Input should be less than ${limit}`, { lt: limit });
    case 'minLength':
      return issue('string_too_short', `String should have at least ${plural(limit, 'character')}`, { min_length: limit });
    case 'maxLength':
      return issue('string_too_long', `String should have at most ${plural(limit, 'character')}`, { max_length: limit });
    case 'minItems':
      return issue('too_short', `List should have at least ${plural(limit, 'item')} after validation, not ${listLength}`, {
        field_type: 'List',
        min_length: limit,
        actual_length: listLength,
      });
    case 'maxItems':
      return issue('too_long', `List should have at most ${plural(limit, 'item')} after validation, not ${listLength}`, {
        field_type: 'List',
        max_length: limit,
        actual_length: listLength,
      });
    default:
      return issue(error.keyword, error.message ?? 'Invalid value');
  }
}

/** "customers[0].tenure_months", or "body" for the body as a whole. */
function fieldName(loc: Location): string {
  const path = loc.slice(1).reduce<string>(
    (name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${key}` : key),
    '',
  );
  return path || String(loc[0]);
}

function sentence(issue: ValidationIssue): string {
  const field = fieldName(issue.loc);
  if (issue.type === 'missing') return `${field} is required.`;
  // The rule alone: without pydantic's "Input should" or "String/List should", or Ajv's own "must".
  const rule = issue.msg.replace(/^(?:(?:Input|String|List) should|must) /, '');
  return `${field} must ${rule}.`;
}

/** A 422 listing at most MAX_DETAIL_ENTRIES problems, with the count of the rest. */
function unprocessable(detail: ValidationIssue[], total: number): ValidationErrorResponse {
  const more = total - detail.length;
  const sentences = detail.map(sentence).join(' ');
  return {
    statusCode: 422,
    error: 'Unprocessable Entity',
    message: more > 0 ? `${sentences} …and ${plural(more, 'more problem')}.` : sentences,
    detail,
    ...(more > 0 ? { more_problems: more } : {}),
  };
}

/** What a validation context names in the request: the body, the query string, the path's parameters or the headers. */
function validatedPart(request: FastifyRequest, context: string): unknown {
  const parts: Record<string, unknown> = { body: request.body, querystring: request.query, params: request.params, headers: request.headers };
  return parts[context];
}

function validationResponse(errors: FastifySchemaValidationError[], context: string, root: unknown): ValidationErrorResponse {
  return unprocessable(
    errors.slice(0, MAX_DETAIL_ENTRIES).map((error) => toIssue(error, context, root)),
    errors.length,
  );
}

/** A validation failure as one message ("inputs[0].shape must be a valid list. …"), for protocols whose errors are a single string. */
export function validationMessage(error: FastifyError, request: FastifyRequest): string {
  const context = error.validationContext ?? 'body';
  return validationResponse(error.validation ?? [], context, validatedPart(request, context)).message;
}

const ROW_ISSUE_TYPES: Record<RowIssue['problem'], (issue: RowIssue) => Pick<ValidationIssue, 'type' | 'msg' | 'ctx'>> = {
  not_a_number: () => ({ type: 'float_type', msg: 'Input should be a valid number' }),
  not_an_integer: () => ({ type: 'int_from_float', msg: 'Input should be a valid integer, got a number with a fractional part' }),
  below_minimum: ({ limit }) => ({ type: 'greater_than_equal', msg: `Input should be greater than or equal to ${limit}`, ctx: { ge: limit! } }),
  above_maximum: ({ limit }) => ({ type: 'less_than_equal', msg: `Input should be less than or equal to ${limit}`, ctx: { le: limit! } }),
};

/**
 * Rows the data plane refused, in the same 422 shape as schema errors. `rowsAt` names the body
 * property that holds the rows (`customers`), or nothing when the body is the one row.
 */
function rowsResponse(error: InvalidRowsError, rowsAt: string | undefined): ValidationErrorResponse {
  const detail = error.issues.slice(0, MAX_DETAIL_ENTRIES).map((rowIssue): ValidationIssue => {
    const loc: Location = rowsAt ? ['body', rowsAt, rowIssue.row, rowIssue.feature] : ['body', rowIssue.feature];
    const { type, msg, ctx } = ROW_ISSUE_TYPES[rowIssue.problem](rowIssue);
    return ctx ? { type, loc, msg, ...echoed(rowIssue.value), ctx } : { type, loc, msg, ...echoed(rowIssue.value) };
  });
  return unprocessable(detail, error.issues.length);
}

/** `detail` repeats the message because FastAPI's HTTPException bodies carry only `detail`. */
function errorBody(statusCode: number, message: string): ErrorResponse {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, detail: message };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body property that holds a route's feature rows; unset when the body is the one row. */
    rowsAt?: string;
  }
}

const CLIENT_ERRORS: Record<string, [number, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'The request headers or body did not arrive in time.'],
  HPE_HEADER_OVERFLOW: [431, 'The request headers are too large.'],
};

/**
 * Answers what Node's HTTP parser refuses before any route or hook sees it (a slow client, huge
 * headers, bytes that are not HTTP), in the same body shape as every other error, then closes
 * the connection.
 */
export function answerClientError(this: { log: FastifyBaseLogger }, error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [statusCode, message] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'The request is not valid HTTP.'];
  this.log.debug({ code: error.code, statusCode }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify(errorBody(statusCode, message));
    socket.write(
      `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The methods routes answer on `path` (a concrete path), so a wrong method gets 405 and an Allow header rather than 404. */
    allowedMethods(path: string): string[];
  }
}

/** A route's URL pattern as a regular expression over concrete paths: `:param` is one segment, `*` the rest. */
function patternOf(url: string): RegExp {
  const segments = url.split('/').map((segment) =>
    segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
  );
  return new RegExp(`^${segments.join("/")}$`);
}

/**
 * Every error of the churn API and the operations routes becomes a JSON response here, and only
 * here, in the FastAPI-compatible shape; other protocols map the same error family in their scope.
 */
export default fp(
  async (app) => {
    const routes: { pattern: RegExp; methods: string[] }[] = [];
    app.addHook('onRoute', (route) => {
      const methods = [route.method].flat().filter((method) => method !== 'HEAD' && method !== 'OPTIONS');
      if (methods.length > 0) routes.push({ pattern: patternOf(route.url), methods });
    });
    app.decorate('allowedMethods', (path: string) => [...new Set(routes.filter((route) => route.pattern.test(path)).flatMap((route) => route.methods))]);

    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error.validation) {
        const context = error.validationContext ?? 'body';
        return reply.code(422).send(validationResponse(error.validation, context, validatedPart(request, context)));
      }
      if (error instanceof InvalidRowsError) {
        return reply.code(422).send(rowsResponse(error, request.routeOptions.config.rowsAt));
      }
      if (error instanceof ServiceError) {
        if (error.statusCode >= 500) request.log.error({ err: error }, 'request failed');
        reply.headers(error.headers);
        return reply.code(error.statusCode).send(errorBody(error.statusCode, error.publicMessage));
      }
      const statusCode = error.statusCode ?? 500;
      if (statusCode >= 400 && statusCode < 500) {
        return reply.code(statusCode).send(errorBody(statusCode, error.message));
      }
      // Clients never see internals of a server fault; the log keeps them, tied to the request id.
      request.log.error({ err: error }, 'request failed');
      const code = statusCode >= 500 && statusCode <= 599 ? statusCode : 500;
      return reply.code(code).send(errorBody(code, STATUS_CODES[code] ?? 'Internal Server Error'));
    });

    // A known path with the wrong method is 405 with an Allow header, as FastAPI answers it.
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0] ?? '/';
      const allowed = app.allowedMethods(path);
      if (allowed.length > 0) {
        return reply
          .code(405)
          .header('allow', allowed.join(', '))
          .send(errorBody(405, `Method ${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`));
      }
      return reply.code(404).send(errorBody(404, `Route ${request.method} ${path} not found`));
    });
  },
  { name: 'error-handler' },
);
