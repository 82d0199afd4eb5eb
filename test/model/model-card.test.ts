import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cardContentSha256, readModelIdentity } from '../../src/data-plane/model-card-file.js';
import { readOnnxMetadata } from '../../src/data-plane/onnx-trees.js';
import { FEATURE_NAMES, ModelFeatures } from '../../src/schemas/customer-features.js';
import type { ModelCard as ServedCard } from '../../src/schemas/model-card.js';

interface CardFeature {
  index: number;
  name: string;
  type: string;
  valid_range: { min: number; max: number; inclusive: boolean };
}
interface Candidate {
  name: string;
  hyperparameters: Record<string, number>;
  train_cv_roc_auc_mean: number;
  train_cv_roc_auc_std: number;
  train_cv_roc_auc_folds: number[];
}
type Profile =
  | { name: string; kind: 'values'; values: number[]; shares: number[] }
  | { name: string; kind: 'bins'; edges: number[]; shares: number[] };
interface ModelCard {
  model_version: string;
  onnx: { file: string; sha256: string; size_bytes: number };
  feature_names: string[];
  features: CardFeature[];
  selection: string;
  gradient_boosting_grid: Record<string, number[]>;
  candidates: Candidate[];
  chosen_model: { name: string; train_cv_roc_auc_mean: number; hyperparameters: Record<string, unknown> };
  holdout_metrics: { roc_auc: number; log_loss: number; brier_score: number; accuracy_at_0_5: number };
  calibration: { lower: number; upper: number; rows: number; mean_predicted: number | null; observed_churn_rate: number | null }[];
  operating_points: { threshold: number; flagged: number; flagged_share: number; precision: number | null; recall: number }[];
  explainability: {
    base_value: number;
    reference_fixture: string;
    global_importance: { feature: string; mean_abs_shap: number }[];
    caveats: string[];
  };
  drift_reference: { rows: number; bin_rule: string; features: Profile[]; score: Profile };
  training_data: { rows_train: number; rows_holdout: number };
}
interface ShapFixture {
  model_version: string;
  onnx_sha256: string;
  base_value: number;
}

const card = JSON.parse(readFileSync(new URL('../../models/model_card.json', import.meta.url), 'utf8')) as ModelCard;
const onnxBytes = readFileSync(new URL('../../models/churn_model.onnx', import.meta.url));
const { version, cardSha256 } = readModelIdentity(onnxBytes, 'models/churn_model.onnx');
const shapFixture = JSON.parse(readFileSync(new URL('../fixtures/shap.json', import.meta.url), 'utf8')) as ShapFixture;
const parityFixture = JSON.parse(readFileSync(new URL('../fixtures/parity.json', import.meta.url), 'utf8')) as { model_version: string };

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

/**
 * The training pipeline (Python) and the service (TypeScript) each state the feature contract;
 * the model card is where they meet. This fails when either side drifts.
 */
describe('the model card and the service agree', () => {
  it('on the feature order', () => {
    expect(card.feature_names).toEqual([...FEATURE_NAMES]);
    expect(card.features.map((feature) => [feature.index, feature.name])).toEqual(FEATURE_NAMES.map((name, index) => [index, name]));
  });

  it('on every type and inclusive range', () => {
    for (const feature of card.features) {
      const schema = ModelFeatures.properties[feature.name as keyof typeof ModelFeatures.properties];
      expect({ type: schema.type, min: schema.minimum, max: schema.maximum }, feature.name).toEqual({
        type: feature.type,
        min: feature.valid_range.min,
        max: feature.valid_range.max,
      });
      expect(feature.valid_range.inclusive).toBe(true);
    }
  });

  it('on the version, which the model file and the fixtures carry too', () => {
    expect(card.model_version).toBe(version);
    expect(shapFixture.model_version).toBe(version);
    expect(parityFixture.model_version).toBe(version);
  });
});

