import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { countsByProfile, DriftMinuteCounter, MINUTE_MS, type DriftMinuteCount } from '../../src/data-plane/drift-minutes.js';
import type { ScoredRun } from '../../src/data-plane/data-plane.js';
import type { DriftReference } from '../../src/data-plane/drift.js';
import type { ServedModel } from '../../src/data-plane/model.js';

const card = JSON.parse(readFileSync(new URL('../../models/model_card.json', import.meta.url), 'utf8')) as { drift_reference: DriftReference };
const reference: DriftReference = { features: card.drift_reference.features, score: card.drift_reference.score };

const servedModel = (sha256: string, withCard = true) => ({ version: '1.2.0', sha256, card: withCard ? { drift_reference: card.drift_reference } : undefined }) as unknown as ServedModel;
/** A run of `rows` identical rows: tenure 1 (bin 0), monthly 30 (bin 2), total 30 (bin 0), 2 products (value index 1), no support calls (index 0); score 0.5 (bin 8). */
const run = (model: ServedModel, rows: number) =>
  ({ model, role: 'champion', rows, features: Float32Array.from({ length: rows * 5 }, (_, index) => [1, 30, 30, 2, 0][index % 5]!), outputs: { churn: new Float32Array(rows).fill(0.5) } }) as unknown as ScoredRun;
const byKey = (counts: readonly DriftMinuteCount[]) => Object.fromEntries(counts.map((count) => [`${count.minuteMs / MINUTE_MS}/${count.modelSha256}/${count.profile}/${count.bin}`, count.rows]));

describe('DriftMinuteCounter', () => {
  it('counts each scored row into its minute bucket, per profile and bin, and hands them over once', () => {
    let now = 10 * MINUTE_MS + 59_999;
    const counter = new DriftMinuteCounter({ maxReturned: 1000, now: () => now });
    const model = servedModel('a');
    counter.modelLoaded(model, 'champion');
    counter.rowsScored(run(model, 3));
    now += 1;
    counter.rowsScored(run(model, 2));
    expect(byKey(counter.take())).toEqual({
      '10/a/tenure_months/0': 3, '10/a/monthly_charges/2': 3, '10/a/total_charges/0': 3, '10/a/num_products/1': 3, '10/a/has_support_calls/0': 3, '10/a/churn_probability/8': 3,
      '11/a/tenure_months/0': 2, '11/a/monthly_charges/2': 2, '11/a/total_charges/0': 2, '11/a/num_products/1': 2, '11/a/has_support_calls/0': 2, '11/a/churn_probability/8': 2,
    });
    expect(counter.take()).toEqual([]);
  });

  it('counts nothing for a model without a reference, or a run of a model no longer served', () => {
    const counter = new DriftMinuteCounter({ maxReturned: 1000, now: () => 0 });
    const old = servedModel('a');
    counter.modelLoaded(old, 'champion');
    counter.modelLoaded(servedModel('b', false), 'champion');
    expect(counter.current).toBeUndefined();
    counter.rowsScored(run(old, 3));
    expect(counter.take()).toEqual([]);
  });

  it('writes counts given back with the next take, added to the new ones, and drops the oldest past the bound', () => {
    const counter = new DriftMinuteCounter({ maxReturned: 7, now: () => 0 });
    const model = servedModel('a');
    counter.modelLoaded(model, 'champion');
    counter.rowsScored(run(model, 1));
    const failed = counter.take();
    expect(failed).toHaveLength(6);
    counter.putBack(failed);
    counter.rowsScored(run(model, 2));
    expect(byKey(counter.take())).toMatchObject({ '0/a/tenure_months/0': 3, '0/a/churn_probability/8': 3 });
    counter.putBack([...failed, { minuteMs: MINUTE_MS, modelSha256: 'a', profile: 'tenure_months', bin: 1, rows: 1 }, { minuteMs: MINUTE_MS, modelSha256: 'a', profile: 'tenure_months', bin: 2, rows: 1 }]);
    expect(counter.dropped).toBe(1);
    const kept = byKey(counter.take());
    expect(Object.keys(kept)).toHaveLength(7);
    expect(kept['0/a/tenure_months/0']).toBeUndefined();
  });
});

describe('countsByProfile', () => {
  it('arranges summed bins in the reference order, the score last, its total the rows', () => {
    const live = countsByProfile(reference, [
      { profile: 'churn_probability', bin: 8, rows: 4 },
      { profile: 'churn_probability', bin: 0, rows: 1 },
      { profile: 'tenure_months', bin: 3, rows: 5 },
      { profile: 'no_such_feature', bin: 0, rows: 9 },
    ]);
    expect(live.rows).toBe(5);
    expect(live.counts).toHaveLength(6);
    expect(live.counts[0]![3]).toBe(5);
    expect(live.counts[5]![8]).toBe(4);
    expect(live.counts.flat().reduce((sum, rows) => sum + rows, 0)).toBe(10);
  });
});
