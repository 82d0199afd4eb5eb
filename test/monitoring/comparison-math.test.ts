import { describe, expect, it } from 'vitest';
import {
  comparisonReport,
  MIN_LABELED_PER_CLASS,
  normalUpperTail,
  pairedAucDifference,
  scorePsi,
  spearman,
  type ComparisonInput,
  type PairedScore,
} from '../../src/monitoring/comparison.js';
import { rocAucDeLong, Z_95 } from '../../src/monitoring/roc-auc.js';
import type { DriftFeatureReference } from '../../src/schemas/model-card.js';
import { seededRandom } from '../data-plane/synthetic-trees.js';

/**
 * The comparison's statistics against references written from their definitions here, slow and
 * plain: DeLong's covariance from ψ over every churner and stayer (O(m n)), Spearman from ranks
 * counted pair by pair. The synthetic pairs are rounded to 0.05 so that ties occur within each
 * model, across the two, and between churners and stayers.
 */

/** Rows whose churn follows the champion's score; the challenger's score is the champion's plus noise (and `shift`), both rounded to 0.05. */
function syntheticPairs(count: number, seed: number, { noise = 0.15, shift = 0, labeled = 1 } = {}): PairedScore[] {
  const random = seededRandom(seed);
  const round = (p: number) => Math.min(1, Math.max(0, Math.round(p * 20) / 20));
  return Array.from({ length: count }, () => {
    const truth = random();
    const champion = round(truth + (random() - 0.5) * 0.6);
    const challenger = round(truth + shift + (random() - 0.5) * noise * 4);
    return {
      championVersion: '1.0.0',
      challengerVersion: '2.0.0',
      champion,
      challenger,
      servedBy: random() < 0.8 ? 'champion' : 'challenger',
      churned: random() < labeled ? random() < truth : null,
    };
  });
}

const psi = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);

/** DeLong, DeLong & Clarke-Pearson (1988) by definition: the structural components as means of ψ, their 2×2 sample covariances. */
function pairedDeLongByDefinition(a: number[], b: number[], churned: boolean[]) {
  const positives = churned.flatMap((c, i) => (c ? [i] : []));
  const negatives = churned.flatMap((c, i) => (c ? [] : [i]));
  const m = positives.length;
  const n = negatives.length;
  const components = (scores: number[]) => ({
    v10: positives.map((i) => negatives.reduce((sum, j) => sum + psi(scores[i]!, scores[j]!), 0) / n),
    v01: negatives.map((j) => positives.reduce((sum, i) => sum + psi(scores[i]!, scores[j]!), 0) / m),
  });
  const ca = components(a);
  const cb = components(b);
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const cov = (x: number[], y: number[]) => {
    const mx = mean(x);
    const my = mean(y);
    return x.reduce((s, xi, k) => s + (xi - mx) * (y[k]! - my), 0) / (x.length - 1);
  };
  const aucA = mean(ca.v10);
  const aucB = mean(cb.v10);
  const variance = (cov(ca.v10, ca.v10) + cov(cb.v10, cb.v10) - 2 * cov(ca.v10, cb.v10)) / m + (cov(ca.v01, ca.v01) + cov(cb.v01, cb.v01) - 2 * cov(ca.v01, cb.v01)) / n;
  return { aucA, aucB, difference: aucB - aucA, variance };
}

/** Spearman by definition: ranks counted (below, plus half of the ties and itself), then Pearson. */
function spearmanByDefinition(a: number[], b: number[]): number {
  const ranks = (v: number[]) => v.map((x) => v.filter((y) => y < x).length + (v.filter((y) => y === x).length + 1) / 2);
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  ra.forEach((x, k) => {
    sab += (x - ma) * (rb[k]! - mb);
    saa += (x - ma) ** 2;
    sbb += (rb[k]! - mb) ** 2;
  });
  return sab / Math.sqrt(saa * sbb);
}

const labeledOf = (pairs: PairedScore[]) => {
  const labeled = pairs.filter((pair) => pair.churned !== null);
  return { a: labeled.map((p) => p.champion), b: labeled.map((p) => p.challenger), churned: labeled.map((p) => p.churned!) };
};

