import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FEATURE_NAMES } from '../../src/schemas/customer-features.js';
import { EXAMPLE_CUSTOMER } from '../../src/schemas/examples.js';
import { writeModelVersion } from '../data-plane/model-fixtures.js';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

const UNEXPLAINABLE = fileURLToPath(new URL('../fixtures/unexplainable-models/', import.meta.url));
const logit = (p: number) => Math.log(p / (1 - p));

interface Explained {
  churn_probability: number;
  explanation: {
    base_value: number;
    contributions: { feature: string; value: number; shap: number }[];
    reasons: { feature: string; shap: number; phrase: string }[];
  };
}

function customers(count: number) {
  return Array.from({ length: count }, (_, index) => ({
    customer_id: `x-${index}`,
    tenure_months: (index * 11) % 121,
    monthly_charges: (index * 37.5) % 500,
    total_charges: (index * 991) % 9000,
    num_products: 1 + (index % 10),
    has_support_calls: index % 2,
  }));
}

let testApp: TestApp;
/** The same service with STRICT_TYPES=true, where explain is exactly 'true' or 'false'. */
let strictApp: TestApp;
beforeAll(async () => {
  [testApp, strictApp] = await Promise.all([buildTestApp(), buildTestApp({ STRICT_TYPES: 'true' })]);
});
afterAll(async () => Promise.all([testApp.app.close(), strictApp.app.close()]));

const explained = (body: unknown) => postJson(testApp.app, '/predict?explain=true', body);

