import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { EXAMPLE_CUSTOMER } from '../src/schemas/customer-features.js';

export const VALID_CUSTOMER = {
  tenure_months: EXAMPLE_CUSTOMER.tenure_months,
  monthly_charges: EXAMPLE_CUSTOMER.monthly_charges,
  total_charges: EXAMPLE_CUSTOMER.total_charges,
  num_products: EXAMPLE_CUSTOMER.num_products,
  has_support_calls: EXAMPLE_CUSTOMER.has_support_calls,
};

export interface TestApp {
  app: FastifyInstance;
  logs: Record<string, unknown>[];
}

/** A ready app with the bundled model, configured like production unless `env` says otherwise. */
export async function buildTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const logs: Record<string, unknown>[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'info', ...env }), logStream });
  await app.ready();
  return { app, logs };
}

export function postJson(app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, payload: JSON.stringify(payload), headers: { 'content-type': 'application/json', ...headers } });
}