describe('paired DeLong (two correlated ROC curves)', () => {
  it.each([
    { rows: 60, seed: 1 },
    { rows: 400, seed: 2 },
    { rows: 1500, seed: 3 },
  ])('matches its O(m n) definition on $rows synthetic pairs with ties', ({ rows, seed }) => {
    const { a, b, churned } = labeledOf(syntheticPairs(rows, seed));
    const reference = pairedDeLongByDefinition(a, b, churned);
    const difference = pairedAucDifference(a, b, churned)!;
    expect(difference.value).toBeCloseTo(reference.difference, 12);
    const se = Math.sqrt(reference.variance);
    expect(difference.ci_low).toBeCloseTo(reference.difference - Z_95 * se, 12);
    expect(difference.ci_high).toBeCloseTo(reference.difference + Z_95 * se, 12);
    expect(difference.p_value).toBeCloseTo(2 * normalUpperTail(Math.abs(reference.difference) / se), 12);
    // The difference is the difference of the two single-model AUCs.
    expect(difference.value).toBeCloseTo(rocAucDeLong(b, churned)!.value - rocAucDeLong(a, churned)!.value, 14);
  });

  it('is narrower than the unpaired interval when the two models are correlated (the covariance is used)', () => {
    const { a, b, churned } = labeledOf(syntheticPairs(800, 4, { noise: 0.05 }));
    const difference = pairedAucDifference(a, b, churned)!;
    const single = (scores: number[]) => {
      const auc = rocAucDeLong(scores, churned)!;
      return ((auc.ci_high! - auc.ci_low!) / (2 * Z_95)) ** 2;
    };
    const unpairedHalfWidth = Z_95 * Math.sqrt(single(a) + single(b));
    expect((difference.ci_high! - difference.ci_low!) / 2).toBeLessThan(unpairedHalfWidth / 2);
  });

  it('a model against itself: difference 0 and no interval (SE 0)', () => {
    const { a, churned } = labeledOf(syntheticPairs(200, 5));
    expect(pairedAucDifference(a, a, churned)).toEqual({ value: 0, ci_low: null, ci_high: null, p_value: null });
  });

  it('without both classes there is nothing; with one of a class, a value without interval', () => {
    expect(pairedAucDifference([0.1, 0.2], [0.3, 0.4], [true, true])).toBeUndefined();
    expect(pairedAucDifference([0.1, 0.2, 0.9], [0.3, 0.4, 0.2], [false, false, true])).toEqual({ value: -1, ci_low: null, ci_high: null, p_value: null });
  });
});

describe('normal tail, Spearman, PSI', () => {
  it('the normal upper tail to 1e-7 of scipy.stats.norm.sf', () => {
    // scipy.stats.norm.sf at these points.
    const cases: [number, number][] = [
      [0, 0.5],
      [1, 0.15865525393145707],
      [Z_95, 0.025],
      [3, 0.0013498980316301035],
      [-1.5, 0.9331927987311419],
      [6, 9.865876450376946e-10],
    ];
    for (const [z, sf] of cases) expect(Math.abs(normalUpperTail(z) - sf)).toBeLessThan(1e-7 * Math.max(sf, 1e-3));
  });

  it.each([7, 8, 9])('Spearman matches ranks counted by definition, with ties (seed %i)', (seed) => {
    const pairs = syntheticPairs(300, seed);
    const a = pairs.map((p) => p.champion);
    const b = pairs.map((p) => p.challenger);
    expect(spearman(a, b)).toBeCloseTo(spearmanByDefinition(a, b), 12);
  });

  it('Spearman: 1 for any increasing map, −1 for a decreasing one, null for a constant or a single row', () => {
    const a = [0.1, 0.5, 0.5, 0.9, 0.3];
    expect(spearman(a, a.map((x) => x ** 3))).toBeCloseTo(1, 14);
    expect(spearman(a, a.map((x) => 1 - x))).toBeCloseTo(-1, 14);
    expect(spearman(a, a.map(() => 0.4))).toBeNull();
    expect(spearman([0.2], [0.3])).toBeNull();
  });

  it('PSI in the champion card\'s bins: the drift rule (bins (e(i-1), e(i)], shares below 1e-4 count as 1e-4)', () => {
    const bins: DriftFeatureReference = { name: 'churn_probability', kind: 'bins', edges: [0.2, 0.5], shares: [0.3, 0.4, 0.3] };
    // Champion: 2 in (-inf, 0.2], 2 in (0.2, 0.5], 0 above. Challenger: 1, 1, 2.
    const champion = [0.1, 0.2, 0.3, 0.5];
    const challenger = [0.2, 0.25, 0.6, 0.9];
    const expected = (0.25 - 0.5) * Math.log(0.25 / 0.5) + (0.25 - 0.5) * Math.log(0.25 / 0.5) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4);
    expect(scorePsi(champion, challenger, bins)).toBeCloseTo(expected, 12);
    expect(scorePsi(champion, champion, bins)).toBe(0);
    expect(scorePsi([], [], bins)).toBeNull();
  });
});