describe('POST /predict?explain=true', () => {
  it('adds the SHAP value of every feature, in column order, and the top reasons', async () => {
    const response = await explained(EXAMPLE_CUSTOMER);
    expect(response.statusCode).toBe(200);
    const body = response.json() as Explained;
    expect(body.explanation.base_value).toBe(-1.4131);
    expect(body.explanation.contributions.map((contribution) => [contribution.feature, contribution.value])).toEqual(FEATURE_NAMES.map((name) => [name, EXAMPLE_CUSTOMER[name]]));
    for (const { shap } of body.explanation.contributions) expect(Math.round(shap * 10_000) / 10_000).toBe(shap);
    // Local accuracy: base value plus the contributions is the prediction's log-odds (4-decimal rounding apart).
    const total = body.explanation.contributions.reduce((sum, contribution) => sum + contribution.shap, body.explanation.base_value);
    expect(Math.abs(total - logit(body.churn_probability))).toBeLessThan(0.002);
    // A 2-month customer: short tenure is the strongest reason.
    expect(body.explanation.reasons[0]).toEqual({ feature: 'tenure_months', shap: expect.any(Number), phrase: "a tenure of 2 months raises the churn risk above the average customer's" });
  });

  it('lists at most 3 reasons, only positive ones, strongest first, each matching its contribution', async () => {
    for (const customer of customers(40)) {
      const { explanation } = (await explained(customer)).json() as Explained;
      const positive = explanation.contributions.filter((contribution) => contribution.shap > 0).sort((a, b) => b.shap - a.shap);
      expect(explanation.reasons.map((reason) => reason.feature)).toEqual(positive.slice(0, 3).map((contribution) => contribution.feature));
      for (const reason of explanation.reasons) {
        expect(reason.shap).toBe(explanation.contributions.find((contribution) => contribution.feature === reason.feature)!.shap);
        expect(reason.phrase).toMatch(/ raises the churn risk above the average customer's$/);
      }
    }
  });

  it('says what a reason raises the risk above: the average customer\'s, even for a customer far below the average', async () => {
    const loyal = { tenure_months: 72, monthly_charges: 20, total_charges: 1440, num_products: 5, has_support_calls: 1 };
    const body = (await explained(loyal)).json() as Explained;
    expect(body.churn_probability).toBeLessThan(0.05);
    // base_value is the average customer's log-odds; this customer is far below it, yet has reasons.
    expect(logit(body.churn_probability)).toBeLessThan(body.explanation.base_value);
    expect(body.explanation.reasons.map((reason) => reason.phrase)).toEqual([
      "having the tech-support add-on raises the churn risk above the average customer's",
      "having 5 products and services raises the churn risk above the average customer's",
    ]);
  });

  it.each([
    ['tenure_months', 1, 'a tenure of 1 month'],
    ['tenure_months', 2, 'a tenure of 2 months'],
    ['monthly_charges', 99.5, 'a monthly charge of $99.50'],
    ['total_charges', 1234, '$1234.00 charged so far'],
    ['num_products', 1, 'having 1 product or service'],
    ['num_products', 3, 'having 3 products and services'],
    ['has_support_calls', 0, 'having no tech-support add-on'],
    ['has_support_calls', 1, 'having the tech-support add-on'],
  ] as const)('words %s = %d as "%s", raising the risk above the average customer\'s', async (feature, value, words) => {
    const { reasonPhrase } = await import('../../src/churn-api/explanations.js');
    expect(reasonPhrase(feature, value)).toBe(`${words} raises the churn risk above the average customer's`);
  });

  it('leaves the answer byte for byte as it was without explain=true', async () => {
    const plain = await postJson(testApp.app, '/predict', EXAMPLE_CUSTOMER);
    const explicitFalse = await postJson(testApp.app, '/predict?explain=false', EXAMPLE_CUSTOMER);
    expect(plain.body).toBe('{"churn_probability":0.6338,"churn_prediction":true,"risk_tier":"MEDIUM","model_version":"1.2.0","customer_id":"9237-HQITU"}');
    expect(explicitFalse.body).toBe(plain.body);
    const withExplanation = (await explained(EXAMPLE_CUSTOMER)).json();
    const { explanation: _explanation, ...rest } = withExplanation;
    expect(JSON.stringify(rest)).toBe(plain.body);
  });

  it('refuses a value of explain FastAPI does not read as a bool with 422 bool_parsing', async () => {
    const response = await postJson(testApp.app, '/predict?explain=maybe', EXAMPLE_CUSTOMER);
    expect(response.statusCode).toBe(422);
    expect(response.json()).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: 'explain must be a valid boolean, unable to interpret input.',
      detail: [{ type: 'bool_parsing', loc: ['querystring', 'explain'], msg: 'Input should be a valid boolean, unable to interpret input', input: 'maybe' }],
    });
  });

  it('with STRICT_TYPES, refuses another value of explain than true or false with 422', async () => {
    const response = await postJson(strictApp.app, '/predict?explain=yes', EXAMPLE_CUSTOMER);
    expect(response.statusCode).toBe(422);
    expect(response.json()).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: "explain must be 'true' or 'false'.",
      detail: [{ type: 'literal_error', loc: ['querystring', 'explain'], msg: "Input should be 'true' or 'false'", input: 'yes', ctx: { expected: "'true' or 'false'" } }],
    });
  });

  it('explains each row of a batch as /predict explains it alone', async () => {
    const many = customers(25);
    const batch = (await postJson(testApp.app, '/predict/batch?explain=true', { customers: many })).json() as { predictions: Explained[] };
    const alone = await Promise.all(many.map(async (customer) => (await explained(customer)).json()));
    expect(batch.predictions).toEqual(alone);
  });

  it("serialises an explained batch with the route's response schema, not JSON.stringify", async () => {
    const body = JSON.stringify({ customers: customers(5) });
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      const response = await testApp.app.inject({ method: 'POST', url: '/predict/batch?explain=true', payload: body, headers: { 'content-type': 'application/json' } });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ batch_size: 5, predictions: expect.arrayContaining([expect.objectContaining({ explanation: expect.any(Object) })]) });
      const answers = stringify.mock.calls.filter(([value]) => typeof value === 'object' && value !== null && ('predictions' in value || 'explanation' in value || 'contributions' in value));
      expect(answers).toEqual([]);
    } finally {
      stringify.mockRestore();
    }
  });

  it('explains a micro-batched prediction exactly as the same row served alone', async () => {
    const solo = await buildTestApp({ MICRO_BATCHING: 'false' });
    try {
      const many = customers(60);
      const coalesced = await Promise.all(many.map(async (customer) => (await explained(customer)).json()));
      const single = [];
      for (const customer of many) single.push((await postJson(solo.app, '/predict?explain=true', customer)).json());
      expect(coalesced).toEqual(single);
    } finally {
      await solo.app.close();
    }
  });
});

