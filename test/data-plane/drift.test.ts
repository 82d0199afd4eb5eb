import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  assessDrift,
  binLabels,
  binOf,
  combineSnapshots,
  driftStatus,
  DriftMonitor,
  DriftWindow,
  populationStabilityIndex,
  PSI_SMOOTHING,
  sumCounts,
  type DriftReference,
} from '../../src/data-plane/drift.js';
import type { DriftFeatureReference } from '../../src/schemas/model-card.js';

const card = JSON.parse(readFileSync(new URL('../../models/model_card.json', import.meta.url), 'utf8')) as { drift_reference: DriftReference };
const REFERENCE: DriftReference = card.drift_reference;
const THRESHOLDS = { moderate: 0.1, significant: 0.25 };
const bins: DriftFeatureReference = { name: 'x', kind: 'bins', edges: [2, 6, 12], shares: [0.25, 0.25, 0.25, 0.25] };
const values: DriftFeatureReference = { name: 'flag', kind: 'values', values: [0, 1], shares: [0.7, 0.3] };

/** PSI written out the textbook way, for comparison. */
function referencePsi(counts: number[], expected: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  return expected.reduce((psi, reference, bin) => {
    const actual = counts[bin]! / total === 0 ? 0.0001 : counts[bin]! / total;
    const wanted = reference === 0 ? 0.0001 : reference;
    return psi + (actual - wanted) * Math.log(actual / wanted);
  }, 0);
}

describe('binning', () => {
  it('puts a value in the bin (e(i-1), e(i)]', () => {
    expect([0, 2, 2.0001, 6, 7, 12, 12.5, 1e9, -5].map((value) => binOf(bins, value))).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 0]);
    expect(binLabels(bins)).toEqual(['(-inf, 2]', '(2, 6]', '(6, 12]', '(12, +inf]']);
  });

  it('puts a value of a values profile at its index, or in "other"', () => {
    expect([0, 1, 2].map((value) => binOf(values, value))).toEqual([0, 1, 2]);
    expect(binLabels(values)).toEqual(['0', '1', 'other']);
  });

  it('bins float32 values as the model reads them', () => {
    // 20.05 in float32 is just above 20.05; an edge stored from float32(20.05) equals it exactly.
    const edge = Math.fround(20.05);
    const profile: DriftFeatureReference = { name: 'm', kind: 'bins', edges: [edge], shares: [0.5, 0.5] };
    expect(binOf(profile, Math.fround(20.05))).toBe(0);
  });
});

describe('the population stability index', () => {
  it.each([
    [[25, 25, 25, 25], [0.25, 0.25, 0.25, 0.25]],
    [[10, 20, 30, 40], [0.25, 0.25, 0.25, 0.25]],
    [[0, 0, 50, 50], [0.1, 0.2, 0.3, 0.4]],
    [[97, 1, 1, 1], [0.25, 0.25, 0.25, 0.25]],
    [[5, 5, 0], [0.7, 0.3, 0]],
  ])('of counts %j against %j equals the textbook formula', (counts, expected) => {
    expect(populationStabilityIndex(counts, expected)).toBeCloseTo(referencePsi(counts, expected), 12);
  });

  it('is 0 for identical distributions and for an empty window, and smooths with 1e-4', () => {
    expect(populationStabilityIndex([30, 70], [0.3, 0.7])).toBeCloseTo(0, 12);
    expect(populationStabilityIndex([0, 0], [0.3, 0.7])).toBe(0);
    expect(PSI_SMOOTHING).toBe(1e-4);
  });

  it('grades 0.1 and 0.25 as documented', () => {
    expect([0, 0.0999, 0.1, 0.25, 0.2501].map((psi) => driftStatus(psi, THRESHOLDS))).toEqual(['stable', 'stable', 'moderate', 'moderate', 'significant']);
  });
});

const row = (values: number[]) => Float32Array.from(values);
const total = (bins: number[]) => bins.reduce((sum, count) => sum + count, 0);

