import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChurnModel } from '../../src/data-plane/churn-model.js';
import type { Model } from '../../src/data-plane/model.js';
import { FEATURE_NAMES } from '../../src/schemas/customer-features.js';
import { HOLDOUT, REQUIRE_DATA, TRAINING_DATA, trainingCustomers, type Customer } from '../training-data.js';

/**
 * The comparison fixture (test/fixtures/comparison/cases.json, made by make-fixture.py) is made
 * from the two shipped models: these checks tie it to them, so a retrained model cannot leave it
 * stale. The comparison math itself is checked against it where it is implemented.
 */

interface ModelEntry {
  path: string;
  version: string;
  onnx_sha256: string;
}
interface Point {
  threshold: number;
  precision: number | null;
  recall: number | null;
}
interface Case {
  name: string;
  rows: { champion: number[]; challenger: number[]; churned: (boolean | null)[] };
  expected: { positives: number; champion: { roc_auc: number | null; thresholds: Point[] }; challenger: { roc_auc: number | null; thresholds: Point[] } };
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/comparison/cases.json', import.meta.url), 'utf8')) as {
  models: Record<'champion' | 'challenger', ModelEntry>;
  cases: Case[];
};
const byName = (name: string) => fixture.cases.find((entry) => entry.name === name)!;
const repoPath = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

const models = {} as Record<'champion' | 'challenger', Model>;
beforeAll(async () => {
  // One intra-op thread, the service's default (INTRA_OP_THREADS): the fixture holds what it serves.
  const load = (role: 'champion' | 'challenger') => loadChurnModel(repoPath(fixture.models[role].path), { intraOpThreads: 1 });
  [models.champion, models.challenger] = await Promise.all([load('champion'), load('challenger')]);
});
afterAll(async () => Promise.all(Object.values(models).map((model) => model.close())));

async function served(model: Model, customers: readonly Customer[]): Promise<number[]> {
  const features = Float32Array.from(customers.flatMap((customer) => FEATURE_NAMES.map((name) => customer[name])));
  return Array.from((await model.predict(features, customers.length)).churn);
}

describe('the comparison fixture', () => {
  it('names the shipped champion and challenger files, by version and sha256', () => {
    for (const role of ['champion', 'challenger'] as const) {
      const entry = fixture.models[role];
      expect(createHash('sha256').update(readFileSync(repoPath(entry.path))).digest('hex'), role).toBe(entry.onnx_sha256);
      expect(models[role].version).toBe(entry.version);
    }
  });

  it("holds both models' served probabilities of the 1,409 hold-out customers, exactly", async () => {
    const holdout = byName('telco_holdout');
    expect(holdout.rows.champion).toEqual(await served(models.champion, HOLDOUT));
    expect(holdout.rows.challenger).toEqual(await served(models.challenger, HOLDOUT));
  });

  it("gives each model the hold-out AUC, precision and recall its card reports", () => {
    const { expected } = byName('telco_holdout');
    for (const role of ['champion', 'challenger'] as const) {
      const card = models[role].card!;
      expect(expected[role].roc_auc, role).toBeCloseTo(card.holdout_metrics.roc_auc, 6);
      for (const point of expected[role].thresholds) {
        const reported = card.operating_points.find((candidate) => candidate.threshold === point.threshold)!;
        expect(point.precision === null ? null : Math.round(point.precision * 1e6) / 1e6, `${role} ${point.threshold}`).toBe(reported.precision);
        expect(point.recall, `${role} ${point.threshold}`).toBeCloseTo(reported.recall, 6);
      }
    }
  });

  it.skipIf(!REQUIRE_DATA && !existsSync(TRAINING_DATA))("holds both models' served probabilities of all 7,043 customers, exactly", async () => {
    const customers = trainingCustomers();
    const telco = byName('telco');
    expect(telco.rows.churned).toHaveLength(7043);
    expect(telco.expected.positives).toBe(1869);
    expect(telco.rows.champion).toEqual(await served(models.champion, customers));
    expect(telco.rows.challenger).toEqual(await served(models.challenger, customers));
  });
});
