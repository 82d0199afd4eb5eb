import Fastify, { type FastifyInstance, type FastifySchemaValidationError } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serverOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { BadRequestError, InferenceFailedError, UnauthorizedError } from '../../src/errors.js';
import errorHandler from '../../src/plugins/error-handler.js';
import routeRegistry from '../../src/plugins/route-registry.js';

/**
 * The error handler on routes of its own, built with the service's Fastify options (the same Ajv
 * settings): every Ajv keyword it maps, every kind of error it answers, and its 404/405.
 */

const BODY_SCHEMA = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'integer' },
    ratio: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    code: { type: 'string', minLength: 1, maxLength: 3 },
    pin: { type: 'string', minLength: 4, maxLength: 4 },
    tier: { enum: ['LOW', 'MEDIUM', 'HIGH'] },
    level: { enum: [1, 2] },
    flag: { type: 'boolean' },
    tag: { type: 'string', pattern: '^[a-z]+$' },
    tags: { type: 'array', items: { type: 'integer' } },
    one: { type: 'array', minItems: 1, maxItems: 1 },
    nested: { type: 'object', properties: { 'a/b': { type: 'integer' }, 'c~d': { type: 'integer' }, '7up': { type: 'integer' }, up7: { type: 'integer' } } },
    labels: { type: 'object', additionalProperties: { type: 'integer' } },
    choice: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
    either: { anyOf: [{ type: 'integer', minimum: 10 }, { type: 'string', maxLength: 2 }] },
  },
} as const;

/** Throws an error with the given status code (and optionally no message), as plugins and libraries do. */
function failing(statusCode: number | undefined, message = 'internal detail: /srv/app.ts:12') {
  return async () => {
    throw Object.assign(new Error(message), statusCode === undefined ? {} : { statusCode });
  };
}

let app: FastifyInstance;
const logs: Record<string, unknown>[] = [];

// A fresh app for each test: route registration (which the 405 answers depend on) then runs inside
// the test's own life, where Stryker has its mutant switched on, not once before any test starts.
beforeEach(async () => {
  logs.length = 0;
  const stream = { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) };
  app = Fastify(serverOptions({ config: loadConfig({ LOG_LEVEL: 'info' }), logStream: stream }));
  await app.register(routeRegistry);
  await app.register(errorHandler);
  app.post('/things', { schema: { body: BODY_SCHEMA } }, async () => ({ ok: true }));
  app.get('/things', { schema: { querystring: { type: 'object', properties: { order: { type: 'string', enum: ['asc', 'desc'] } } } } }, async () => ({ ok: true }));
  app.get('/items/:id', { schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 3 } } } } }, async () => ({ ok: true }));
  app.put('/items/:id', async () => ({ ok: true }));
  app.get('/files/*', async () => ({ ok: true }));
  app.get('/report.json', async () => ({ ok: true }));
  app.options('/preflight-only', async () => ({ ok: true }));
  app.post('/custom-validation', {
    preValidation: (_request, _reply, done) => {
      const validation: FastifySchemaValidationError[] = [
        { keyword: 'uniqueItems', instancePath: '/list', schemaPath: '#/uniqueItems', params: {} },
        { keyword: 'required', instancePath: '', schemaPath: '#/required', params: { missingProperty: 'name' }, message: 'must have required property name' },
      ];
      done(Object.assign(new Error('custom'), { validation }));
    },
  }, async () => ({ ok: true }));
  // A route whose 422 schema the error body does not fit: the serializer refuses the body.
  app.post('/mis-documented', {
    schema: { body: BODY_SCHEMA, response: { 422: { type: 'object', required: ['reason'], properties: { reason: { type: 'string' } } } } },
  }, async () => ({ ok: true }));
  app.get('/fail/client', failing(418, 'I am a teapot, and I say so.'));
  app.get('/fail/unnamed-client', failing(499, 'Client closed the request.'));
  app.get('/fail/server', failing(503));
  app.get('/fail/unnamed-server', failing(599));
  app.get('/fail/not-an-error-status', failing(302));
  app.get('/fail/beyond', failing(600));
  app.get('/fail/plain', failing(undefined));
  app.get('/fail/unauthorized', async () => {
    throw new UnauthorizedError('No valid API key.', 'churn');
  });
  app.get('/fail/bad-request', async () => {
    throw new BadRequestError('That will not do.');
  });
  app.get('/fail/inference', async () => {
    throw new InferenceFailedError({ cause: new Error('tensor shape mismatch in /srv/model.onnx') });
  });
  await app.ready();
});
afterEach(async () => app.close());

