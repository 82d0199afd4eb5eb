import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, ModelFeatures } from '../../src/schemas/customer-features.js';

interface CardFeature {
  index: number;
  name: string;
  type: string;
  valid_range: { min: number; max: number; inclusive: boolean };
}
interface ModelCard {
  model_version: string;
  feature_names: string[];
  features: CardFeature[];
  holdout_metrics: { roc_auc: number };
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

  it('on the version, and the model meets the quality bar it was released with', () => {
    expect(card.model_version).toBe(version);
    expect(card.holdout_metrics.roc_auc).toBeGreaterThanOrEqual(0.82);
  });
});
