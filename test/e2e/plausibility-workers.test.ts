import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { DriftReport } from '../../src/schemas/drift.js';
import { VALID_CUSTOMER } from '../helpers.js';
import { sampleValue } from '../prometheus-text.js';
import { freePort, startServer, waitUntilHealthy } from './server-process.js';

describe('plausibility and time windows with WORKERS=2', () => {
  it('the primary warns once when a check alerts, from both workers\' counts; the counter, the report and the shared windows cover both', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'plausibility-workers-'));
    const port = await freePort();
    const server = startServer({ WORKERS: '2', DRIFT_CHECK_INTERVAL_MS: '200', PREDICTION_LOG: 'true', DATA_DIR: dataDir }, port);
    try {
      await waitUntilHealthy(server);
      // A CRM sending total_charges in cents, spread over both workers by many connections.
      const inCents = Array.from({ length: 100 }, () => ({ ...VALID_CUSTOMER, total_charges: VALID_CUSTOMER.total_charges * 100 }));
      const responses = await Promise.all(
        Array.from({ length: 6 }, () => fetch(`${server.baseUrl}/predict/batch`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify({ customers: inCents }) })),
      );
      expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 200]);
      const warnings = () => server.output().split('\n').filter((line) => line.includes('"msg":"plausibility: total_charges_above_billing is alerting'));
      await vi.waitFor(() => expect(warnings()).not.toHaveLength(0), { timeout: 10_000, interval: 100 });
      expect(warnings()).toHaveLength(1);
      expect(JSON.parse(warnings()[0]!)).toMatchObject({ pid: server.child.pid, level: 40, check: 'total_charges_above_billing', to: 'alerting' });

      const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
      expect(sampleValue(metrics, 'churn_implausible_rows_total', { check: 'total_charges_above_billing' })).toBe(600);
      const report = async () => (await (await fetch(`${server.baseUrl}/monitoring/drift`)).json()) as DriftReport;
      const body = await report();
      expect(body.plausibility.window.rows).toBe(600);
      expect(body.plausibility.checks[0]).toMatchObject({ check: 'total_charges_above_billing', failed: 600, status: 'alerting' });
      // Each worker adds its minute counts to the one SQLite file within 5 s.
      await vi.waitFor(async () => expect((await report()).windows.last_hour?.rows).toBe(600), { timeout: 15_000, interval: 500 });
    } finally {
      expect(await server.stop(), server.output()).toBe(0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
