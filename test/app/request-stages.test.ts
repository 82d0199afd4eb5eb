import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp({ LOG_LEVEL: 'debug' });
});
afterAll(async () => testApp.app.close());

const tensor = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 5], data: [2, 70.7, 151.65, 2, 0] }] };
const requestLine = (id: string) => testApp.logs.find((line) => line.reqId === id && line.msg === 'request completed');

describe('request stages: each request line says which model runs served it and where its time went', () => {
  it.each([
    ['/predict', VALID_CUSTOMER, false],
    ['/predict?explain=true', VALID_CUSTOMER, true],
    ['/predict/batch?explain=true', { customers: [VALID_CUSTOMER, VALID_CUSTOMER, VALID_CUSTOMER] }, true],
    ['/v2/models/churn/infer', tensor, false],
  ])('%s names its model run, version, queue and model time', async (url, body, explained) => {
    const id = `stages${url.replace(/[^a-z0-9]/gi, '-')}`;
    const response = await postJson(testApp.app, url, body, { 'x-request-id': id });
    expect(response.statusCode).toBe(200);
    const line = requestLine(id)!;
    expect(line).toMatchObject({ statusCode: 200, modelVersion: testApp.app.dataPlane.model!.version });
    expect(line.runIds).toEqual([expect.any(Number)]);
    expect(line.queueMs).toBeGreaterThanOrEqual(0);
    expect(line.modelMs).toBeGreaterThan(0);
    if (explained) expect(line.explainMs).toBeGreaterThan(0);
    else expect(line).not.toHaveProperty('explainMs');
    // The debug line of that run names this request.
    const run = testApp.logs.find((entry) => entry.msg === 'model run' && entry.runId === (line.runIds as number[])[0]);
    expect(run?.requestIds).toContain(id);
  });

  it('carries no stages for a request refused before the model', async () => {
    const response = await postJson(testApp.app, '/predict', { tenure_months: 999 }, { 'x-request-id': 'stages-refused' });
    expect(response.statusCode).toBe(422);
    const line = requestLine('stages-refused')!;
    for (const field of ['runIds', 'modelVersion', 'queueMs', 'modelMs', 'explainMs']) expect(line).not.toHaveProperty(field);
  });
});
