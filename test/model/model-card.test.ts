import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, ModelFeatures } from '../../src/schemas/customer-features.js';

interface CardFeature {
  index: number;
  name: string;
  type: string;
  valid_range: { min: number; max: number; inclusive: boolean };
}
interface Candidate {
  name: string;
  train_cv_roc_auc_mean: number;
  train_cv_roc_auc_std: number;
  train_cv_roc_auc_folds: number[];
}
interface ModelCard {
  model_version: string;
  feature_names: string[];
  features: CardFeature[];
  selection: string;
  candidates: Candidate[];
  chosen_model: { name: string; train_cv_roc_auc_mean: number };
  holdout_metrics: { roc_auc: number; log_loss: number; brier_score: number; accuracy_at_0_5: number };
}

const card = JSON.parse(readFileSync(new URL('../../models/model_card.json', import.meta.url), 'utf8')) as ModelCard;
const version = readFileSync(new URL('../../models/model_version.txt', import.meta.url), 'utf8').trim();

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

  it('on the version', () => {
    expect(card.model_version).toBe(version);
  });
});

describe('the model card records a choice made by cross-validation', () => {
  it('chose the candidate with the best mean train CV ROC AUC, which meets the 0.82 release gate', () => {
    const best = card.candidates.reduce((a, b) => (b.train_cv_roc_auc_mean > a.train_cv_roc_auc_mean ? b : a));
    expect(card.chosen_model.name).toBe(best.name);
    expect(card.chosen_model.train_cv_roc_auc_mean).toBe(best.train_cv_roc_auc_mean);
    expect(best.train_cv_roc_auc_mean).toBeGreaterThanOrEqual(0.82);
    expect(card.selection).toMatch(/CV ROC AUC on the training split/);
  });

  it('keeps the hold-out split out of the choice: candidates carry CV metrics only', () => {
    for (const candidate of card.candidates) {
      expect(Object.keys(candidate).sort(), candidate.name).toEqual(
        ['name', 'train_cv_roc_auc_folds', 'train_cv_roc_auc_mean', 'train_cv_roc_auc_std'],
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
