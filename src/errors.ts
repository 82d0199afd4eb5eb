/**
 * The service's one error family. Each error carries the HTTP status it means and a message that
 * is safe to show any caller; error-classifier.ts decides once what any error means for a caller,
 * and each protocol only renders that (the churn API in FastAPI-style bodies, the Open Inference
 * Protocol as `{"error": ...}`). Nothing here knows HTTP beyond the status number.
 */
export abstract class ServiceError extends Error {
  abstract readonly statusCode: number;
  /** Response headers the error calls for (`retry-after`, `www-authenticate`), whatever the protocol. */
  readonly headers: Readonly<Record<string, string>> = {};

  /** What a caller may read. Server faults never show their internals. */
  get publicMessage(): string {
    return this.message;
  }

  /** Why the request failed, in a few words for its log line; never a secret the caller sent. */
  get logReason(): string {
    return this.message;
  }
}

export class ModelNotReadyError extends ServiceError {
  override name = 'ModelNotReadyError';
  readonly statusCode = 503;
  override readonly headers = { 'retry-after': '1' };
  constructor() {
    super('Model is not loaded yet; retry shortly.');
  }
}

export class ServiceClosingError extends ServiceError {
  override name = 'ServiceClosingError';
  readonly statusCode = 503;
  override readonly headers = { 'retry-after': '1' };
  constructor() {
    super('The service is shutting down and takes no new predictions.');
  }
}

/**
 * A server-wide answer that needs every worker's part, when a worker did not give it in time:
 * a partial sum would mislead (a window missing one worker's rows, counters that fall), so none
 * is given.
 */
export class IncompleteAnswerError extends ServiceError {
  override name = 'IncompleteAnswerError';
  readonly statusCode = 503;
  override readonly headers = { 'retry-after': '1' };
  constructor(what: string, missing: number, workers: number) {
    super(`${what} incomplete: ${missing} of ${workers} workers did not answer; retry shortly.`);
  }
}

/** One broken value in one row, named by the feature it belongs to. */
export interface RowIssue {
  row: number;
  feature: string;
  problem: 'not_a_number' | 'not_an_integer' | 'below_minimum' | 'above_maximum';
  value: unknown;
  /** The bound that was broken, for the range problems. */
  limit?: number;
  message: string;
}

/** A model name or version this server does not serve. */
export class ModelNotFoundError extends ServiceError {
  override name = 'ModelNotFoundError';
  readonly statusCode = 404;
}

/** Rows that break the feature contract (types and ranges of the one feature schema). */
export class InvalidRowsError extends ServiceError {
  override name = 'InvalidRowsError';
  readonly statusCode = 422;
  constructor(readonly issues: readonly RowIssue[]) {
    super(issues.map((issue) => issue.message).join(' '));
  }
}

/** A value a route's schema takes but one of its own rules refuses, at `loc` (`['querystring', 'since']`), in pydantic's words. */
export interface ValueIssue {
  loc: (string | number)[];
  type: string;
  msg: string;
  input: unknown;
}

/** Values that pass a route's schema but break a rule of its own (a window that ends before it starts). */
export class InvalidValuesError extends ServiceError {
  override name = 'InvalidValuesError';
  readonly statusCode = 422;
  constructor(readonly issues: readonly ValueIssue[]) {
    super(issues.map((issue) => issue.msg).join(' '));
  }
}

