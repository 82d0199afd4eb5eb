import { Kind, Type, TypeRegistry, type SchemaOptions } from '@sinclair/typebox';

// TypeBox's own checks (Value.Check, Value.Errors) learn the kind here; Ajv reads the plain `enum`.
TypeRegistry.Set<{ enum: readonly unknown[] }>('StringEnum', (schema, value) => typeof value === 'string' && schema.enum.includes(value));

/**
 * A string that is one of `values`, as a JSON Schema `enum`: validation is the same as a union of
 * literals, but the docs show one enum instead of an `anyOf` of one-value constants.
 */
export function StringEnum<const Values extends readonly string[]>(values: Values, options?: SchemaOptions) {
  return Type.Unsafe<Values[number]>({ ...options, [Kind]: 'StringEnum', type: 'string', enum: [...values] });
}
