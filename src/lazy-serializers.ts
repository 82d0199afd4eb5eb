import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler';

const eagerFactory = SerializerSelector();

/**
 * Fastify's own response serializers (fast-json-stringify over the route's schema and every shared
 * schema), each compiled when its route first answers with that status, not at start. Compiling
 * all of them up front (every route, status and content type, each resolving every shared schema
 * again) took about 0.8 s of a 2.9 s start's CPU (`node --cpu-prof`, 2026-12-02); the first answer
 * of each kind now pays its own few milliseconds instead. Answers are byte for byte the same.
 */
export const lazySerializers: SerializerFactory = (externalSchemas, serializerOptions) => {
  const compile = eagerFactory(externalSchemas, serializerOptions);
  return (route) => {
    let serialize: ((data: unknown) => string) | undefined;
    return (data: unknown) => (serialize ??= compile(route))(data);
  };
};
