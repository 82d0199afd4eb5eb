import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazySerializers, lazyValidators } from '../../src/lazy-compilers.js';

const route = (schema: unknown) => ({ method: 'POST', url: '/x', httpStatus: '200', schema });
const externals = { Thing: { $id: 'Thing', type: 'object', properties: { name: { type: 'string' }, size: { type: 'number' } } } };
const ajvOptions = { customOptions: { allErrors: true, coerceTypes: false }, plugins: [] };

describe('lazySerializers', () => {
  it('compiles a route serializer on its first use, not when Fastify asks for it at start', () => {
    const compiler = lazySerializers(externals, {});
    // A reference to a schema nobody registered: compiling it throws, so asking for it must not compile.
    const serialize = compiler(route({ type: 'object', properties: { thing: { $ref: 'Missing' } } }));
    expect(() => serialize({ thing: {} })).toThrow();
  });

  it("serialises as Fastify's own serializer does: by the schema, shared schemas included, unknown properties left out", () => {
    const serialize = lazySerializers(externals, {})(route({ type: 'object', properties: { thing: { $ref: 'Thing' }, count: { type: 'integer' } } }));
    expect(serialize({ thing: { name: 'a"b', size: 0.1234, secret: 1 }, count: 2, extra: true })).toBe('{"thing":{"name":"a\\"b","size":0.1234},"count":2}');
    expect(serialize({ thing: { name: 'c', size: -1 }, count: 3 })).toBe('{"thing":{"name":"c","size":-1},"count":3}');
  });
});

describe('lazyValidators', () => {
  const validatorFor = (schema: unknown, httpPart = 'body') => lazyValidators(externals, ajvOptions)({ schema, method: 'POST', url: '/x', httpPart } as never);

  it('compiles a route validator on its first use, not when Fastify asks for it at start', () => {
    const validate = validatorFor({ type: 'object', properties: { thing: { $ref: 'Missing' } } });
    expect(() => validate({ thing: {} })).toThrow(/Missing/);
  });

  it("answers as Ajv does, shared schemas included, with every problem in the function's errors after each call", () => {
    const validate = validatorFor({ type: 'object', required: ['thing'], properties: { thing: { $ref: 'Thing' }, count: { type: 'integer' } } });
    expect(validate({ thing: { name: 'a', size: 1 }, count: 2 })).toBe(true);
    expect(validate.errors).toBeNull();
    expect(validate({ thing: { name: 1, size: 'big' }, count: 2.5 })).toBe(false);
    expect(validate.errors?.map((error) => `${error.instancePath} ${error.keyword}`).sort()).toEqual(['/count type', '/thing/name type', '/thing/size type']);
    expect(validate({ thing: { name: 'b', size: 2 } })).toBe(true);
    expect(validate.errors).toBeNull();
  });

  it('reads header names in lower case, as Node gives them', () => {
    const validate = validatorFor({ type: 'object', required: ['X-Tenant'], properties: { 'X-Tenant': { type: 'string', minLength: 2 } } }, 'headers');
    expect(validate({ 'x-tenant': 'ab' })).toBe(true);
    expect(validate({ 'x-tenant': 'a' })).toBe(false);
    expect(validate({})).toBe(false);
  });

  it('validates requests in an app the same as before: 400 with the problem, 200 without', async () => {
    const app = Fastify({ schemaController: { compilersFactory: { buildValidator: lazyValidators } } });
    app.post('/x', { schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } }, async (request) => request.body);
    const bad = await app.inject({ method: 'POST', url: '/x', payload: { n: 'one' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toBe('body/n must be integer');
    const good = await app.inject({ method: 'POST', url: '/x', payload: { n: 1 } });
    expect(good.json()).toEqual({ n: 1 });
    await app.close();
  });
});
