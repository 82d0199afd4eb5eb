import { describe, expect, it } from 'vitest';
import { buildTestApp, postJson, VALID_CUSTOMER } from '../helpers.js';

/** The example customer's unrounded probability, from the model itself. */
async function exampleProbability(): Promise<number> {
  const { app } = await buildTestApp();
  try {
    return (await app.dataPlane.scoreOne(VALID_CUSTOMER)).probability;
  } finally {
    await app.close();
  }
}

describe('thresholds from the environment', () => {
  it('move churn_prediction and risk_tier around the same probability', async () => {
    const probability = await exampleProbability();
    const above = (probability + 0.0001).toString();
    const below = (probability - 0.0001).toString();

    const strict = await buildTestApp({ PREDICTION_THRESHOLD: above, HIGH_RISK_THRESHOLD: '1', MEDIUM_RISK_THRESHOLD: above });
    const lenient = await buildTestApp({ PREDICTION_THRESHOLD: below, HIGH_RISK_THRESHOLD: below, MEDIUM_RISK_THRESHOLD: '0' });
    const middle = await buildTestApp({ PREDICTION_THRESHOLD: below, HIGH_RISK_THRESHOLD: above, MEDIUM_RISK_THRESHOLD: below });
    try {
      expect((await postJson(strict.app, '/predict', VALID_CUSTOMER)).json()).toMatchObject({ churn_prediction: false, risk_tier: 'LOW' });
      expect((await postJson(lenient.app, '/predict', VALID_CUSTOMER)).json()).toMatchObject({ churn_prediction: true, risk_tier: 'HIGH' });
      expect((await postJson(middle.app, '/predict', VALID_CUSTOMER)).json()).toMatchObject({ churn_prediction: true, risk_tier: 'MEDIUM' });
    } finally {
      await Promise.all([strict.app.close(), lenient.app.close(), middle.app.close()]);
    }
  });
});
