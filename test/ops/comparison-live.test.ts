import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigSchema } from '../../src/config.js';
import type { ComparisonReport } from '../../src/schemas/comparison.js';
import { versionedModels, type VersionedModels } from '../data-plane/model-fixtures.js';
import { buildTestApp, postJson, VALID_CUSTOMER } from '../helpers.js';

/**
 * GET /monitoring/comparison on what a running challenger logs: predictions through the churn API,
 * the challenger in shadow or canary, the log written by the recorder, outcomes posted to
 * POST /outcomes. Runs once the service has a challenger (CHALLENGER_MODEL_PATH); skipped before.
 */
const hasChallenger = 'CHALLENGER_MODEL_PATH' in ConfigSchema.properties;
const CUSTOMERS = 40;

describe.skipIf(!hasChallenger)('the comparison of a live challenger', () => {
  let models: VersionedModels;
  let dataDir: string;
  beforeAll(() => {
    models = versionedModels(['4.0.0', '4.1.0']);
    dataDir = mkdtempSync(join(tmpdir(), 'comparison-live-'));
  });
  afterAll(() => {
    models.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([
    { mode: 'shadow', share: '1' },
    { mode: 'canary', share: '0.5' },
  ])('pairs the $mode scores of the same rows and labels them by the outcomes of the served ones', async ({ mode, share }) => {
    const { app } = await buildTestApp({ PREDICTION_LOG: 'true', DATA_DIR: join(dataDir, mode), MODEL_PATH: models.paths[0]!, CHALLENGER_MODEL_PATH: models.paths[1]!, CHALLENGER_MODE: mode, CHALLENGER_SHARE: share });
    try {
      let answeredByChallenger = 0;
      for (let i = 0; i < CUSTOMERS; i += 1) {
        const answer = await postJson(app, '/predict', { ...VALID_CUSTOMER, tenure_months: i, customer_id: `crm-${i}` });
        expect(answer.statusCode).toBe(200);
        if (answer.json().model_version === '4.1.0') answeredByChallenger += 1;
      }
      // Shadow: every row is a pair; canary: the rows the challenger answered.
      const pairs = mode === 'shadow' ? CUSTOMERS : answeredByChallenger;
      expect(pairs).toBeGreaterThan(0);
      const until = () => encodeURIComponent(new Date(Date.now() + 1000).toISOString());
      const report = async () => (await app.inject({ method: 'GET', url: `/monitoring/comparison?until=${until()}` })).json() as ComparisonReport;
      // The log is written in the background, the shadow scores after the answers.
      await vi.waitFor(async () => expect((await report()).comparisons[0]?.rows ?? 0).toBe(pairs), { timeout: 10_000, interval: 100 });
      const observedAt = new Date(Date.now() + 60_000).toISOString();
      const outcomes = Array.from({ length: CUSTOMERS }, (_, i) => ({ customer_id: `crm-${i}`, churned: i % 3 === 0, observed_at: observedAt }));
      expect((await postJson(app, '/outcomes', { outcomes })).json()).toMatchObject({ matched: CUSTOMERS });

      const [comparison] = (await report()).comparisons;
      expect([comparison!.champion_version, comparison!.challenger_version]).toEqual(['4.0.0', '4.1.0']);
      // In canary mode only the canary's rows have both scores: the rows the champion answered are no pairs.
      expect(comparison!.served_by).toEqual(mode === 'shadow' ? { champion: CUSTOMERS, challenger: 0 } : { champion: 0, challenger: pairs });
      // Every pair takes the outcome of its served record; the unserved one never takes it away.
      expect(comparison!.labeled.rows).toBe(comparison!.rows);
      // Two copies of one model: the same scores, so full agreement and no difference.
      expect(comparison!.agreement.prediction.share).toBe(1);
      expect(comparison!.labeled.auc_difference.value).toBe(0);
      expect(comparison!.verdict).toBe('too_few_labeled_rows');
    } finally {
      await app.close();
    }
  });
});
