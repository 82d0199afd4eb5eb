import { Type, type SchemaOptions, type Static, type TSchema } from '@sinclair/typebox';

/**
 * A `$ref` to a schema registered once with `app.addSchema`, typed as the schema it points to, so
 * routes infer their body and reply types and the docs name the component instead of inlining it.
 */
export function sharedRef<T extends TSchema>(schema: T, options?: SchemaOptions) {
  if (!schema.$id) throw new Error('sharedRef needs a schema with an $id');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id, options));
}

/**
 * A JSON response for the OpenAPI document and the serializer: a shared schema by `$ref`, with a
 * description and an example body. (An example beside a `$ref` would be dropped by the docs.)
 */
export function jsonResponse<T extends TSchema>(schema: T, description: string, example?: Static<T>) {
  return {
    description,
    content: { 'application/json': { schema: sharedRef(schema), ...(example === undefined ? {} : { example }) } },
  };
}
