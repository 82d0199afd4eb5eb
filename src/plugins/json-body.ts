import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import secureJson from 'secure-json-parse';
import { cutEcho } from '../echo.js';
import { BadRequestError, SEND_JSON, UnsupportedMediaTypeError } from '../errors.js';
import type { NumberLiteral } from '../pydantic-lax.js';

/** Deeper than any valid body (a batch is 3 levels), and far below what could exhaust a stack. */
export const MAX_JSON_DEPTH = 32;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;
const UTF8 = /^utf-?8$/i;
/** What secure-json-parse throws for a prototype-polluting key. */
const FORBIDDEN_PROPERTY = 'Object contains forbidden prototype property';
/**
 * From ±2^63 on, pydantic's answer depends on how a number was written: an integer literal is an
 * exact Python int of any size, a float literal a Python float (infinite beyond 1.8e308).
 * JSON.parse makes both the same number, so how such numbers were written is kept apart.
 */
const BIG_NUMBER = 2 ** 63;

/** How each number beyond ±2^63 in a body was written, by the object or array that holds it and its key. */
export class BigNumberLiterals {
  readonly #byHolder = new Map<object, Map<string, NumberLiteral>>();

  record(holder: object, key: string, source: string): void {
    let literals = this.#byHolder.get(holder);
    if (!literals) this.#byHolder.set(holder, (literals = new Map()));
    literals.set(key, /^-?\d+$/.test(source) ? 'integer' : 'float');
  }

  /** How the number at `holder[key]` was written; unknown (and of no consequence) within ±2^63. */
  literalOf(holder: object, key: string | number): NumberLiteral | undefined {
    return this.#byHolder.get(holder)?.get(String(key));
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** How the body's numbers beyond ±2^63 were written; null when it has none. */
    bigNumberLiterals: BigNumberLiterals | null;
  }
}

const isBigNumber = (value: unknown) => typeof value === 'number' && !(Math.abs(value) < BIG_NUMBER);

/** Whether `value` is nested deeper than `levelsLeft`; notes on the way whether it holds a number beyond ±2^63. */
function deeperThan(value: unknown, levelsLeft: number, found: { bigNumber: boolean }): boolean {
  if (value === null || typeof value !== 'object') {
    if (isBigNumber(value)) found.bigNumber = true;
    return false;
  }
  if (levelsLeft === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (deeperThan(item, levelsLeft - 1, found)) return true;
    return false;
  }
  for (const key in value) if (deeperThan((value as Record<string, unknown>)[key], levelsLeft - 1, found)) return true;
  return false;
}

/**
 * The body parsed again, with the source text of its numbers beyond ±2^63 noted (a reviver sees
 * it). Only bodies holding such a number pay for the second parse.
 */
function parseNotingBigNumbers(text: string): { body: unknown; bigNumberLiterals: BigNumberLiterals } {
  const bigNumberLiterals = new BigNumberLiterals();
  const body: unknown = secureJson.parse(
    text,
    function (this: object, key: string, value: unknown, context?: { source?: string }) {
      if (isBigNumber(value) && context?.source !== undefined) bigNumberLiterals.record(this, key, context.source);
      return value;
    },
    { protoAction: 'error', constructorAction: 'error' },
  );
  return { body, bigNumberLiterals };
}

/** A parsed body, and how its numbers beyond ±2^63 were written (null when it has none). */
export interface ParsedBody {
  body: unknown;
  bigNumberLiterals: BigNumberLiterals | null;
}

/**
 * The one way a body gets in: UTF-8 JSON (`application/json` or an `application/*+json` type),
 * without a content encoding, at most MAX_JSON_DEPTH levels deep, and without the `__proto__` or
 * `constructor.prototype` keys that could pollute prototypes. Anything else is a 415 or a 400
 * that says why, before validation ever sees it. Fastify's text/plain parser is gone: any other
 * content type, or none, is a 415 that says what to send.
 */
export function parseJsonBody(contentType: string | undefined, contentEncoding: string | undefined, text: string): ParsedBody {
  if (contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== 'identity') {
    throw new UnsupportedMediaTypeError(`Content-Encoding ${cutEcho(contentEncoding)} is not accepted; send the body uncompressed.`);
  }
  const charset = CHARSET.exec(contentType ?? '')?.[1];
  if (charset !== undefined && !UTF8.test(charset)) {
    throw new UnsupportedMediaTypeError(`Only UTF-8 JSON is accepted, and the content type says charset=${charset.slice(0, 32)}; ${SEND_JSON}.`);
  }
  if (text.length === 0) throw new BadRequestError("Body cannot be empty when content-type is set to 'application/json'.");
  let body: unknown;
  try {
    body = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    if (error instanceof RangeError) throw new BadRequestError(`Body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
    const reason = error instanceof Error ? error.message : String(error);
    if (reason === FORBIDDEN_PROPERTY) throw new BadRequestError('Body contains a forbidden property name (__proto__ or constructor.prototype).');
    throw new BadRequestError(`Body is not valid JSON: ${reason.slice(0, 120)}`);
  }
  const found = { bigNumber: false };
  if (deeperThan(body, MAX_JSON_DEPTH, found)) throw new BadRequestError(`Body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
  return found.bigNumber ? parseNotingBigNumbers(text) : { body, bigNumberLiterals: null };
}

export default fp(
  async (app) => {
    app.decorateRequest('bigNumberLiterals', null);
    app.removeAllContentTypeParsers();
    const parser = (request: FastifyRequest, text: string | Buffer, done: (error: Error | null, body?: unknown) => void) => {
      try {
        const encoding: string | string[] | undefined = request.headers['content-encoding'];
        const parsed = parseJsonBody(request.headers['content-type'], Array.isArray(encoding) ? encoding.join(',') : encoding, text as string);
        request.bigNumberLiterals = parsed.bigNumberLiterals;
        done(null, parsed.body);
      } catch (error) {
        done(error as Error);
      }
    };
    app.addContentTypeParser('application/json', { parseAs: 'string' }, parser);
    app.addContentTypeParser(/^application\/[\w.!#$&^-]+\+json(\s*;|$)/i, { parseAs: 'string' }, parser);
    // Every other content type, and a body without one, is refused before the body is read; an
    // unknown route or method still gets its 404 or 405, as when no parser matched.
    app.addContentTypeParser('*', (request, _payload, done) =>
      request.is404 ? done(null, undefined) : done(UnsupportedMediaTypeError.forContentType(request.headers['content-type']), undefined),
    );
  },
  { name: 'json-body' },
);