/** The model failed while scoring. The cause is for the log, never for the caller. */
export class InferenceFailedError extends ServiceError {
  override name = 'InferenceFailedError';
  readonly statusCode = 500;
  constructor(options: { cause: unknown }) {
    super(`Inference failed: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
  }

  override get publicMessage(): string {
    return 'Internal Server Error';
  }
}

/** A model that cannot explain its scores was asked to (explain=true). */
export class ExplanationUnavailableError extends ServiceError {
  override name = 'ExplanationUnavailableError';
  readonly statusCode = 400;
  constructor(version: string, reason: string) {
    super(`Explanations are not available for model ${version}: ${reason}. Ask without explain=true.`);
  }
}

/** A model file that cannot be served. Its message is for operators, who chose the file. */
export class ModelLoadError extends ServiceError {
  override name = 'ModelLoadError';
  readonly statusCode = 422;
}

/** A caller without valid credentials for the route. */
export class UnauthorizedError extends ServiceError {
  override name = 'UnauthorizedError';
  readonly statusCode = 401;
  override readonly headers: Readonly<Record<string, string>>;
  /** `credential` names what was missing or wrong ("API key", "admin token"); `presented` says whether the caller sent one. */
  constructor(
    message: string,
    realm: string,
    private readonly credential = 'credential',
    private readonly presented = false,
  ) {
    super(message);
    this.headers = { 'www-authenticate': `Bearer realm="${realm}"` };
  }

  /** "no API key" or "wrong API key": what the caller sent is never repeated. */
  override get logReason(): string {
    return `${this.presented ? 'wrong' : 'no'} ${this.credential}`;
  }
}

/** A body the service cannot read: not JSON, nested too deep, or in a form it does not accept. */
export class BadRequestError extends ServiceError {
  override name = 'BadRequestError';
  readonly statusCode = 400;
}

/** What a client must send instead of a body the service does not take: every 415 about the content type ends with it. */
export const SEND_JSON = 'send a UTF-8 JSON body with Content-Type: application/json';

/** A content type, charset or content encoding the service does not take. */
export class UnsupportedMediaTypeError extends ServiceError {
  override name = 'UnsupportedMediaTypeError';
  readonly statusCode = 415;

  /** A body in a content type the service does not take, a malformed one, or none. */
  static forContentType(contentType: string | undefined): UnsupportedMediaTypeError {
    const sent = contentType?.trim() ? `Content-Type ${contentType.trim().slice(0, 64)} is not accepted` : 'The body has no Content-Type';
    return new UnsupportedMediaTypeError(`${sent}; ${SEND_JSON}.`);
  }
}

export class RateLimitedError extends ServiceError {
  override name = 'RateLimitedError';
  readonly statusCode = 429;
  override readonly headers: Readonly<Record<string, string>>;
  constructor(
    private readonly limit: number,
    retryAfterSeconds: number,
  ) {
    super(`Rate limit of ${limit} requests per minute reached; retry in ${retryAfterSeconds} s.`);
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }

  override get logReason(): string {
    return `rate limited: over ${this.limit} requests per minute`;
  }
}

/**
 * A route that needs the prediction log on a server where it is off (PREDICTION_LOG=false): 404,
 * since this server has no such store, as /admin has no routes without ADMIN_TOKEN. It is a
 * setting, not a passing state: a 5xx would have callers retry a request that cannot succeed
 * until an operator changes the deployment.
 */
export class PredictionLogOffError extends ServiceError {
  override name = 'PredictionLogOffError';
  readonly statusCode = 404;
  constructor(what: string) {
    super(`${what} needs the prediction log, which is off on this server (PREDICTION_LOG=false); an operator can turn it on with PREDICTION_LOG=true.`);
  }
}

/** The prediction log's store failed, timed out or is not open yet. The cause is for the log, never for the caller. */
export class PredictionLogUnavailableError extends ServiceError {
  override name = 'PredictionLogUnavailableError';
  readonly statusCode = 503;
  /** A store that is down or restarting: a retry within a second would find it the same. */
  override readonly headers = { 'retry-after': '5' };
  constructor(options: { cause: unknown }) {
    super(`Prediction log store failed: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
  }

  override get publicMessage(): string {
    return 'The prediction log is not answering; retry in a few seconds (sending the same request again is safe).';
  }
}

/**
 * A promotion that names the model to serve (its sha256) asked of a worker that holds it neither as
 * champion nor as challenger: the worker keeps its models, since swapping would promote another one.
 */
export class NotTheChallengerError extends ServiceError {
  override name = 'NotTheChallengerError';
  readonly statusCode = 409;
  constructor(named: string, challenger: { version: string; sha256: string } | undefined) {
    super(
      `The model ${named.slice(0, 12)}… is neither the champion nor the challenger here (${challenger ? `the challenger is ${challenger.version}, ${challenger.sha256.slice(0, 12)}…` : 'no challenger is loaded'}); nothing changed.`,
    );
  }
}

/** A promotion asked of a server that has no challenger loaded: nothing to promote until one is. */
export class NoChallengerError extends ServiceError {
  override name = 'NoChallengerError';
  readonly statusCode = 409;
  constructor() {
    super('No challenger is loaded: load one with PUT /admin/challenger first.');
  }
}
