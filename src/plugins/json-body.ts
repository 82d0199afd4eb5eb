import fp from 'fastify-plugin';
import secureJson from 'secure-json-parse';
import { BadRequestError, SEND_JSON, UnsupportedMediaTypeError } from '../errors.js';

/** Deeper than any valid body (a batch is 3 levels), and far below what could exhaust a stack. */
export const MAX_JSON_DEPTH = 32;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;
const UTF8 = /^utf-?8$/i;
/** What secure-json-parse throws for a prototype-polluting key. */
const FORBIDDEN_PROPERTY = 'Object contains forbidden prototype property';

function deeperThan(value: unknown, levelsLeft: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (levelsLeft === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (deeperThan(item, levelsLeft - 1)) return true;
    return false;
  }
  for (const key in value) if (deeperThan((value as Record<string, unknown>)[key], levelsLeft - 1)) return true;
  return false;
}

/**
 * The one way a body gets in: UTF-8 JSON (`application/json` or an `application/*+json` type),
 * without a content encoding, at most MAX_JSON_DEPTH levels deep, and without the `__proto__` or
 * `constructor.prototype` keys that could pollute prototypes. Anything else is a 415 or a 400
 * that says why, before validation ever sees it. Fastify's text/plain parser is gone: any other
 * content type, or none, is a 415 that says what to send.
 */
export function parseJsonBody(contentType: string | undefined, contentEncoding: string | undefined, text: string): unknown {
  if (contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== 'identity') {
    throw new UnsupportedMediaTypeError(`Content-Encoding ${contentEncoding} is not accepted; send the body uncompressed.`);
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
  if (deeperThan(body, MAX_JSON_DEPTH)) throw new BadRequestError(`Body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
  return body;
}

export default fp(
  async (app) => {
    app.removeAllContentTypeParsers();
    const parser = (request: { headers: Record<string, string | string[] | undefined> }, text: string | Buffer, done: (error: Error | null, body?: unknown) => void) => {
      try {
        const encoding = request.headers['content-encoding'];
        done(null, parseJsonBody(request.headers['content-type'] as string | undefined, Array.isArray(encoding) ? encoding.join(',') : encoding, text as string));
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
