import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifySchemaValidationError } from 'fastify';
import fp from 'fastify-plugin';
import { BatcherClosedError } from '../batching/micro-batcher.js';
import { ModelNotReadyError } from '../model/model-handle.js';
import type { ValidationErrorResponse, ValidationIssue } from '../schemas/errors.js';

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

/** Ajv's keywords in the words and type names of FastAPI (pydantic v2), which clients already parse. */
function toIssue(error: FastifySchemaValidationError, context: string, root: unknown): ValidationIssue {
  const loc = locationOf(error, context);
  const limit = error.params.limit as number;
  const value = valueAt(root, loc);
  switch (error.keyword) {
    case 'required':
      return { loc, msg: 'Field required', type: 'missing' };
    case 'type':
      switch (error.params.type) {
        case 'integer':
          return typeof value === 'number' && Number.isFinite(value)
            ? { loc, msg: 'Input should be a valid integer, got a number with a fractional part', type: 'int_from_float' }
            : { loc, msg: 'Input should be a valid integer', type: 'int_type' };
        case 'number':
          return { loc, msg: 'Input should be a valid number', type: 'float_type' };
        case 'string':
          return { loc, msg: 'Input should be a valid string', type: 'string_type' };
        case 'array':
          return { loc, msg: 'Input should be a valid list', type: 'list_type' };
        case 'object':
          return value === undefined
            ? { loc, msg: 'Field required', type: 'missing' }
            : { loc, msg: 'Input should be a valid dictionary or object to extract fields from', type: 'model_attributes_type' };
        default:
          return { loc, msg: `Input should be of type ${String(error.params.type)}`, type: 'type_error' };
      }
    case 'minimum':
      return { loc, msg: `Input should be greater than or equal to ${limit}`, type: 'greater_than_equal' };
    case 'maximum':
      return { loc, msg: `Input should be less than or equal to ${limit}`, type: 'less_than_equal' };
    case 'exclusiveMinimum':
      return { loc, msg: `Input should be greater than ${limit}`, type: 'greater_than' };
    case 'exclusiveMaximum':
      return { loc, msg: `Input should be less than ${limit}`, type: 'less_than' };
    case 'minLength':
      return { loc, msg: `String should have at least ${plural(limit, 'character')}`, type: 'string_too_short' };
    case 'maxLength':
      return { loc, msg: `String should have at most ${plural(limit, 'character')}`, type: 'string_too_long' };
    case 'minItems':
      return { loc, msg: `List should have at least ${plural(limit, 'item')} after validation, not ${(value as unknown[]).length}`, type: 'too_short' };
    case 'maxItems':
      return { loc, msg: `List should have at most ${plural(limit, 'item')} after validation, not ${(value as unknown[]).length}`, type: 'too_long' };
    default:
      return { loc, msg: error.message ?? 'Invalid value', type: error.keyword };
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
  const rule = issue.msg.replace(/^Input should /, '').replace(/^(String|List) should /, '');
  return `${field} must ${rule}.`;
}

export function validationResponse(
  errors: FastifySchemaValidationError[],
  context: string,
  root: unknown,
): ValidationErrorResponse {
  const detail = errors.map((error) => toIssue(error, context, root));
  return {
    statusCode: 422,
    error: 'Unprocessable Entity',
    message: detail.map(sentence).join(' '),
    detail,
  };
}

function errorBody(statusCode: number, message: string) {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

/** Every error becomes a JSON response here, and only here. */
export default fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error.validation) {
        return reply.code(422).send(validationResponse(error.validation, error.validationContext ?? 'body', request.body));
      }
      if (error instanceof ModelNotReadyError || error instanceof BatcherClosedError) {
        return reply.code(503).header('retry-after', '1').send(errorBody(503, error.message));
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

    app.setNotFoundHandler((request, reply) =>
      reply.code(404).send(errorBody(404, `Route ${request.method} ${request.url.split('?')[0]} not found`)),
    );
  },
  { name: 'error-handler' },
);
