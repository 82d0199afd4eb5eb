import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ExplanationUnavailableError,
  InferenceFailedError,
  InvalidRowsError,
  ModelLoadError,
  ModelNotFoundError,
  ModelNotReadyError,
  RateLimitedError,
  ServiceClosingError,
  ServiceError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  type RowIssue,
} from '../../src/errors.js';

const ISSUES: RowIssue[] = [
  { row: 0, feature: 'tenure_months', problem: 'below_minimum', value: -1, limit: 0, message: 'row 0: tenure_months must be greater than or equal to 0, got -1.' },
  { row: 1, feature: 'num_products', problem: 'not_an_integer', value: 1.5, message: 'row 1: num_products must be an integer, got 1.5.' },
];

describe('the service error family', () => {
  it.each([
    ['ModelNotReadyError', () => new ModelNotReadyError(), 503, { 'retry-after': '1' }, 'Model is not loaded yet; retry shortly.'],
    ['ServiceClosingError', () => new ServiceClosingError(), 503, { 'retry-after': '1' }, 'The service is shutting down and takes no new predictions.'],
    ['ModelNotFoundError', () => new ModelNotFoundError("Model 'x' not found."), 404, {}, "Model 'x' not found."],
    [
      'InvalidRowsError',
      () => new InvalidRowsError(ISSUES),
      422,
      {},
      'row 0: tenure_months must be greater than or equal to 0, got -1. row 1: num_products must be an integer, got 1.5.',
    ],
    [
      'ExplanationUnavailableError',
      () => new ExplanationUnavailableError('1.1.0', 'it has no tree ensemble'),
      400,
      {},
      'Explanations are not available for model 1.1.0: it has no tree ensemble. Ask without explain=true.',
    ],
    ['ModelLoadError', () => new ModelLoadError('Model not found at /x.onnx'), 422, {}, 'Model not found at /x.onnx'],
    ['UnauthorizedError', () => new UnauthorizedError('No valid API key.', 'admin'), 401, { 'www-authenticate': 'Bearer realm="admin"' }, 'No valid API key.'],
    ['BadRequestError', () => new BadRequestError('Body is not valid JSON.'), 400, {}, 'Body is not valid JSON.'],
    ['UnsupportedMediaTypeError', () => new UnsupportedMediaTypeError('Only JSON.'), 415, {}, 'Only JSON.'],
    ['RateLimitedError', () => new RateLimitedError(60, 7), 429, { 'retry-after': '7' }, 'Rate limit of 60 requests per minute reached; retry in 7 s.'],
  ] as const)('%s means %i, asks for its headers and shows its message', (name, create, statusCode, headers, message) => {
    // Built inside the test, not in the table: code that runs while tests are collected runs before
    // Stryker switches a mutant on, so errors built there could never show one.
    const error = create();
    expect(error).toBeInstanceOf(ServiceError);
    expect({ name: error.name, statusCode: error.statusCode, headers: error.headers, message: error.message, publicMessage: error.publicMessage }).toEqual({
      name,
      statusCode,
      headers,
      message,
      publicMessage: message,
    });
    expect(String(error)).toBe(`${name}: ${message}`);
  });

  it('a failed inference keeps its cause for the log and shows the caller nothing of it', () => {
    const cause = new Error('input dims mismatch at /srv/model.onnx');
    const error = new InferenceFailedError({ cause });
    expect({ name: error.name, statusCode: error.statusCode, headers: error.headers }).toEqual({ name: 'InferenceFailedError', statusCode: 500, headers: {} });
    expect(error.message).toBe('Inference failed: input dims mismatch at /srv/model.onnx');
    expect(error.cause).toBe(cause);
    expect(error.publicMessage).toBe('Internal Server Error');
    expect(new InferenceFailedError({ cause: 'a string thrown' }).message).toBe('Inference failed: a string thrown');
  });

  it('invalid rows keep every issue', () => {
    expect(new InvalidRowsError(ISSUES).issues).toEqual(ISSUES);
  });
});
