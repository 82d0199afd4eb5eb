import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXAMPLE_INFER_REQUEST, EXAMPLE_INFER_RESPONSE, EXAMPLE_MODEL_METADATA } from '../../src/schemas/examples.js';
import { versionedModels } from '../data-plane/model-fixtures.js';
import { buildTestApp, postJson, type TestApp } from '../helpers.js';

const { name: PACKAGE_NAME, version: PACKAGE_VERSION } = createRequire(import.meta.url)('../../package.json') as { name: string; version: string };
const signatureModel = (name: string) => fileURLToPath(new URL(`../fixtures/signature-models/${name}/churn_model.onnx`, import.meta.url));

const ONE_ROW = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 5], data: [2, 70.7, 151.65, 2, 0] }] };

// An app per test, not one for the file: Stryker switches a mutant on per test, so routes registered
// in a beforeAll would be the unmutated ones in every test (see test/MUTATION.md).
let testApp: TestApp;
beforeEach(async () => {
  testApp = await buildTestApp({ LOG_LEVEL: 'silent' });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await testApp.app.close();
});

const get = (url: string, app = testApp.app) => app.inject({ method: 'GET', url });

describe('Open Inference Protocol: server endpoints', () => {
  it('GET /v2 gives the server metadata', async () => {
    const response = await get('/v2');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ name: PACKAGE_NAME, version: PACKAGE_VERSION, extensions: [] });
  });

  it('GET /v2/health/live and /v2/health/ready answer 200 with the spec\'s bodies', async () => {
    expect((await get('/v2/health/live')).json()).toEqual({ live: true });
    const ready = await get('/v2/health/ready');
    expect([ready.statusCode, ready.json()]).toEqual([200, { ready: true }]);
  });

  it('is not ready (503) while draining, though it stays live', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent' });
    try {
      app.lifecycle.startDraining();
      const ready = await get('/v2/health/ready', app);
      expect([ready.statusCode, ready.json()]).toEqual([503, { ready: false }]);
      expect((await get('/v2/health/live', app)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('Open Inference Protocol: model endpoints', () => {
  it('gives the model metadata, unversioned and versioned, read from the session', async () => {
    for (const url of ['/v2/models/churn', '/v2/models/churn/versions/1.2.0']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      expect(response.json(), url).toEqual(EXAMPLE_MODEL_METADATA);
    }
  });

  it('says the model is ready, unversioned and versioned', async () => {
    for (const url of ['/v2/models/churn/ready', '/v2/models/churn/versions/1.2.0/ready']) {
      const response = await get(url);
      expect([response.statusCode, response.json()], url).toEqual([200, { name: 'churn', ready: true }]);
    }
  });

  it('answers 404 with {"error"} for an unknown model or version on every model route', async () => {
    const routes: [string, string][] = [
      ['GET', '/v2/models/fraud'],
      ['GET', '/v2/models/fraud/ready'],
      ['POST', '/v2/models/fraud/infer'],
      ['GET', '/v2/models/churn/versions/0.9.0'],
      ['GET', '/v2/models/churn/versions/0.9.0/ready'],
      ['POST', '/v2/models/churn/versions/0.9.0/infer'],
      ['GET', '/v2/models/Churn'],
    ];
    for (const [method, url] of routes) {
      const response = method === 'GET' ? await get(url) : await postJson(testApp.app, url, ONE_ROW);
      expect(response.statusCode, url).toBe(404);
      const { error } = response.json();
      expect(error, url).toMatch(url.includes('0.9.0') ? /^Model 'churn' has no version '0\.9\.0'; the version served is '1\.2\.0'\.$/ : /^Model '(fraud|Churn)' not found; this server serves 'churn'\.$/);
    }
  });

  it('serves the model under MODEL_NAME', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', MODEL_NAME: 'telco-churn' });
    try {
      expect((await get('/v2/models/telco-churn', app)).json()).toMatchObject({ name: 'telco-churn', versions: ['1.2.0'] });
      const inferred = await postJson(app, '/v2/models/telco-churn/infer', ONE_ROW);
      expect(inferred.json()).toMatchObject({ model_name: 'telco-churn', model_version: '1.2.0' });
      expect((await get('/v2/models/churn', app)).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('answers 503 on model routes once the data plane closes, and the model is not ready', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent' });
    try {
      await app.dataPlane.close();
      const metadata = await get('/v2/models/churn', app);
      expect([metadata.statusCode, metadata.headers['retry-after'], metadata.json()]).toEqual([503, '1', { error: 'The service is shutting down and takes no new predictions.' }]);
      const infer = await postJson(app, '/v2/models/churn/infer', ONE_ROW);
      expect(infer.statusCode).toBe(503);
      const ready = await get('/v2/models/churn/ready', app);
      expect([ready.statusCode, ready.json()]).toEqual([503, { name: 'churn', ready: false }]);
      expect((await get('/v2/health/ready', app)).statusCode).toBe(503);
    } finally {
      await app.close();
    }
  });

  it('describes the tensors of the model it loaded, not fixed names: renamed tensors', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', MODEL_PATH: signatureModel('renamed-tensors'), ALLOW_MODEL_WITHOUT_CARD: 'true' });
    try {
      const metadata = (await get('/v2/models/churn', app)).json();
      expect(metadata.versions).toEqual(['1.2.0-renamed']);
      expect(metadata.inputs.map((input: { name: string }) => input.name)).toEqual(['float_input']);
      expect(metadata.outputs).toEqual([
        { name: 'output_label', datatype: 'INT64', shape: [-1] },
        { name: 'output_probability', datatype: 'FP32', shape: [-1, 2] },
      ]);
      const renamed = { inputs: [{ ...EXAMPLE_INFER_REQUEST.inputs[0], name: 'float_input' }] };
      const response = (await postJson(app, '/v2/models/churn/infer', renamed)).json();
      expect(response.outputs).toEqual(EXAMPLE_INFER_RESPONSE.outputs.map((output) => ({ ...output, name: `output_${output.name === 'label' ? 'label' : 'probability'}` })));
      const wrongName = await postJson(app, '/v2/models/churn/infer', EXAMPLE_INFER_REQUEST);
      expect([wrongName.statusCode, wrongName.json().error]).toEqual([400, expect.stringContaining("one input, 'float_input' (FP32 [-1, 5]")]);
    } finally {
      await app.close();
    }
  });

  it('describes the tensors of the model it loaded: a model without a label output serves only probabilities', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', MODEL_PATH: signatureModel('probabilities-only'), ALLOW_MODEL_WITHOUT_CARD: 'true' });
    try {
      expect((await get('/v2/models/churn', app)).json().outputs).toEqual([{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }]);
      const response = (await postJson(app, '/v2/models/churn/infer', EXAMPLE_INFER_REQUEST)).json();
      expect(response.outputs).toEqual([EXAMPLE_INFER_RESPONSE.outputs[1]]);
      const asked = await postJson(app, '/v2/models/churn/infer', { ...EXAMPLE_INFER_REQUEST, outputs: [{ name: 'label' }] });
      expect([asked.statusCode, asked.json()]).toEqual([400, { error: "Unknown output 'label'; the model gives 'probabilities'." }]);
      // The churn API keeps working on such a model: it needs only P(churn).
      expect((await postJson(app, '/predict', { tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 })).json()).toMatchObject({ churn_probability: 0.6338 });
    } finally {
      await app.close();
    }
  });

  it('follows a reload: the new version serves, the old one is 404', async () => {
    const models = versionedModels(['1.0.0', '2.0.0']);
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', MODEL_PATH: models.paths[0]! });
    try {
      expect((await postJson(app, '/v2/models/churn/versions/1.0.0/infer', ONE_ROW)).statusCode).toBe(200);
      vi.spyOn(app.dataPlane, 'loadModel').mockImplementationOnce(async () => {
        vi.restoreAllMocks();
        return app.dataPlane.loadModel(models.paths[1]!);
      });
      await app.reloadModel('reload');
      expect((await postJson(app, '/v2/models/churn/versions/1.0.0/infer', ONE_ROW)).statusCode).toBe(404);
      const current = await postJson(app, '/v2/models/churn/versions/2.0.0/infer', ONE_ROW);
      expect([current.statusCode, current.json().model_version]).toEqual([200, '2.0.0']);
      expect((await get('/v2/models/churn', app)).json().versions).toEqual(['2.0.0']);
    } finally {
      await app.close();
      models.remove();
    }
  });

  it('refuses a versioned infer whose version was swapped out between the check and the run', async () => {
    const models = versionedModels(['1.0.0', '2.0.0']);
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent', MODEL_PATH: models.paths[0]! });
    try {
      const scoreOne = app.dataPlane.scoreOne.bind(app.dataPlane);
      vi.spyOn(app.dataPlane, 'scoreOne').mockImplementationOnce(async (row) => {
        await app.dataPlane.loadModel(models.paths[1]!);
        return scoreOne(row);
      });
      const response = await postJson(app, '/v2/models/churn/versions/1.0.0/infer', ONE_ROW);
      expect([response.statusCode, response.json()]).toEqual([404, { error: "Model 'churn' has no version '1.0.0'; the version served is '2.0.0'." }]);
    } finally {
      await app.close();
      models.remove();
    }
  });

  it('answers a wrong method with 405 and Allow, and an unknown /v2 route with 404, both as {"error"}', async () => {
    const wrongMethod = await get('/v2/models/churn/infer');
    expect([wrongMethod.statusCode, wrongMethod.headers.allow, wrongMethod.json()]).toEqual([405, 'POST', { error: 'Method GET is not allowed on /v2/models/churn/infer; use POST.' }]);
    const unknown = await get('/v2/repository/index');
    expect([unknown.statusCode, unknown.json()]).toEqual([404, { error: 'Route GET /v2/repository/index not found.' }]);
    // Outside /v2 the churn API's error shape is unchanged.
    expect((await get('/nowhere')).json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });
});

describe('Open Inference Protocol: the shared data plane', () => {
  it('coalesces concurrent single-row infer calls into shared model runs, each caller getting its own answer', async () => {
    const rows = Array.from({ length: 40 }, (_, index) => [index % 121, 20 + index, 20 * index, 1 + (index % 10), index % 2]);
    const alone = await Promise.all(rows.map(async (data) => (await postJson(testApp.app, '/v2/models/churn/infer', { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 5], data }] })).json()));
    const run = testApp.predict;
    run.mockClear();
    const together = await Promise.all(rows.map(async (data) => (await postJson(testApp.app, '/v2/models/churn/infer', { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 5], data }] })).json()));
    expect(together).toEqual(alone);
    expect(run.mock.calls.length).toBeLessThan(rows.length);
    expect(Math.max(...run.mock.calls.map((call) => call[1]))).toBeGreaterThan(1);
  });

  it('runs a multi-row infer as one model run', async () => {
    const run = testApp.predict;
    run.mockClear();
    expect((await postJson(testApp.app, '/v2/models/churn/infer', EXAMPLE_INFER_REQUEST)).statusCode).toBe(200);
    expect(run.mock.calls.map((call) => call[1])).toEqual([2]);
  });

  it('answers a failed model run with 500 and no internals', async () => {
    testApp.predict.mockRejectedValueOnce(new Error('secret detail at /srv/model.ts:1'));
    const response = await postJson(testApp.app, '/v2/models/churn/infer', ONE_ROW);
    expect([response.statusCode, response.json()]).toEqual([500, { error: 'Internal Server Error' }]);
  });

  it('counts its predictions in the metrics under protocol="v2", and its routes by pattern', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent' });
    try {
      await postJson(app, '/v2/models/churn/infer', EXAMPLE_INFER_REQUEST);
      await postJson(app, '/v2/models/churn/versions/1.2.0/infer', ONE_ROW);
      await postJson(app, '/predict', { tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 });
      const text = (await get('/metrics', app)).body;
      expect(text).toContain('churn_predictions_total{protocol="v2",model_name="churn",model_version="1.2.0",role="champion"} 3');
      expect(text).toContain('churn_predictions_total{protocol="churn",model_name="churn",model_version="1.2.0",role="champion"} 1');
      expect(text).toContain('http_requests_total{method="POST",route="/v2/models/:model_name/infer",status_code="200"} 1');
      expect(text).toContain('http_requests_total{method="POST",route="/v2/models/:model_name/versions/:model_version/infer",status_code="200"} 1');
    } finally {
      await app.close();
    }
  });

  it('counts its rows for drift monitoring like any other', async () => {
    const { app } = await buildTestApp({ LOG_LEVEL: 'silent' });
    try {
      await postJson(app, '/v2/models/churn/infer', EXAMPLE_INFER_REQUEST);
      expect((await app.driftReport()).window.rows).toBe(2);
    } finally {
      await app.close();
    }
  });
});
