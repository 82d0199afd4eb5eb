import { Type, type SchemaOptions } from '@sinclair/typebox';

/**
 * A string that is one of `values`, as a JSON Schema `enum`: validation is the same as a union of
 * literals, but the docs show one enum instead of an `anyOf` of one-value constants.
 */
export function StringEnum<const Values extends readonly string[]>(values: Values, options?: SchemaOptions) {
  return Type.Unsafe<Values[number]>({ ...options, type: 'string', enum: [...values] });
}