const post = (payload: unknown) => app.inject({ method: 'POST', url: '/things', payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });

describe('422 bodies for each Ajv keyword, as FastAPI (pydantic v2) writes them', () => {
  it('are exact for every keyword the service maps, in order, with the offending scalar echoed', async () => {
    const response = await post({
      id: 1,
      ratio: 0,
      code: '',
      pin: 'abcde',
      tier: 'NONE',
      level: 3,
      flag: 'yes',
      tag: 'A1',
      tags: 'x',
      one: [1, 2],
      nested: 'flat',
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().detail).toEqual([
      { type: 'greater_than', loc: ['body', 'ratio'], msg: 'Input should be greater than 0', input: 0, ctx: { gt: 0 } },
      { type: 'string_too_short', loc: ['body', 'code'], msg: 'String should have at least 1 character', input: '', ctx: { min_length: 1 } },
      { type: 'string_too_long', loc: ['body', 'pin'], msg: 'String should have at most 4 characters', input: 'abcde', ctx: { max_length: 4 } },
      { type: 'literal_error', loc: ['body', 'tier'], msg: "Input should be 'LOW', 'MEDIUM' or 'HIGH'", input: 'NONE', ctx: { expected: "'LOW', 'MEDIUM' or 'HIGH'" } },
      { type: 'literal_error', loc: ['body', 'level'], msg: 'Input should be 1 or 2', input: 3, ctx: { expected: '1 or 2' } },
      { type: 'type_error', loc: ['body', 'flag'], msg: 'Input should be of type boolean', input: 'yes' },
      { type: 'pattern', loc: ['body', 'tag'], msg: 'must match pattern "^[a-z]+$"', input: 'A1' },
      { type: 'list_type', loc: ['body', 'tags'], msg: 'Input should be a valid list', input: 'x' },
      {
        type: 'too_long',
        loc: ['body', 'one'],
        msg: 'List should have at most 1 item after validation, not 2',
        ctx: { field_type: 'List', max_length: 1, actual_length: 2 },
      },
      { type: 'model_attributes_type', loc: ['body', 'nested'], msg: 'Input should be a valid dictionary or object to extract fields from', input: 'flat' },
    ]);
  });

  it('word the other bound of each keyword, and singular and plural counts, the same way', async () => {
    const response = await post({ id: 1, ratio: 1, code: 'abcd', pin: 'abc', one: [] });
    expect(response.json().detail).toEqual([
      { type: 'less_than', loc: ['body', 'ratio'], msg: 'Input should be less than 1', input: 1, ctx: { lt: 1 } },
      { type: 'string_too_long', loc: ['body', 'code'], msg: 'String should have at most 3 characters', input: 'abcd', ctx: { max_length: 3 } },
      { type: 'string_too_short', loc: ['body', 'pin'], msg: 'String should have at least 4 characters', input: 'abc', ctx: { min_length: 4 } },
      {
        type: 'too_short',
        loc: ['body', 'one'],
        msg: 'List should have at least 1 item after validation, not 0',
        ctx: { field_type: 'List', min_length: 1, actual_length: 0 },
      },
    ]);
  });

  it('tell a fractional number from a value that is no number at all for integer fields', async () => {
    const response = await post({ id: '7', tags: [1, 2.5, null, true] });
    expect(response.json().detail).toEqual([
      { type: 'int_type', loc: ['body', 'id'], msg: 'Input should be a valid integer', input: '7' },
      { type: 'int_from_float', loc: ['body', 'tags', 1], msg: 'Input should be a valid integer, got a number with a fractional part', input: 2.5 },
      { type: 'int_type', loc: ['body', 'tags', 2], msg: 'Input should be a valid integer', input: null },
      { type: 'int_type', loc: ['body', 'tags', 3], msg: 'Input should be a valid integer', input: true },
    ]);
  });

  it('unescape JSON-pointer segments (~1 is "/", ~0 is "~") and turn only all-digit segments into indexes', async () => {
    const tags = Array.from({ length: 12 }, (_, index) => (index === 11 ? 'eleven' : index));
    const response = await post({ id: 1, tags, nested: { 'a/b': 'x', 'c~d': 'y', '7up': 'z', up7: 'w' } });
    expect(response.json().detail.map((issue: { loc: unknown[] }) => issue.loc)).toEqual([
      ['body', 'tags', 11],
      ['body', 'nested', 'a/b'],
      ['body', 'nested', 'c~d'],
      ['body', 'nested', '7up'],
      ['body', 'nested', 'up7'],
    ]);
    // The echoed input is read at the unescaped location.
    expect(response.json().detail.map((issue: { input: unknown }) => issue.input)).toEqual(['eleven', 'x', 'y', 'z', 'w']);
    expect(response.json().message).toBe(
      'tags[11] must be a valid integer. nested.a/b must be a valid integer. nested.c~d must be a valid integer. nested.7up must be a valid integer. nested.up7 must be a valid integer.',
    );
  });

  it('say "Field required" for a missing field and for a missing body, located where it is missing', async () => {
    expect((await post({})).json()).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: 'id is required.',
      detail: [{ type: 'missing', loc: ['body', 'id'], msg: 'Field required' }],
    });
    const noBody = await app.inject({ method: 'POST', url: '/things' });
    expect(noBody.json()).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: 'body is required.',
      detail: [{ type: 'missing', loc: ['body'], msg: 'Field required' }],
    });
  });

  it('name the body as a whole when it is not an object', async () => {
    const response = await app.inject({ method: 'POST', url: '/things', payload: '[1]', headers: { 'content-type': 'application/json' } });
    expect(response.json()).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: 'body must be a valid dictionary or object to extract fields from.',
      detail: [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from' }],
    });
  });

  it('read one sentence per problem, without pydantic\'s "Input should" or "String/List should"', async () => {
    const response = await post({ id: 1, code: '', one: [1, 2], tier: 'x', tag: '1' });
    expect(response.json().message).toBe(
      "code must have at least 1 character. tier must be 'LOW', 'MEDIUM' or 'HIGH'. tag must match pattern \"^[a-z]+$\". one must have at most 1 item after validation, not 2.",
    );
  });

  it('locate query-string and path-parameter problems in their own part of the request, with the value echoed', async () => {
    const query = await app.inject({ method: 'GET', url: '/things?order=up' });
    expect(query.json().detail).toEqual([
      { type: 'literal_error', loc: ['querystring', 'order'], msg: "Input should be 'asc' or 'desc'", input: 'up', ctx: { expected: "'asc' or 'desc'" } },
    ]);
    expect(query.json().message).toBe("order must be 'asc' or 'desc'.");
    const params = await app.inject({ method: 'GET', url: '/items/1000' });
    expect(params.json().detail).toEqual([
      { type: 'string_too_long', loc: ['params', 'id'], msg: 'String should have at most 3 characters', input: '1000', ctx: { max_length: 3 } },
    ]);
  });

  it('report a value no member of a union of types takes as one problem, naming the types', async () => {
    const response = await post({ id: 1, choice: true, labels: { a: [1] } });
    expect(response.json()).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: 'labels.a must be a valid integer. choice must be of type string or integer.',
      detail: [
        { type: 'int_type', loc: ['body', 'labels', 'a'], msg: 'Input should be a valid integer' },
        { type: 'type_error', loc: ['body', 'choice'], msg: 'Input should be of type string or integer', input: true },
      ],
    });
  });

  it('report any other union no member matches once, by the union itself', async () => {
    const response = await post({ id: 1, either: 5 });
    expect(response.json().detail).toEqual([{ type: 'anyOf', loc: ['body', 'either'], msg: 'must match a schema in anyOf', input: 5 }]);
  });

  it('cut a made-up key short where it is shown, and still echo the value found under the whole key', async () => {
    const key = 'k'.repeat(100_000);
    const response = await post({ id: 1, labels: { [key]: 'x' } });
    expect(response.json()).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: `labels.${'k'.repeat(64)}… must be a valid integer.`,
      detail: [{ type: 'int_type', loc: ['body', 'labels', `${'k'.repeat(64)}…`], msg: 'Input should be a valid integer', input: 'x' }],
    });
  });

  it('list only as many problems as fit in a few kilobytes, and count the rest', async () => {
    const response = await post({ id: 1, tags: Array.from({ length: 30 }, (_, index) => `${index}`.padEnd(1_000, 'x')) });
    const body = response.json();
    expect(Buffer.byteLength(response.body)).toBeLessThan(4096);
    expect(body.detail.length).toBeLessThan(20);
    expect(body.detail.length + body.more_problems).toBe(30);
    expect(body.message).toMatch(new RegExp(`…and ${body.more_problems} more problems\\.$`));
  });

  it('take problems raised outside Ajv as body problems, with Ajv\'s keyword when nothing maps it and a fallback message', async () => {
    const response = await app.inject({ method: 'POST', url: '/custom-validation', payload: JSON.stringify({ list: [1, 1] }), headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({
      statusCode: 422,
      error: 'Unprocessable Entity',
      detail: [
        { type: 'uniqueItems', loc: ['body', 'list'], msg: 'Invalid value' },
        { type: 'missing', loc: ['body', 'name'], msg: 'Field required' },
      ],
    });
  });
});

