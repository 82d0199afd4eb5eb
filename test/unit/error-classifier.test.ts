import { describe, expect, it } from 'vitest';
import { classify, type RequestFacts, type ThrownError } from '../../src/error-classifier.js';
import {
  BadRequestError,
  InferenceFailedError,
  InvalidRowsError,
  ModelNotFoundError,
  ModelNotReadyError,
  RateLimitedError,
  UnauthorizedError,
  type RowIssue,
} from '../../src/errors.js';
import { MAX_DETAIL_ENTRIES, MAX_ISSUE_BYTES } from '../../src/validation-issues.js';

// Errors are built inside each test (the tables hold factories): code run while tests are collected
// runs before Stryker switches a mutant on.

const NO_FACTS: RequestFacts = { parts: {} };

/** An error as a library throws it: a plain Error, perhaps with a status code. */
function thrown(statusCode: number | undefined, message = 'internal detail: /srv/app.ts:12'): ThrownError {
  return Object.assign(new Error(message), statusCode === undefined ? {} : { statusCode });
}

const rowIssue = (row: number, feature: string, value: number): RowIssue => ({
  row,
  feature,
  problem: 'above_maximum',
  value,
  limit: 120,
  message: `row ${row}: ${feature} must be at most 120.`,
});

describe('classify: invalid input', () => {
  it('takes schema violations as invalid input, read in the part of the request they name, without a status or a log', () => {
    const error = Object.assign(new Error('querystring/order must be equal to one of the allowed values'), {
      validation: [{ keyword: 'enum', instancePath: '/order', schemaPath: '#/properties/order/enum', params: { allowedValues: ['asc', 'desc'] } }],
      validationContext: 'querystring',
    });
    expect(classify(error, { parts: { body: { order: 'body' }, querystring: { order: 'up' } } })).toEqual({
      kind: 'invalid-input',
      issues: [{ type: 'literal_error', loc: ['querystring', 'order'], msg: "Input should be 'asc' or 'desc'", input: 'up', ctx: { expected: "'asc' or 'desc'" } }],
      moreProblems: 0,
      message: "order must be 'asc' or 'desc'.",
    });
  });

  it('places violations without a context in the body', () => {
    const error = Object.assign(new Error('invalid'), { validation: [{ keyword: 'type', instancePath: '/id', params: { type: 'integer' } }] });
    expect(classify(error, { parts: { body: { id: 'seven' }, querystring: { id: 'query' } } })).toMatchObject({
      kind: 'invalid-input',
      issues: [{ type: 'int_type', loc: ['body', 'id'], input: 'seven' }],
      message: 'id must be a valid integer.',
    });
  });

  it('lists at most MAX_DETAIL_ENTRIES violations and counts the rest', () => {
    const error = Object.assign(new Error('invalid'), {
      validation: Array.from({ length: MAX_DETAIL_ENTRIES + 3 }, (_, index) => ({ keyword: 'required', instancePath: '', params: { missingProperty: `f${index}` } })),
    });
    const classification = classify(error, { parts: { body: {} } });
    expect(classification).toMatchObject({ kind: 'invalid-input', moreProblems: 3 });
    expect(classification.kind === 'invalid-input' && classification.issues).toHaveLength(MAX_DETAIL_ENTRIES);
    expect(classification.kind === 'invalid-input' && classification.message).toMatch(/^f0 is required\. .* f19 is required\. …and 3 more problems\.$/);
  });

  it('lists only the problems whose issues and sentences fit in MAX_ISSUE_BYTES, and counts the rest', () => {
    // Each echo is cut to 64 characters, but 64 control characters are 384 bytes of JSON.
    const body = { tags: Array.from({ length: MAX_DETAIL_ENTRIES }, () => '\u0001'.repeat(1_000)) };
    const error = Object.assign(new Error('invalid'), {
      validation: body.tags.map((_, index) => ({ keyword: 'type', instancePath: `/tags/${index}`, params: { type: 'integer' } })),
    });
    const classification = classify(error, { parts: { body } });
    if (classification.kind !== 'invalid-input') throw new Error('not invalid input');
    const listed = classification.issues.length;
    expect(listed).toBeGreaterThan(0);
    expect(listed).toBeLessThan(MAX_DETAIL_ENTRIES);
    expect(classification.moreProblems).toBe(MAX_DETAIL_ENTRIES - listed);
    expect(Buffer.byteLength(JSON.stringify(classification.issues)) + Buffer.byteLength(JSON.stringify(classification.message))).toBeLessThanOrEqual(MAX_ISSUE_BYTES + 100);
    expect(classification.message).toMatch(new RegExp(`…and ${MAX_DETAIL_ENTRIES - listed} more problems\\.$`));
  });

  it('always lists the first problem, however long its echoes', () => {
    const key = 'k'.repeat(100_000);
    const error = Object.assign(new Error('invalid'), { validation: [{ keyword: 'type', instancePath: `/${key}`, params: { type: 'integer' } }] });
    const classification = classify(error, { parts: { body: { [key]: 'v'.repeat(100_000) } } });
    expect(classification).toMatchObject({ kind: 'invalid-input', moreProblems: 0, issues: [{ loc: ['body', `${'k'.repeat(64)}…`], input: `${'v'.repeat(64)}…` }] });
    // A schema's own words can be long too (an enum of many values): the first problem is still listed.
    const allowedValues = Array.from({ length: 1_000 }, (_, index) => `value-${index}`);
    const enums = Object.assign(new Error('invalid'), {
      validation: [0, 1].map((index) => ({ keyword: 'enum', instancePath: `/${index}`, params: { allowedValues } })),
    });
    expect(classify(enums, { parts: { body: ['x', 'y'] } })).toMatchObject({ kind: 'invalid-input', moreProblems: 1, issues: [{ type: 'literal_error', input: 'x' }] });
  });

  it('takes rows the data plane refused as invalid input, located under the route\'s rows property, with the rows kept', () => {
    const issues = [rowIssue(1, 'tenure_months', 999)];
    const error = new InvalidRowsError(issues);
    expect(classify(error, { parts: {}, rowsAt: 'customers' })).toEqual({
      kind: 'invalid-input',
      issues: [{ type: 'less_than_equal', loc: ['body', 'customers', 1, 'tenure_months'], msg: 'Input should be less than or equal to 120', input: 999, ctx: { le: 120 } }],
      moreProblems: 0,
      message: 'customers[1].tenure_months must be less than or equal to 120.',
      rowIssues: issues,
    });
    expect(classify(new InvalidRowsError(issues), NO_FACTS)).toMatchObject({ issues: [{ loc: ['body', 'tenure_months'] }], message: 'tenure_months must be less than or equal to 120.' });
  });
});

