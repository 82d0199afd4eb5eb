import { describe, expect, it } from 'vitest';
import { riskTier, roundLatency, thresholdsFrom, toPrediction } from '../../src/churn-api/prediction-mapping.js';
import { loadConfig } from '../../src/config.js';

const DEFAULTS = { prediction: 0.5, highRisk: 0.7, mediumRisk: 0.4 };
const score = (probability: number, version = '1.0.0') => ({ probability, model: { path: '/m.onnx', version } });

describe('riskTier', () => {
  it.each([
    [0, 'LOW'],
    [0.3999, 'LOW'],
    [0.4, 'MEDIUM'],
    [0.6999, 'MEDIUM'],
    [0.7, 'HIGH'],
    [1, 'HIGH'],
  ])('puts %d in %s with the default thresholds', (probability, tier) => {
    expect(riskTier(probability, DEFAULTS)).toBe(tier);
  });
});

describe('toPrediction', () => {
  it('compares the unrounded probability with the thresholds', () => {
    // 0.69996 rounds to 0.7 for display but is below the HIGH threshold.
    expect(toPrediction(score(0.69996, '1.0.0'), {}, DEFAULTS)).toEqual({
      churn_probability: 0.7,
      churn_prediction: true,
      risk_tier: 'MEDIUM',
      model_version: '1.0.0',
    });
    expect(toPrediction(score(0.49996, '1.0.0'), {}, DEFAULTS).churn_prediction).toBe(false);
    expect(toPrediction(score(0.5, '1.0.0'), {}, DEFAULTS).churn_prediction).toBe(true);
  });

  it('rounds the probability to 4 decimals', () => {
    expect(toPrediction(score(0.123456, '1.0.0'), {}, DEFAULTS).churn_probability).toBe(0.1235);
  });

  it('echoes customer_id only when given', () => {
    expect(toPrediction(score(0.1, '2.0.0'), { customer_id: 'abc' }, DEFAULTS).customer_id).toBe('abc');
    expect(toPrediction(score(0.1, '2.0.0'), {}, DEFAULTS)).not.toHaveProperty('customer_id');
  });
});

describe('thresholdsFrom', () => {
  it('reads the three thresholds from the configuration', () => {
    expect(thresholdsFrom(loadConfig({ PREDICTION_THRESHOLD: '0.3', HIGH_RISK_THRESHOLD: '0.9', MEDIUM_RISK_THRESHOLD: '0.6' }))).toEqual({
      prediction: 0.3,
      highRisk: 0.9,
      mediumRisk: 0.6,
    });
  });
});

describe('roundLatency', () => {
  it.each([
    [0.123456, 0.12],
    [12.345, 12.35],
    [0, 0],
  ])('reports %d ms as %d', (ms, reported) => {
    expect(roundLatency(ms)).toBe(reported);
  });
});
