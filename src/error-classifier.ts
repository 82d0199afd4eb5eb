import { STATUS_CODES } from './http-status.js';
import { InvalidRowsError, InvalidValuesError, ServiceError, UnsupportedMediaTypeError, type RowIssue } from './errors.js';
import { rowIssues, schemaIssues, valueIssues, type IssueList, type RefusedValues, type SchemaViolation } from './validation-issues.js';

/**
 * What any error thrown while answering a request means for the caller, decided once for every
 * protocol: each protocol only renders the result in its own bodies (see error-handling.ts).
 */

/** Anything a route, hook or library may throw: an Error, perhaps with Fastify's or Ajv's extras. */
export type ThrownError = Error & {
  statusCode?: number;
  code?: string;
  validation?: readonly SchemaViolation[];
  validationContext?: string;
};

/** What the error handler knows of the request besides the error. */
export interface RequestFacts {
  /** The parts of the request a schema validates, where offending values are read. */
  parts: { body?: unknown; querystring?: unknown; params?: unknown; headers?: unknown };
  /** The body property that holds a route's feature rows; unset when the body is the one row. */
  rowsAt?: string;
  /** Values a hook refused before validation, by part, with pydantic's error for each. */
  refused?: Partial<Record<keyof RequestFacts['parts'], RefusedValues>>;
}

/**
 * Input that breaks a schema or the feature contract. It has no status of its own: each protocol
 * answers it with its own (FastAPI 422, the Open Inference Protocol 400).
 */
export interface InvalidInput extends IssueList {
  kind: 'invalid-input';
  /** The rows the data plane refused, for protocols that name rows their own way; unset for schema problems. */
  rowIssues?: readonly RowIssue[];
}

/** Every other error: the status to answer with, the headers it calls for, and a message safe to show. */
export interface Failure {
  kind: 'failure';
  status: number;
  headers: Readonly<Record<string, string>>;
  publicMessage: string;
  /** Set for server faults: log the error itself (its message, stack and cause) at error level, tied to the request. */
  log?: { level: 'error'; err: Error };
}

export type Classification = InvalidInput | Failure;

const NO_HEADERS: Readonly<Record<string, string>> = {};

/** A server fault's status: 5xx kept, anything else (a 3xx, 600, none at all) 500. */
function faultStatus(statusCode: number | undefined): number {
  return statusCode !== undefined && statusCode >= 500 && statusCode <= 599 ? statusCode : 500;
}

function contentTypeOf(facts: RequestFacts): string | undefined {
  const contentType = (facts.parts.headers as Record<string, unknown> | undefined)?.['content-type'];
  return typeof contentType === 'string' ? contentType : undefined;
}

export function classify(error: ThrownError, facts: RequestFacts): Classification {
  if (error.validation) {
    const context = (error.validationContext ?? 'body') as keyof RequestFacts['parts'];
    return { kind: 'invalid-input', ...schemaIssues(error.validation, context, facts.parts[context], facts.refused?.[context]) };
  }
  if (error instanceof InvalidRowsError) {
    return { kind: 'invalid-input', ...rowIssues(error.issues, facts.rowsAt), rowIssues: error.issues };
  }
  if (error instanceof InvalidValuesError) return { kind: 'invalid-input', ...valueIssues(error.issues) };
  if (error instanceof ServiceError) {
    const failure: Failure = { kind: 'failure', status: error.statusCode, headers: error.headers, publicMessage: error.publicMessage };
    return error.statusCode >= 500 ? { ...failure, log: { level: 'error', err: error } } : failure;
  }
  // Fastify refuses a malformed Content-Type itself, saying only "Unsupported Media Type".
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return classify(UnsupportedMediaTypeError.forContentType(contentTypeOf(facts)), facts);
  const statusCode = error.statusCode;
  // A library's client error (a 4xx) speaks to the caller; its message says what to fix.
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return { kind: 'failure', status: statusCode, headers: NO_HEADERS, publicMessage: error.message };
  }
  // Clients never see internals of a server fault; the log keeps them, tied to the request id.
  const status = faultStatus(statusCode);
  return { kind: 'failure', status, headers: NO_HEADERS, publicMessage: STATUS_CODES[status] ?? 'Internal Server Error', log: { level: 'error', err: error } };
}