describe('a model that cannot be explained', () => {
  it.each([
    ['no-covers', '1.2.0-no-covers', 'the model has no training covers (nodes_hitrates), which exact TreeSHAP needs'],
    ['linear', '0.1.0-linear', 'the model is not a single TreeEnsembleClassifier'],
  ])('%s still predicts, and answers explain=true with a clear 400', async (directory, version, reason) => {
    const { app } = await buildTestApp({ MODEL_PATH: join(UNEXPLAINABLE, directory, 'churn_model.onnx'), ALLOW_MODEL_WITHOUT_CARD: 'true' });
    try {
      const plain = await postJson(app, '/predict', VALID_CUSTOMER);
      expect(plain.statusCode).toBe(200);
      expect(plain.json().model_version).toBe(version);
      for (const url of ['/predict?explain=true', '/predict/batch?explain=true']) {
        const response = await postJson(app, url, url.includes('batch') ? { customers: [VALID_CUSTOMER] } : VALID_CUSTOMER);
        expect(response.statusCode, url).toBe(400);
        expect(response.json().message).toBe(`Explanations are not available for model ${version}: ${reason}. Ask without explain=true.`);
      }
      expect((await app.inject({ method: 'GET', url: '/model' })).json()).toMatchObject({ model_version: version, explanations: { available: false, unavailable_reason: reason }, card: null });
    } finally {
      await app.close();
    }
  });

  it('swaps the explainer with the model on reload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'churn-explainer-'));
    const token = 'admin-token-0123456789';
    try {
      writeModelVersion(join(dir, 'churn_model.onnx'), '1.0.0', join(UNEXPLAINABLE, 'no-covers', 'churn_model.onnx'));
      const { app } = await buildTestApp({ MODEL_PATH: join(dir, 'churn_model.onnx'), ADMIN_TOKEN: token, ALLOW_MODEL_WITHOUT_CARD: 'true' });
      try {
        expect((await postJson(app, '/predict?explain=true', VALID_CUSTOMER)).statusCode).toBe(400);
        writeModelVersion(join(dir, 'churn_model.onnx'), '1.2.0');
        expect((await app.inject({ method: 'POST', url: '/admin/reload', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
        const response = await postJson(app, '/predict?explain=true', VALID_CUSTOMER);
        expect(response.statusCode).toBe(200);
        expect(response.json()).toMatchObject({ model_version: '1.2.0', explanation: { base_value: -1.4131 } });
      } finally {
        await app.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the OpenAPI document', () => {
  it('documents explain and the explanation', async () => {
    const spec = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    // No schema default: Swagger UI would send it with every Try it out (see test/app/docs.test.ts).
    expect(spec.paths['/predict'].post.parameters).toEqual([expect.objectContaining({ in: 'query', name: 'explain', schema: { type: 'boolean' } })]);
    const strictSpec = (await strictApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(strictSpec.paths['/predict'].post.parameters).toEqual([expect.objectContaining({ in: 'query', name: 'explain', schema: expect.objectContaining({ enum: ['true', 'false'] }) })]);
    expect(spec.components.schemas.Explanation.properties).toHaveProperty('reasons');
    expect(JSON.stringify(spec.components.schemas.PredictionResponse)).toContain('Explanation');
    expect(readFileSync(new URL('../../models/model_card.json', import.meta.url), 'utf8')).toContain('SHAP values explain the model');
  });
});
