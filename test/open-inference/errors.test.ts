import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, postJson, type TestApp } from '../helpers.js';

/**
 * The safety rules of errors in the /v2 scope: a server fault never shows its own message, and the
 * log keeps it at error level, tied to the request.
 */

const ONE_ROW = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 5], data: [2, 70.7, 151.65, 2, 0] }] };
const SECRET = 'secret detail at /srv/model.ts:1';

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp();
});
afterAll(async () => testApp.app.close());
afterEach(() => vi.restoreAllMocks());

/** Makes GET /v2/models/churn throw `error` from inside the /v2 scope's handler. */
function failModelLookup(error: Error) {
  vi.spyOn(testApp.app.dataPlane, 'resolve').mockImplementation(() => {
    throw error;
  });
}

/** The error-level lines logged while `send` ran. */
async function withErrorLines<T>(send: () => Promise<T>): Promise<[T, Record<string, unknown>[]]> {
  const from = testApp.logs.length;
  const result = await send();
  return [result, testApp.logs.slice(from).filter((line) => line.level === 50)];
}

describe('Open Inference Protocol: errors nobody expected', () => {
  it.each([
    [undefined, 500, 'Internal Server Error'],
    [500, 500, 'Internal Server Error'],
    [503, 503, 'Service Unavailable'],
    [599, 599, 'Internal Server Error'],
    [600, 500, 'Internal Server Error'],
    [302, 500, 'Internal Server Error'],
  ])('an error with status code %s is answered %i with a generic message, never its own, and logged at error level', async (statusCode, status, message) => {
    failModelLookup(Object.assign(new Error(SECRET), statusCode === undefined ? {} : { statusCode }));
    const [response, errorLines] = await withErrorLines(() => testApp.app.inject({ method: 'GET', url: '/v2/models/churn' }));
    expect([response.statusCode, response.json()]).toEqual([status, { error: message }]);
    expect(response.body).not.toContain('secret');
    // The fault with its stack, then the request's own line at error level with the cause in a few words.
    expect(errorLines).toEqual([
      expect.objectContaining({ msg: 'request failed', reqId: response.headers['x-request-id'], err: expect.objectContaining({ type: 'Error', message: SECRET }) }),
      expect.objectContaining({ msg: 'request completed', reqId: response.headers['x-request-id'], statusCode: status, reason: SECRET }),
    ]);
  });

  it('a library\'s client error keeps its status and message, and is not logged', async () => {
    failModelLookup(Object.assign(new Error('I am a teapot, and I say so.'), { statusCode: 418 }));
    const [response, errorLines] = await withErrorLines(() => testApp.app.inject({ method: 'GET', url: '/v2/models/churn' }));
    expect([response.statusCode, response.json()]).toEqual([418, { error: 'I am a teapot, and I say so.' }]);
    expect(errorLines).toEqual([]);
  });

  it('a failed model run is a 500 with a generic message; the log has the error and its cause', async () => {
    testApp.predict.mockRejectedValueOnce(new Error(SECRET));
    const [response, errorLines] = await withErrorLines(() => postJson(testApp.app, '/v2/models/churn/infer', ONE_ROW));
    expect([response.statusCode, response.json()]).toEqual([500, { error: 'Internal Server Error' }]);
    expect(errorLines).toEqual([
      expect.objectContaining({
        msg: 'request failed',
        reqId: response.headers['x-request-id'],
        err: expect.objectContaining({ type: 'InferenceFailedError', stack: expect.stringContaining(`caused by: Error: ${SECRET}`) }),
      }),
      expect.objectContaining({ msg: 'request completed', reqId: response.headers['x-request-id'], statusCode: 500, reason: `Inference failed: ${SECRET}` }),
    ]);
  });

  it('invalid input is a 400 and not logged as a fault', async () => {
    const [response, errorLines] = await withErrorLines(() => postJson(testApp.app, '/v2/models/churn/infer', { inputs: [] }));
    expect(response.statusCode).toBe(400);
    expect(errorLines).toEqual([]);
  });
});
