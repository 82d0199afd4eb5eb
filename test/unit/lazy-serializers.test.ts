import { describe, expect, it } from 'vitest';
import { lazySerializers } from '../../src/lazy-serializers.js';

const route = (schema: unknown) => ({ method: 'POST', url: '/x', httpStatus: '200', schema });
const externals = { Thing: { $id: 'Thing', type: 'object', properties: { name: { type: 'string' }, size: { type: 'number' } } } };

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