const RULE = { prediction: 0.5, highRisk: 0.7, mediumRisk: 0.4 };
const WINDOW = { since: new Date('2026-11-01T00:00:00Z'), until: new Date('2026-12-01T00:00:00Z'), horizonDays: 90 };
const input = (pairs: PairedScore[], overrides: Partial<ComparisonInput> = {}): ComparisonInput => ({
  pairs,
  window: WINDOW,
  rule: RULE,
  thresholds: [0.5, 0.8],
  scoreBins: undefined,
  computedAt: new Date('2026-12-01T00:00:00Z'),
  ...overrides,
});
const pair = (champion: number, challenger: number, churned: boolean | null = null, servedBy: PairedScore['servedBy'] = 'champion'): PairedScore => ({
  championVersion: '1.0.0',
  challengerVersion: '2.0.0',
  champion,
  challenger,
  servedBy,
  churned,
});

describe('the comparison report', () => {
  it('without pairs: an empty list and a note that says why', () => {
    const report = comparisonReport(input([]));
    expect(report.comparisons).toEqual([]);
    expect(report.notes[0]).toMatch(/no row in this window was scored by both/);
    expect(report.window).toEqual({ since: '2026-11-01T00:00:00.000Z', until: '2026-12-01T00:00:00.000Z', horizon_days: 90 });
  });

  it('counts agreement of churn_prediction and risk tier, who answered, and who each flags at each threshold', () => {
    const report = comparisonReport(
      input([pair(0.1, 0.2), pair(0.45, 0.55, null, 'challenger'), pair(0.5, 0.49), pair(0.75, 0.85), pair(0.9, 0.69), pair(0.3, 0.3)]),
    );
    const [comparison] = report.comparisons;
    expect(comparison!.rows).toBe(6);
    expect(comparison!.served_by).toEqual({ champion: 5, challenger: 1 });
    // Predictions at 0.5 (at least the threshold): champion yes for 0.5, 0.75, 0.9; challenger for 0.55, 0.85, 0.69.
    // Kappa: p_o = 4/6, p_e = (3/6)(3/6) + (3/6)(3/6) = 1/2.
    expect(comparison!.agreement.prediction).toEqual({ threshold: 0.5, share: 4 / 6, cohen_kappa: (4 / 6 - 0.5) / 0.5, both_yes: 2, champion_only: 1, challenger_only: 1 });
    // Tiers: champion L, M, M, H, H, L; challenger L, M, M, H, M, L.
    expect(comparison!.agreement.risk_tier).toMatchObject({
      share: 5 / 6,
      champion: { LOW: 2, MEDIUM: 2, HIGH: 2 },
      challenger: { LOW: 2, MEDIUM: 3, HIGH: 1 },
      matrix: { LOW: { LOW: 2, MEDIUM: 0, HIGH: 0 }, MEDIUM: { LOW: 0, MEDIUM: 2, HIGH: 0 }, HIGH: { LOW: 0, MEDIUM: 1, HIGH: 1 } },
    });
    expect(comparison!.agreement.risk_tier.cohen_kappa).toBeCloseTo((5 / 6 - (2 * 2 + 2 * 3 + 2 * 1) / 36) / (1 - 12 / 36), 14);
    expect(comparison!.thresholds).toEqual([
      { threshold: 0.5, flagged_by_champion: 3, flagged_by_challenger: 3, flagged_by_both: 2, jaccard: 2 / 4 },
      { threshold: 0.8, flagged_by_champion: 1, flagged_by_challenger: 1, flagged_by_both: 0, jaccard: 0 },
    ]);
    expect(comparison!.psi.bins_from).toBe('deciles');
  });

  it('one entry per champion and challenger version, in version order', () => {
    const report = comparisonReport(input([{ ...pair(0.1, 0.2), challengerVersion: '3.0.0' }, pair(0.2, 0.3), pair(0.4, 0.3)]));
    expect(report.comparisons.map((c) => [c.champion_version, c.challenger_version, c.rows])).toEqual([
      ['1.0.0', '2.0.0', 2],
      ['1.0.0', '3.0.0', 1],
    ]);
  });

  it('uses the champion card\'s score bins when given, and says so', () => {
    const profile: DriftFeatureReference = { name: 'churn_probability', kind: 'bins', edges: [0.2, 0.5], shares: [0.3, 0.4, 0.3] };
    const [comparison] = comparisonReport(input([pair(0.1, 0.2), pair(0.3, 0.6)], { scoreBins: { modelVersion: '1.0.0', profile } })).comparisons;
    expect(comparison!.psi.bins_from).toBe('model card of 1.0.0');
    expect(comparison!.psi.value).toBeCloseTo(scorePsi([0.1, 0.3], [0.2, 0.6], profile)!, 14);
  });

  it(`too few labeled rows: below ${MIN_LABELED_PER_CLASS} churners or stayers, the figures are shown and no verdict is given`, () => {
    const labeled = syntheticPairs(2000, 10, { shift: 0.3 }).filter((p) => p.churned !== null);
    const churners = labeled.filter((p) => p.churned).slice(0, MIN_LABELED_PER_CLASS - 1);
    const stayers = labeled.filter((p) => !p.churned).slice(0, 500);
    const [comparison] = comparisonReport(input([...churners, ...stayers])).comparisons;
    expect(comparison!.verdict).toBe('too_few_labeled_rows');
    expect(comparison!.notes[0]).toBe(`too few labeled rows to compare AUCs: ${MIN_LABELED_PER_CLASS - 1} churners and 500 stayers among the labeled pairs, at least ${MIN_LABELED_PER_CLASS} of each needed`);
    expect(comparison!.labeled.auc_difference.value).not.toBeNull();
    // One churner more and the verdict is given.
    const more = labeled.filter((p) => p.churned).slice(0, MIN_LABELED_PER_CLASS);
    expect(comparisonReport(input([...more, ...stayers])).comparisons[0]!.verdict).not.toBe('too_few_labeled_rows');
  });

  it('challenger better, worse, or no detectable difference: by where the interval lies', () => {
    const sharp = syntheticPairs(3000, 11, { noise: 0.02 });
    const better = comparisonReport(input(sharp)).comparisons[0]!;
    expect(better.labeled.auc_difference.ci_low).toBeGreaterThan(0);
    expect(better.verdict).toBe('challenger_better');
    expect(better.notes[0]).toMatch(/^challenger better: AUC difference 0\.\d{4} \(95 % CI 0\.\d{4} to 0\.\d{4}, p = /);

    const swapped = sharp.map((p) => ({ ...p, champion: p.challenger, challenger: p.champion }));
    const worse = comparisonReport(input(swapped)).comparisons[0]!;
    expect(worse.verdict).toBe('challenger_worse');
    expect(worse.labeled.auc_difference.ci_high).toBeLessThan(0);

    const alike = syntheticPairs(300, 12, { noise: 0.15 }).map((p) => ({ ...p, challenger: Math.min(1, p.champion + 0.01) }));
    const same = comparisonReport(input(alike)).comparisons[0]!;
    expect(same.verdict).toBe('no_detectable_difference');
  });

  it('an interval that includes 0 is no detectable difference, and the note says so', () => {
    // Two equally noisy views of the truth: neither is better, and 400 rows cannot tell them apart.
    const pairs = syntheticPairs(400, 13, { noise: 0.15 });
    const comparison = comparisonReport(input(pairs)).comparisons[0]!;
    const { ci_low, ci_high } = comparison.labeled.auc_difference;
    expect(ci_low!).toBeLessThan(0);
    expect(ci_high!).toBeGreaterThan(0);
    expect(comparison.verdict).toBe('no_detectable_difference');
    expect(comparison.notes[0]).toMatch(/^the interval includes 0: no detectable difference/);
  });

  it('AUCs and precision/recall cover the labeled pairs only; the agreement covers them all', () => {
    const pairs = syntheticPairs(500, 14, { labeled: 0.5 });
    const labeled = pairs.filter((p) => p.churned !== null);
    const comparison = comparisonReport(input(pairs)).comparisons[0]!;
    expect(comparison.rows).toBe(500);
    expect(comparison.labeled.rows).toBe(labeled.length);
    const { a, churned } = labeledOf(pairs);
    const auc = rocAucDeLong(a, churned)!;
    expect(comparison.labeled.champion.roc_auc).toEqual({ value: auc.value, ci_low: auc.ci_low, ci_high: auc.ci_high });
    const flagged = labeled.filter((p) => p.challenger >= 0.8);
    const hits = flagged.filter((p) => p.churned).length;
    expect(comparison.labeled.challenger.thresholds[1]!.flagged).toBe(flagged.length);
    expect(comparison.labeled.challenger.thresholds[1]!.precision.value).toBeCloseTo(hits / flagged.length, 14);
    expect(comparison.labeled.challenger.thresholds[1]!.recall.value).toBeCloseTo(hits / churned.filter(Boolean).length, 14);
    expect(comparison.notes).toContain(`${500 - labeled.length} of 500 pairs have no outcome yet: the agreement figures cover them, the AUCs do not`);
  });
});