describe('classify: service errors', () => {
  it.each([
    ['UnauthorizedError', () => new UnauthorizedError('No valid API key.', 'churn'), 401, { 'www-authenticate': 'Bearer realm="churn"' }, 'No valid API key.'],
    ['RateLimitedError', () => new RateLimitedError(60, 7), 429, { 'retry-after': '7' }, 'Rate limit of 60 requests per minute reached; retry in 7 s.'],
    ['ModelNotFoundError', () => new ModelNotFoundError("Model 'x' not found."), 404, {}, "Model 'x' not found."],
    ['BadRequestError', () => new BadRequestError('That will not do.'), 400, {}, 'That will not do.'],
  ] as const)('a %s answers with its status, its headers and its message, and is not logged', (_name, create, status, headers, publicMessage) => {
    expect(classify(create(), NO_FACTS)).toEqual({ kind: 'failure', status, headers, publicMessage });
  });

  it('a 5xx service error keeps its status, headers and public message, and is logged at error level with the error itself', () => {
    const notReady = new ModelNotReadyError();
    expect(classify(notReady, NO_FACTS)).toEqual({
      kind: 'failure',
      status: 503,
      headers: { 'retry-after': '1' },
      publicMessage: 'Model is not loaded yet; retry shortly.',
      log: { level: 'error', err: notReady },
    });
  });

  it('a failed inference shows only a generic message; the log gets the error and, through it, its cause', () => {
    const cause = new Error('tensor shape mismatch in /srv/model.onnx');
    const failed = new InferenceFailedError({ cause });
    const classification = classify(failed, NO_FACTS);
    expect(classification).toEqual({ kind: 'failure', status: 500, headers: {}, publicMessage: 'Internal Server Error', log: { level: 'error', err: failed } });
    expect(classification.kind === 'failure' && classification.log?.err.cause).toBe(cause);
  });
});

describe('classify: other errors', () => {
  it.each([
    [400, 'Body is not valid JSON.'],
    [418, 'I am a teapot, and I say so.'],
    [499, 'Client closed the request.'],
  ])('a library\'s client error (%i) keeps its status and message, asks for no headers and is not logged', (statusCode, message) => {
    expect(classify(thrown(statusCode, message), NO_FACTS)).toEqual({ kind: 'failure', status: statusCode, headers: {}, publicMessage: message });
  });

  it.each([
    [500, 500, 'Internal Server Error'],
    [503, 503, 'Service Unavailable'],
    [599, 599, 'Internal Server Error'],
    [600, 500, 'Internal Server Error'],
    [399, 500, 'Internal Server Error'],
    [302, 500, 'Internal Server Error'],
    [undefined, 500, 'Internal Server Error'],
  ])('an unexpected error with status code %s is a %i fault: a generic message, never its own, and logged with the error', (statusCode, status, publicMessage) => {
    const error = thrown(statusCode);
    expect(classify(error, NO_FACTS)).toEqual({ kind: 'failure', status, headers: {}, publicMessage, log: { level: 'error', err: error } });
  });
});
