import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { vi } from 'vitest';
import { buildApp, type AppOptions } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { loadChurnModel, type ModelOptions } from '../src/data-plane/churn-model.js';
import type { Model, ModelLoader } from '../src/data-plane/model.js';
import { modelOptions } from '../src/plugins/data-plane.js';
import { EXAMPLE_CUSTOMER } from '../src/schemas/customer-features.js';

export const VALID_CUSTOMER = {
  tenure_months: EXAMPLE_CUSTOMER.tenure_months,
  monthly_charges: EXAMPLE_CUSTOMER.monthly_charges,
  total_charges: EXAMPLE_CUSTOMER.total_charges,
  num_products: EXAMPLE_CUSTOMER.num_products,
  has_support_calls: EXAMPLE_CUSTOMER.has_support_calls,
};

/**
 * A loader of the real churn models whose every run passes through one spy, so a test can count
 * the runs, read their rows, or make one fail (`predict.mockRejectedValueOnce(...)`). By default
 * the spy runs the model that was asked.
 */
export function spiedChurnModels(options: ModelOptions = { intraOpThreads: 1 }) {
  const predict = vi.fn(function (this: Model, features: Float32Array, rows: number) {
    return this.predict(features, rows);
  });
  const loader: ModelLoader = async (path) => {
    const model = await loadChurnModel(path, options);
    return { ...model, predict: (features, rows) => predict.call(model, features, rows) };
  };
  return { loader, predict };
}

export interface TestApp {
  app: FastifyInstance;
  logs: Record<string, unknown>[];
  /** Every model run of this app, whichever model it loaded (see spiedChurnModels). */
  predict: ReturnType<typeof spiedChurnModels>['predict'];
}

/**
 * A ready app with the bundled model, configured like production unless `env` says otherwise;
 * `options` adds what production wires in code (an outcome source for the performance report, paired scores for the comparison).
 */
export async function buildTestApp(env: Record<string, string> = {}, options: Pick<AppOptions, 'performanceSource' | 'comparisonSource'> = {}): Promise<TestApp> {
  const logs: Record<string, unknown>[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  // The prediction log is on, as in production, in a data directory of this app's own (unless the
  // test names one): no test writes ./data in the repository. Closing the app removes it.
  const dataDir = env.DATA_DIR === undefined ? mkdtempSync(join(tmpdir(), 'churn-test-data-')) : undefined;
  const config = loadConfig({ LOG_LEVEL: 'info', ...(dataDir ? { DATA_DIR: dataDir } : {}), ...env });
  const models = spiedChurnModels(modelOptions(config));
  const app = await buildApp({ config, logStream, modelLoader: models.loader, ...options });
  // onClose hooks run last-added first: this one runs before the prediction log's store has closed,
  // so its background thread may still add a file while the directory goes; rmSync retries that.
  if (dataDir) app.addHook('onClose', async () => rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }));
  try {
    await app.ready();
  } catch (error) {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return { app, logs, predict: models.predict };
}

export function postJson(app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, payload: JSON.stringify(payload), headers: { 'content-type': 'application/json', ...headers } });
}