describe('the model card and the model file are bound both ways', () => {
  it('the card records the sha256 and size of models/churn_model.onnx', () => {
    expect(card.onnx.file).toBe('models/churn_model.onnx');
    expect(card.onnx.sha256).toBe(createHash('sha256').update(onnxBytes).digest('hex'));
    expect(card.onnx.size_bytes).toBe(onnxBytes.length);
  });

  it("the file records the sha256 of the card's canonical content, as the service computes it from the training pipeline's JSON", () => {
    expect(cardSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(cardContentSha256(card as unknown as ServedCard)).toBe(cardSha256);
  });

  it('the file names its model and training data in its metadata', () => {
    const metadata = readOnnxMetadata(onnxBytes);
    expect(JSON.parse(metadata.get('feature_names')!)).toEqual([...FEATURE_NAMES]);
    expect(metadata.get('model_type')).toBe(card.chosen_model.name);
    expect(metadata.get('training_data_sha256')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names the same file as the SHAP fixture, with the same base value', () => {
    expect(shapFixture.onnx_sha256).toBe(card.onnx.sha256);
    expect(shapFixture.base_value).toBe(card.explainability.base_value);
    expect(card.explainability.reference_fixture).toBe('test/fixtures/shap.json');
  });
});

describe('the model card records a choice made by cross-validation', () => {
  it('compared logistic regression and every point of the gradient boosting grid', () => {
    const grid = Object.values(card.gradient_boosting_grid);
    const points = grid.reduce((count, values) => count * values.length, 1);
    expect(card.candidates.filter((candidate) => candidate.name === 'gradient_boosting')).toHaveLength(points);
    expect(card.candidates.filter((candidate) => candidate.name === 'logistic_regression')).toHaveLength(1);
    expect(card.candidates).toHaveLength(points + 1);
  });

  it('chose the first candidate with the best mean train CV ROC AUC, which meets the 0.82 release gate', () => {
    const best = card.candidates.reduce((a, b) => (b.train_cv_roc_auc_mean > a.train_cv_roc_auc_mean ? b : a));
    expect(card.chosen_model.name).toBe(best.name);
    expect(card.chosen_model.hyperparameters).toMatchObject(best.hyperparameters);
    expect(card.chosen_model.train_cv_roc_auc_mean).toBe(best.train_cv_roc_auc_mean);
    expect(best.train_cv_roc_auc_mean).toBeGreaterThanOrEqual(0.82);
    expect(card.selection).toMatch(/CV ROC AUC on the training split/);
  });

  it('keeps the hold-out split out of the choice: candidates carry CV metrics only', () => {
    for (const candidate of card.candidates) {
      expect(Object.keys(candidate).sort(), candidate.name).toEqual(
        ['hyperparameters', 'name', 'train_cv_roc_auc_folds', 'train_cv_roc_auc_mean', 'train_cv_roc_auc_std'],
      );
      expect(candidate.train_cv_roc_auc_folds).toHaveLength(5);
      const mean = candidate.train_cv_roc_auc_folds.reduce((sum, auc) => sum + auc, 0) / 5;
      expect(mean).toBeCloseTo(candidate.train_cv_roc_auc_mean, 5);
    }
  });

  it('reports hold-out metrics for the chosen model', () => {
    expect(Object.keys(card.holdout_metrics).sort()).toEqual(['accuracy_at_0_5', 'brier_score', 'log_loss', 'roc_auc']);
  });
});

describe('the model card explains and evaluates the model', () => {
  it('lists the global SHAP importance of every feature, in column order', () => {
    expect(card.explainability.global_importance.map((entry) => entry.feature)).toEqual([...FEATURE_NAMES]);
    for (const entry of card.explainability.global_importance) expect(entry.mean_abs_shap).toBeGreaterThanOrEqual(0);
    expect(card.explainability.caveats.length).toBeGreaterThanOrEqual(3);
  });

  it('has 10 equal-width calibration bins over every hold-out row', () => {
    expect(card.calibration.map((bin) => [bin.lower, bin.upper])).toEqual(
      Array.from({ length: 10 }, (_, k) => [k / 10, (k + 1) / 10].map((bound) => Math.round(bound * 10) / 10)),
    );
    expect(sum(card.calibration.map((bin) => bin.rows))).toBe(card.training_data.rows_holdout);
    for (const bin of card.calibration) {
      expect(bin.mean_predicted === null, `bin ${bin.lower}`).toBe(bin.rows === 0);
      expect(bin.observed_churn_rate === null, `bin ${bin.lower}`).toBe(bin.rows === 0);
      if (bin.mean_predicted !== null) {
        expect(bin.mean_predicted).toBeGreaterThanOrEqual(bin.lower);
        expect(bin.mean_predicted).toBeLessThanOrEqual(bin.upper);
      }
    }
  });

  it('has operating points at 0.1 ... 0.9 that flag fewer customers as the threshold rises', () => {
    expect(card.operating_points.map((point) => point.threshold)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    const flagged = card.operating_points.map((point) => point.flagged);
    expect(flagged).toEqual([...flagged].sort((a, b) => b - a));
    for (const point of card.operating_points) {
      expect(point.flagged_share).toBeCloseTo(point.flagged / card.training_data.rows_holdout, 6);
      expect(point.precision === null).toBe(point.flagged === 0);
    }
  });
});

describe('the drift reference matches the service feature contract', () => {
  const drift = card.drift_reference;
  const profiles = [...drift.features, drift.score];

  it('profiles the service features in column order, plus the score', () => {
    expect(drift.features.map((profile) => profile.name)).toEqual([...FEATURE_NAMES]);
    expect(drift.score).toMatchObject({ name: 'churn_probability', kind: 'bins' });
    expect(drift.rows).toBe(card.training_data.rows_train);
  });

  it('has shares that sum to 1, one per value or per bin between ascending edges', () => {
    for (const profile of profiles) {
      expect(Math.abs(sum(profile.shares) - 1), profile.name).toBeLessThanOrEqual(1e-9);
      for (const share of profile.shares) expect(share).toBeGreaterThanOrEqual(0);
      if (profile.kind === 'bins') {
        expect(profile.shares, profile.name).toHaveLength(profile.edges.length + 1);
        for (let i = 1; i < profile.edges.length; i += 1) expect(profile.edges[i]!, profile.name).toBeGreaterThan(profile.edges[i - 1]!);
      } else {
        expect(profile.shares, profile.name).toHaveLength(profile.values.length);
      }
    }
  });

  it('uses values for small integer ranges, covering exactly the valid range, and bins otherwise', () => {
    for (const profile of drift.features) {
      const schema = ModelFeatures.properties[profile.name as keyof typeof ModelFeatures.properties];
      const [min, max] = [schema.minimum!, schema.maximum!];
      const smallIntegerRange = schema.type === 'integer' && max - min + 1 <= 20;
      expect(profile.kind, profile.name).toBe(smallIntegerRange ? 'values' : 'bins');
      if (profile.kind === 'values') {
        expect(profile.values).toEqual(Array.from({ length: max - min + 1 }, (_, i) => min + i));
      }
    }
  });
});