describe('errors other than validation', () => {
  const errorLines = () => logs.filter((line) => line.level === 50);

  it('a client error of any library keeps its status and message, and is not logged as a fault', async () => {
    const before = errorLines().length;
    const teapot = await app.inject({ method: 'GET', url: '/fail/client' });
    expect([teapot.statusCode, teapot.json()]).toEqual([
      418,
      { statusCode: 418, error: "I'm a Teapot", message: 'I am a teapot, and I say so.', detail: 'I am a teapot, and I say so.' },
    ]);
    const unnamed = await app.inject({ method: 'GET', url: '/fail/unnamed-client' });
    expect([unnamed.statusCode, unnamed.json()]).toEqual([
      499,
      { statusCode: 499, error: 'Error', message: 'Client closed the request.', detail: 'Client closed the request.' },
    ]);
    expect(errorLines().length).toBe(before);
  });

  it.each([
    ['/fail/server', 503, 'Service Unavailable', 'Service Unavailable'],
    ['/fail/unnamed-server', 599, 'Error', 'Internal Server Error'],
    ['/fail/not-an-error-status', 500, 'Internal Server Error', 'Internal Server Error'],
    ['/fail/beyond', 500, 'Internal Server Error', 'Internal Server Error'],
    ['/fail/plain', 500, 'Internal Server Error', 'Internal Server Error'],
  ])('a server fault (%s) keeps a 5xx status, never shows internals, and is logged', async (url, statusCode, error, message) => {
    const before = errorLines().length;
    const response = await app.inject({ method: 'GET', url });
    expect([response.statusCode, response.json()]).toEqual([statusCode, { statusCode, error, message, detail: message }]);
    expect(errorLines().slice(before)).toEqual([expect.objectContaining({ msg: 'request failed', err: expect.objectContaining({ message: 'internal detail: /srv/app.ts:12' }) })]);
  });

  it('a service error answers with its status, headers and public message; only server faults are logged', async () => {
    const before = errorLines().length;
    const unauthorized = await app.inject({ method: 'GET', url: '/fail/unauthorized' });
    expect([unauthorized.statusCode, unauthorized.headers['www-authenticate'], unauthorized.json()]).toEqual([
      401,
      'Bearer realm="churn"',
      { statusCode: 401, error: 'Unauthorized', message: 'No valid API key.', detail: 'No valid API key.' },
    ]);
    const bad = await app.inject({ method: 'GET', url: '/fail/bad-request' });
    expect(bad.json()).toEqual({ statusCode: 400, error: 'Bad Request', message: 'That will not do.', detail: 'That will not do.' });
    expect(errorLines().length).toBe(before);

    const failed = await app.inject({ method: 'GET', url: '/fail/inference' });
    expect(failed.json()).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error', detail: 'Internal Server Error' });
    expect(errorLines().slice(before)).toEqual([
      expect.objectContaining({ msg: 'request failed', err: expect.objectContaining({ message: expect.stringContaining('Inference failed: tensor shape mismatch in /srv/model.onnx') }) }),
    ]);
  });
});

