import { STATUS_CODES } from './http-status.js';
import type { ErrorRenderer } from './error-handling.js';
import type { ErrorResponse, ValidationErrorResponse } from './schemas/errors.js';

/** `detail` repeats the message because FastAPI's HTTPException bodies carry only `detail`. */
export function errorBody(statusCode: number, message: string): ErrorResponse {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, detail: message };
}

/** The churn API's and the operations routes' bodies: those of the FastAPI service they replace. */
export const fastApiErrorRenderer: ErrorRenderer = {
  invalidInputStatus: 422,
  invalidInputBody: ({ issues, moreProblems, message }): ValidationErrorResponse => ({
    statusCode: 422,
    error: 'Unprocessable Entity',
    message,
    detail: issues,
    ...(moreProblems > 0 ? { more_problems: moreProblems } : {}),
  }),
  errorBody,
  routeMessageEnd: '',
};
