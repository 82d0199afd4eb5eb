import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';
import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler';

const eagerSerializers = SerializerSelector();
const eagerValidators = AjvCompiler();

/**
 * Fastify's own response serializers (fast-json-stringify over the route's schema and every shared
 * schema), each compiled when its route first answers with that status, not at start. Compiling
 * all of them up front (every route, status and content type, each resolving every shared schema
 * again) took about 0.8 s of a 2.9 s start's CPU (`node --cpu-prof`, 2026-12-02); the first answer
 * of each kind now pays its own few milliseconds instead. Answers are byte for byte the same.
 */
export const lazySerializers: SerializerFactory = (externalSchemas, serializerOptions) => {
  const compile = eagerSerializers(externalSchemas, serializerOptions);
  return (route) => {
    let serialize: ((data: unknown) => string) | undefined;
    return (data: unknown) => (serialize ??= compile(route))(data);
  };
};

type AjvValidate = ReturnType<ReturnType<ValidatorFactory>>;

/**
 * Fastify's own request validators (Ajv, with the options and shared schemas the app gives it), each
 * compiled on its route's first request for that part (body, querystring, params, headers), not at
 * start: Ajv compiling every route's schemas was the largest part of start-up left after the
 * serializers (about 170 ms of CPU profiled, 2026-12-02), most of it for routes a given deployment
 * never calls. A validator answers exactly as the eager one: the same result and the same
 * `errors`, which Fastify reads off the function after each call.
 */
export const lazyValidators: ValidatorFactory = (externalSchemas, options) => {
  const compile = eagerValidators(externalSchemas, options);
  return (route) => {
    let validate: AjvValidate | undefined;
    const lazy = ((...args: Parameters<AjvValidate>) => {
      validate ??= compile(route.httpPart === 'headers' ? { ...route, schema: lowerCaseHeaderNames(route.schema) } : route);
      const result = validate(...args);
      lazy.errors = validate.errors;
      return result;
    }) as AjvValidate;
    return lazy;
  };
};

/**
 * Node hands header names over in lower case; Fastify lowers a headers schema's names for its own
 * compiler, but not for a custom one like this, so this does it.
 */
function lowerCaseHeaderNames<Schema>(schema: Schema): Schema {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
  const { properties, required } = schema as { properties?: Record<string, unknown>; required?: unknown };
  return {
    ...schema,
    ...(properties && { properties: Object.fromEntries(Object.entries(properties).map(([name, part]) => [name.toLowerCase(), part])) }),
    ...(Array.isArray(required) && { required: required.map((name) => (typeof name === 'string' ? name.toLowerCase() : name)) }),
  };
}