describe('DriftWindow', () => {
  const reference: DriftReference = { features: [bins, values], score: { name: 'churn_probability', kind: 'bins', edges: [0.5], shares: [0.5, 0.5] } };

  it('counts each feature and the score into their bins', () => {
    const window = new DriftWindow(reference, 10);
    window.add(row([1, 0, 7, 1, 100, 1]), 3, [0.1, 0.9, 0.5]);
    expect(window.counts()).toEqual({ rows: 3, counts: [[1, 0, 1, 1], [1, 2, 0], [2, 1]] });
  });

  it('keeps only the last rows: a row leaving the window leaves the counts', () => {
    const window = new DriftWindow(reference, 2);
    window.add(row([1, 0]), 1, [0.1]);
    window.add(row([7, 1]), 1, [0.9]);
    window.add(row([100, 1]), 1, [0.9]);
    expect(window.counts()).toEqual({ rows: 2, counts: [[0, 0, 1, 1], [0, 2, 0], [0, 2]] });
    for (let step = 0; step < 5; step += 1) window.add(row([3, 0]), 1, [0.2]);
    expect(window.counts()).toEqual({ rows: 2, counts: [[0, 2, 0, 0], [2, 0, 0], [2, 0]] });
  });

  it('never counts more rows than its capacity, however many come and in batches of any size', () => {
    const capacity = 5;
    const window = new DriftWindow(reference, capacity);
    let added = 0;
    for (const batch of [1, 3, 5, 6, 17, 2, 40]) {
      const features = Array.from({ length: batch * 2 }, (_, index) => (index * 7 + added) % 15);
      const scores = Array.from({ length: batch }, (_, index) => ((index + added) % 10) / 10);
      window.add(row(features), batch, scores);
      added += batch;
      const counted = window.counts();
      expect(counted.rows).toBe(Math.min(added, capacity));
      for (const bins of counted.counts) expect(total(bins)).toBe(counted.rows);
      if (batch >= capacity) {
        // A batch as big as the window leaves only its own last rows in it, counted as a window that saw only those would.
        const alone = new DriftWindow(reference, capacity);
        alone.add(row(features.slice((batch - capacity) * 2)), capacity, scores.slice(batch - capacity));
        expect(counted).toEqual(alone.counts());
      }
    }
  });

  it('adds up several processes\' counts', () => {
    expect(sumCounts([{ rows: 2, counts: [[1, 1], [2]] }, { rows: 3, counts: [[0, 3], [3]] }])).toEqual({ rows: 5, counts: [[1, 4], [5]] });
    expect(sumCounts([])).toEqual({ rows: 0, counts: [] });
  });
});

describe('assessDrift', () => {
  const reference: DriftReference = { features: [bins], score: { name: 'churn_probability', kind: 'bins', edges: [0.5], shares: [0.5, 0.5] } };

  it('gives no status below the minimum rows, then PSI and status per feature', () => {
    const live = { rows: 4, counts: [[1, 1, 1, 1], [2, 2]] };
    expect(assessDrift(reference, live, THRESHOLDS, 5).features[0]).toMatchObject({ psi: undefined, status: undefined });
    const ready = assessDrift(reference, live, THRESHOLDS, 4);
    expect(ready.features[0]).toMatchObject({ name: 'x', psi: 0, status: 'stable' });
    expect(ready.features[0]!.bins).toEqual(binLabels(bins).map((bin) => ({ bin, referenceShare: 0.25, liveShare: 0.25 })));
    expect(ready.score).toMatchObject({ name: 'churn_probability', status: 'stable' });
  });
});

describe('DriftMonitor', () => {
  it('counts only rows of the current model, and starts afresh on a switch', () => {
    const monitor = new DriftMonitor(100);
    const first = { version: '1', sha256: 'a' };
    const second = { version: '2', sha256: 'b' };
    expect(monitor.snapshot()).toBeUndefined();
    monitor.switchTo(first, REFERENCE);
    monitor.observe(first, row([2, 70.7, 151.65, 2, 0]), 1, [0.6]);
    expect(monitor.snapshot()).toMatchObject({ modelVersion: '1', modelSha256: 'a', live: { rows: 1 } });
    monitor.switchTo(second, REFERENCE);
    // A run the replaced model was still finishing does not count for the new one.
    monitor.observe(first, row([2, 70.7, 151.65, 2, 0]), 1, [0.6]);
    expect(monitor.snapshot()).toMatchObject({ modelVersion: '2', live: { rows: 0 } });
    monitor.switchTo(first, undefined);
    expect(monitor.snapshot()).toEqual({ modelVersion: '1', modelSha256: 'a', unavailable: 'the model has no drift reference profile (it came without a model card)' });
  });

  it('counts no more rows than its window holds, however many the model scores', () => {
    const monitor = new DriftMonitor(100);
    const model = { version: '1', sha256: 'a' };
    monitor.switchTo(model, REFERENCE);
    const batch = 37;
    const features = row(Array.from({ length: batch }, () => [2, 70.7, 151.65, 2, 0]).flat());
    for (let run = 0; run < 30; run += 1) monitor.observe(model, features, batch, new Array<number>(batch).fill(0.6));
    const live = monitor.snapshot()!.live!;
    expect(live.rows).toBe(100);
    for (const bins of live.counts) expect(total(bins)).toBe(100);
  });

  it('combines the snapshots of the model most processes serve, or of the one asked for', () => {
    const snapshot = (sha256: string, rows: number) => ({ modelVersion: sha256, modelSha256: sha256, reference: REFERENCE, live: { rows, counts: [[rows]] } });
    expect(combineSnapshots([snapshot('a', 1), snapshot('b', 5), snapshot('a', 2)])).toMatchObject({ modelSha256: 'a', live: { rows: 3, counts: [[3]] } });
    expect(combineSnapshots([snapshot('a', 1), snapshot('b', 5), snapshot('a', 2)], 'b')).toMatchObject({ modelSha256: 'b', live: { rows: 5 } });
    expect(combineSnapshots([])).toBeUndefined();
  });
});
