import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { describe, expect, it, vi } from 'vitest';
import { buildTestApp } from '../helpers.js';

/** Every validator and serializer the app asked for, compiled at once instead of on first use. */
const compiled = vi.hoisted(() => ({ validators: [] as string[], serializers: [] as string[] }));

vi.mock('../../src/lazy-compilers.js', () => {
  const validators = AjvCompiler();
  const serializers = SerializerSelector();
  return {
    lazyValidators: ((externals, options) => {
      const compile = validators(externals, options);
      return (route) => {
        compiled.validators.push(`${route.method} ${route.url} ${route.httpPart}`);
        return compile(route);
      };
    }) satisfies typeof import('../../src/lazy-compilers.js').lazyValidators,
    lazySerializers: ((externals, options) => {
      const compile = serializers(externals, options);
      return (route) => {
        compiled.serializers.push(`${route.method} ${route.url} ${route.httpStatus}`);
        return compile(route);
      };
    }) satisfies typeof import('../../src/lazy-compilers.js').lazySerializers,
  };
});

describe("every route's schemas", () => {
  // The service compiles them on first use (src/lazy-compilers.ts), so a schema no test requests
  // would fail only in production, on its first request: here every one compiles, at once.
  it('compile, for requests and for answers, with every feature on', async () => {
    const { app } = await buildTestApp({ API_KEYS: 'test-key-0123456789', ADMIN_TOKEN: 'admin-token-0123456789', RATE_LIMIT_PER_MINUTE: '1000' });
    try {
      expect(compiled.validators).toEqual(expect.arrayContaining(['POST /predict body', 'POST /predict/batch body', 'POST /predict querystring']));
      expect(compiled.serializers).toEqual(expect.arrayContaining(['POST /predict 200', 'POST /predict 422', 'GET /health/ready 503']));
      expect(compiled.validators.length + compiled.serializers.length).toBeGreaterThan(50);
    } finally {
      await app.close();
    }
  });
});
