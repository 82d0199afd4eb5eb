import type { FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';

/**
 * A preValidation hook that refuses a body whose list at `property` is longer than `maxItems`
 * before validation: validating every item of a long list of bad items (all problems at once)
 * would cost far more than the request is worth. It is the same 422 `too_long` that validation gives.
 */
export function tooManyItems(property: string, maxItems: number) {
  return (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    const items = (request.body as Record<string, unknown> | null | undefined)?.[property];
    if (!Array.isArray(items) || items.length <= maxItems) return done();
    const validation: FastifySchemaValidationError[] = [
      { keyword: 'maxItems', instancePath: `/${property}`, schemaPath: `#/properties/${property}/maxItems`, params: { limit: maxItems }, message: `must NOT have more than ${maxItems} items` },
    ];
    done(Object.assign(new Error(`body/${property} must NOT have more than ${maxItems} items`), { validation, validationContext: 'body' }));
  };
}
