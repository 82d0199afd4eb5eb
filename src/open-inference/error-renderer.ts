import type { ErrorRenderer } from '../error-handling.js';
import type { InferenceErrorResponse } from '../schemas/open-inference.js';
import { describeRowIssues } from './tensors.js';

/** The Open Inference Protocol's errors: a status and `{"error": "..."}`; invalid input is 400. */
export const openInferenceErrorRenderer: ErrorRenderer = {
  invalidInputStatus: 400,
  // Refused rows are named by row and column, as this protocol's tensors address them.
  invalidInputBody: ({ message, rowIssues }): InferenceErrorResponse => ({ error: rowIssues ? describeRowIssues(rowIssues) : message }),
  errorBody: (_statusCode, message): InferenceErrorResponse => ({ error: message }),
  routeMessageEnd: '.',
};
