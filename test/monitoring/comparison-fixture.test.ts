import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { comparisonReport, MIN_LABELED_PER_CLASS, type PairedScore } from '../../src/monitoring/comparison.js';
import type { DriftFeatureReference } from '../../src/schemas/model-card.js';

/**
 * The comparison against the Python reference (test/fixtures/comparison/make-fixture.py): the
 * paired DeLong test from its O(m n) definition, scikit-learn's ROC AUC and Cohen's kappa,
 * scipy's Spearman, PSI and agreement counted in numpy, on synthetic edge cases and on the 7,043
 * Telco customers scored by the champion (1.2.0) and the challenger (logistic regression
 * 2.0.0-rc.1) as the service serves them.
 */
interface Point {
  threshold: number;
  flagged: number;
  hits: number;
  precision: number | null;
  recall: number | null;
}
interface Expected {
  rows: number;
  labeled: number;
  positives: number;
  negatives: number;
  champion: { roc_auc: number | null; thresholds: Point[] };
  challenger: { roc_auc: number | null; thresholds: Point[] };
  paired_delong: { difference: number; se: number; ci: [number, number]; z: number | null; p_value: number | null } | null;
  agreement: { agree: number; share: number | null; counts: { both_yes: number; both_no: number; champion_only: number; challenger_only: number }; cohen_kappa: number | null };
  tiers: { agree: number; share: number | null; matrix: number[][]; cohen_kappa: number | null };
  spearman: number | null;
  psi: { value: number | null };
  overlap: { threshold: number; champion_flagged: number; challenger_flagged: number; both: number; jaccard: number | null }[];
}
interface Case {
  name: string;
  rows: { champion: number[]; challenger: number[]; churned: (boolean | null)[] };
  expected: Expected;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/comparison/cases.json', import.meta.url), 'utf8')) as {
  models: { champion: { version: string }; challenger: { version: string } };
  rules: { thresholds: number[]; prediction_threshold: number; tiers: { high: number; medium: number }; psi_edges: number[] };
  cases: Case[];
};
const { rules } = fixture;
const bins: DriftFeatureReference = { name: 'churn_probability', kind: 'bins', edges: rules.psi_edges, shares: rules.psi_edges.concat(1).map(() => 0.1) };

function report({ rows }: Case) {
  const pairs: PairedScore[] = rows.champion.map((champion, i) => ({
    championVersion: fixture.models.champion.version,
    challengerVersion: fixture.models.challenger.version,
    champion,
    challenger: rows.challenger[i]!,
    servedBy: 'champion',
    churned: rows.churned[i]!,
  }));
  return comparisonReport({
    pairs,
    window: { since: new Date('2026-11-01T00:00:00Z'), until: new Date('2026-12-01T00:00:00Z'), horizonDays: 90 },
    rule: { prediction: rules.prediction_threshold, highRisk: rules.tiers.high, mediumRisk: rules.tiers.medium },
    thresholds: rules.thresholds,
    scoreBins: { modelVersion: fixture.models.champion.version, profile: bins },
    computedAt: new Date('2026-12-01T00:00:00Z'),
  });
}

/** Equal to 1e-12 relative: sums in another order move the last bits, nothing more. */
const close = (actual: number | null | undefined, expected: number | null) => {
  if (expected === null) expect(actual ?? null).toBeNull();
  else expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)));
};