describe('an error body its response schema refuses', () => {
  it('is a generic 500, logged at error level with its cause, never the serializer\'s own answer', async () => {
    const response = await app.inject({ method: 'POST', url: '/mis-documented', payload: '{}', headers: { 'content-type': 'application/json' } });
    expect([response.statusCode, response.headers['content-type'], response.json()]).toEqual([
      500,
      'application/json; charset=utf-8',
      { statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error', detail: 'Internal Server Error' },
    ]);
    expect(logs.filter((line) => line.level === 50)).toEqual([
      expect.objectContaining({
        msg: 'request failed',
        err: expect.objectContaining({ message: expect.stringMatching(/^The 422 error body could not be serialized; answered 500 instead: .*"reason" is required/) }),
      }),
    ]);
  });
});

describe('404 and 405', () => {
  it.each([
    ['DELETE', '/things', 'POST, GET', 'Method DELETE is not allowed on /things; use POST or GET'],
    ['DELETE', '/things?order=asc', 'POST, GET', 'Method DELETE is not allowed on /things; use POST or GET'],
    ['POST', '/items/42', 'GET, PUT', 'Method POST is not allowed on /items/42; use GET or PUT'],
    ['POST', '/files/a/b.txt', 'GET', 'Method POST is not allowed on /files/a/b.txt; use GET'],
    ['POST', '/report.json', 'GET', 'Method POST is not allowed on /report.json; use GET'],
  ])('%s %s is 405 with Allow: %s (never HEAD or OPTIONS)', async (method, url, allow, message) => {
    const response = await app.inject({ method: method as 'POST', url });
    expect([response.statusCode, response.headers.allow, response.json()]).toEqual([
      405,
      allow,
      { statusCode: 405, error: 'Method Not Allowed', message, detail: message },
    ]);
  });

  it.each([
    ['POST', '/items/42/parts'],
    ['POST', '/items/'],
    ['POST', '/reportxjson'],
    ['DELETE', '/preflight-only'],
  ])('%s %s is 404: no route matches the path with another method', async (method, url) => {
    const response = await app.inject({ method: method as 'POST', url });
    const path = url.split('?')[0];
    expect([response.statusCode, response.headers.allow, response.json()]).toEqual([
      404,
      undefined,
      { statusCode: 404, error: 'Not Found', message: `Route ${method} ${path} not found`, detail: `Route ${method} ${path} not found` },
    ]);
  });

  it('echo a long path once in each field, cut short', async () => {
    const long = 'p'.repeat(32 * 1024);
    const unknown = await app.inject({ method: 'GET', url: `/${long}?q=1` });
    const notFound = `Route GET /${'p'.repeat(63)}… not found`;
    expect([unknown.statusCode, unknown.json()]).toEqual([404, { statusCode: 404, error: 'Not Found', message: notFound, detail: notFound }]);
    const wrongMethod = await app.inject({ method: 'POST', url: `/files/${long}` });
    const notAllowed = `Method POST is not allowed on /files/${'p'.repeat(57)}…; use GET`;
    expect([wrongMethod.statusCode, wrongMethod.json()]).toEqual([405, { statusCode: 405, error: 'Method Not Allowed', message: notAllowed, detail: notAllowed }]);
  });

  it('lists the methods a concrete path is served on', () => {
    expect(app.allowedMethods('/things')).toEqual(['POST', 'GET']);
    expect(app.allowedMethods('/items/7')).toEqual(['GET', 'PUT']);
    expect(app.allowedMethods('/preflight-only')).toEqual([]);
    expect(app.allowedMethods('/nowhere')).toEqual([]);
  });
});
