import { Type, type Static } from '@sinclair/typebox';

/** The shape FastAPI clients already parse: one entry per problem. */
export const ValidationIssue = Type.Object({
  type: Type.String({ examples: ['less_than_equal'] }),
  loc: Type.Array(Type.Union([Type.String(), Type.Integer()]), { examples: [['body', 'tenure_months']] }),
  msg: Type.String({ examples: ['Input should be less than or equal to 120'] }),
  input: Type.Optional(
    Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()], {
      description: 'The offending value when it is a scalar; strings longer than 64 characters are cut to 64 and end in "…". Objects and arrays are not echoed.',
      examples: [999],
    }),
  ),
  ctx: Type.Optional(
    Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]), {
      description: 'The limit that was broken, as pydantic names it.',
      examples: [{ le: 120 }],
    }),
  ),
});
export type ValidationIssue = Static<typeof ValidationIssue>;

export const ValidationErrorResponse = Type.Object(
  {
    statusCode: Type.Literal(422),
    error: Type.Literal('Unprocessable Entity'),
    message: Type.String({ examples: ['tenure_months must be less than or equal to 120.'] }),
    detail: Type.Array(ValidationIssue, { maxItems: 20, description: 'One entry per problem, at most 20.' }),
    more_problems: Type.Optional(Type.Integer({ minimum: 1, description: 'Problems found beyond the 20 listed.' })),
  },
  { $id: 'ValidationErrorResponse', title: 'ValidationErrorResponse' },
);
export type ValidationErrorResponse = Static<typeof ValidationErrorResponse>;

export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String(),
    message: Type.String(),
    detail: Type.String({ description: 'The message again, where FastAPI clients read it.' }),
  },
  { $id: 'ErrorResponse', title: 'ErrorResponse' },
);
export type ErrorResponse = Static<typeof ErrorResponse>;