describe.each(fixture.cases.filter((c) => c.expected.rows > 0))('comparison against the Python reference: $name', (testCase) => {
  const { expected } = testCase;
  const [comparison] = report(testCase).comparisons;

  it('rows, labels, agreement of churn_prediction and risk tier with Cohen\'s kappa', () => {
    expect(comparison!.rows).toBe(expected.rows);
    expect(comparison!.labeled.rows).toBe(expected.labeled);
    expect(comparison!.labeled.churners).toBe(expected.positives);
    const { prediction, risk_tier: tier } = comparison!.agreement;
    expect([prediction.both_yes, prediction.champion_only, prediction.challenger_only]).toEqual([expected.agreement.counts.both_yes, expected.agreement.counts.champion_only, expected.agreement.counts.challenger_only]);
    close(prediction.share, expected.agreement.share);
    close(prediction.cohen_kappa, expected.agreement.cohen_kappa);
    close(tier.share, expected.tiers.share);
    close(tier.cohen_kappa, expected.tiers.cohen_kappa);
    const order = ['LOW', 'MEDIUM', 'HIGH'] as const;
    expect(order.map((a) => order.map((b) => tier.matrix[a][b]))).toEqual(expected.tiers.matrix);
  });

  it('Spearman (scipy), PSI in the champion\'s score bins, flagged overlap', () => {
    close(comparison!.spearman, expected.spearman);
    close(comparison!.psi.value, expected.psi.value);
    expect(comparison!.thresholds).toEqual(
      expected.overlap.map((point) => ({ threshold: point.threshold, flagged_by_champion: point.champion_flagged, flagged_by_challenger: point.challenger_flagged, flagged_by_both: point.both, jaccard: point.jaccard })),
    );
  });

  it('each model\'s ROC AUC (scikit-learn) and precision/recall at each threshold', () => {
    for (const role of ['champion', 'challenger'] as const) {
      const measured = comparison!.labeled[role];
      close(measured.roc_auc.value, expected[role].roc_auc);
      measured.thresholds.forEach((point, index) => {
        const reference = expected[role].thresholds[index]!;
        expect(point.flagged).toBe(reference.flagged);
        close(point.precision.value, reference.precision);
        close(point.recall.value, reference.recall);
      });
    }
  });

  it('the paired AUC difference, its 95 % interval and p-value (DeLong for correlated ROC curves, by definition)', () => {
    const difference = comparison!.labeled.auc_difference;
    const reference = expected.paired_delong;
    if (reference === null) {
      // Fewer than two of a class: no covariance. The difference itself is there when both classes are.
      expect([difference.ci_low, difference.ci_high, difference.p_value]).toEqual([null, null, null]);
      return;
    }
    close(difference.value, reference.difference);
    if (reference.se === 0) {
      // Identical rankings: a point, not an interval; the report gives no bounds rather than [0, 0].
      expect([difference.ci_low, difference.ci_high, difference.p_value]).toEqual([null, null, null]);
      return;
    }
    close(difference.ci_low, Math.max(-1, reference.ci[0]));
    close(difference.ci_high, Math.min(1, reference.ci[1]));
    // The p-value from a normal tail good to 1.2e-7 relative (Numerical Recipes' erfc).
    expect(Math.abs(difference.p_value! - reference.p_value!)).toBeLessThanOrEqual(2e-7 * reference.p_value!);
  });
});

describe('the verdicts on the real models', () => {
  const byName = (name: string) => fixture.cases.find((c) => c.name === name)!;

  it('on all 7,043 Telco customers the logistic-regression challenger is worse, and the note says by how much', () => {
    const [comparison] = report(byName('telco')).comparisons;
    expect(comparison!.verdict).toBe('challenger_worse');
    expect(comparison!.notes[0]).toBe('challenger worse: AUC difference -0.0216 (95 % CI -0.0256 to -0.0176, p = 8.6e-26)');
  });

  it('on the 1,409 hold-out customers too, and the small cases get no verdict', () => {
    const holdout = report(byName('telco_holdout')).comparisons[0]!;
    expect(holdout.labeled.churners).toBeGreaterThanOrEqual(MIN_LABELED_PER_CLASS);
    expect(holdout.verdict).toBe(holdout.labeled.auc_difference.ci_high! < 0 ? 'challenger_worse' : 'no_detectable_difference');
    for (const name of ['ties', 'tiny', 'one_positive', 'identical', 'unlabeled']) expect(report(byName(name)).comparisons[0]!.verdict).toBe('too_few_labeled_rows');
    expect(report(byName('empty')).comparisons).toEqual([]);
  });
});
