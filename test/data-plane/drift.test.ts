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
import type { ScoredRun } from '../../src/data-plane/data-plane.js';
import type { ServedModel } from '../../src/data-plane/model.js';
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
    expect(window.rows).toBe(2);
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

  it('grades the score from its own counts, the last list of the window', () => {
    const live = { rows: 4, counts: [[1, 1, 1, 1], [4, 0]] };
    const { score } = assessDrift(reference, live, THRESHOLDS, 1);
    expect(score.psi).toBeCloseTo(referencePsi([4, 0], [0.5, 0.5]), 12);
    expect(score.status).toBe('significant');
    expect(score.bins).toEqual([
      { bin: '(-inf, 0.5]', referenceShare: 0.5, liveShare: 1 },
      { bin: '(0.5, +inf]', referenceShare: 0.5, liveShare: 0 },
    ]);
  });

  it('counts the "other" bin of a values profile against a reference share of 0', () => {
    const flags: DriftReference = { features: [values], score: reference.score };
    const live = { rows: 10, counts: [[7, 0, 3], [5, 5]] };
    const [finding] = assessDrift(flags, live, THRESHOLDS, 1).features;
    expect(finding!.psi).toBeCloseTo(referencePsi([7, 0, 3], [0.7, 0.3, 0]), 12);
    expect(finding!.bins).toEqual([
      { bin: '0', referenceShare: 0.7, liveShare: 0.7 },
      { bin: '1', referenceShare: 0.3, liveShare: 0 },
      { bin: 'other', referenceShare: 0, liveShare: 0.3 },
    ]);
  });

  it('gives an empty window no PSI and live shares of 0, even with no minimum of rows', () => {
    const live = { rows: 0, counts: [[0, 0, 0, 0], [0, 0]] };
    const { features, score } = assessDrift(reference, live, THRESHOLDS, 0);
    expect(features[0]).toMatchObject({ psi: undefined, status: undefined });
    expect(score).toMatchObject({ psi: undefined, status: undefined });
    expect(features[0]!.bins.map((bin) => bin.liveShare)).toEqual([0, 0, 0, 0]);
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
    // Rows of a model it cannot monitor are ignored, not an error.
    expect(() => monitor.observe(first, row([2, 70.7, 151.65, 2, 0]), 1, [0.6])).not.toThrow();
  });

  it('takes the reference profile from the card of each champion the data plane loads, and counts its scored runs', () => {
    const monitor = new DriftMonitor(100);
    const served = (sha256: string, card: unknown) => ({ version: sha256, sha256, card }) as unknown as ServedModel;
    const carded = served('a', { drift_reference: { ...REFERENCE, extra: 'not copied' } });
    monitor.modelLoaded(carded, 'champion');
    const features = row([2, 70.7, 151.65, 2, 0, 45, 42.3, 1840.75, 4, 1]);
    const run = { model: carded, role: 'champion', rows: 2, features, requestIds: [undefined, undefined], outputs: { rows: 2, churn: Float32Array.from([0.6, 0.1]) }, seconds: 0 } as unknown as ScoredRun;
    monitor.rowsScored(run);
    const alone = new DriftWindow(REFERENCE, 100);
    alone.add(features, 2, [0.6, 0.1]);
    expect(monitor.snapshot()).toEqual({ modelVersion: 'a', modelSha256: 'a', reference: { features: REFERENCE.features, score: REFERENCE.score }, live: alone.counts() });

    monitor.modelLoaded(served('b', undefined), 'champion');
    expect(monitor.snapshot()).toEqual({ modelVersion: 'b', modelSha256: 'b', unavailable: 'the model has no drift reference profile (it came without a model card)' });
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

  it('picks the model most processes serve wherever its first snapshot comes', () => {
    const snapshot = (sha256: string, rows: number) => ({ modelVersion: sha256, modelSha256: sha256, reference: REFERENCE, live: { rows, counts: [[rows]] } });
    expect(combineSnapshots([snapshot('b', 5), snapshot('a', 1), snapshot('c', 4), snapshot('a', 2)])).toMatchObject({ modelSha256: 'a', live: { rows: 3 } });
    expect(combineSnapshots([snapshot('b', 5), snapshot('c', 4), snapshot('c', 1), snapshot('a', 2)])).toMatchObject({ modelSha256: 'c', live: { rows: 5 } });
  });

  it('gives nothing for a model no process serves, and a snapshot without a profile as it is', () => {
    const unavailable = { modelVersion: '1', modelSha256: 'a', unavailable: 'the model has no drift reference profile (it came without a model card)' };
    expect(combineSnapshots([unavailable], 'b')).toBeUndefined();
    expect(combineSnapshots([unavailable, { ...unavailable }])).toEqual(unavailable);
  });
});
