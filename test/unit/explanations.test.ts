import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explainScores, reasonPhrase } from '../../src/churn-api/explanations.js';
import type { ServedModel } from '../../src/data-plane/model.js';
import type { TreeExplainer } from '../../src/data-plane/tree-explainer.js';
import { FEATURE_COUNT, FEATURE_NAMES, type ModelFeatures } from '../../src/schemas/customer-features.js';
import { REASON_COUNT } from '../../src/schemas/explanation.js';

/** A model whose explainer gives each row the SHAP values `shapOf` says, from the row it is given. */
function modelWith(version: string, shapOf: (features: Float32Array, row: number) => number[], baseValue = -1.25): Pick<ServedModel, 'explainer' | 'explanationsUnavailable' | 'version'> {
  const explainer = {
    baseValue,
    explainRows: (features: Float32Array, rows: number) => Float64Array.from({ length: rows * FEATURE_COUNT }, (_, index) => shapOf(features, Math.floor(index / FEATURE_COUNT))[index % FEATURE_COUNT]!),
  } as unknown as TreeExplainer;
  return { explainer, explanationsUnavailable: undefined, version };
}

const customer = (overrides: Partial<ModelFeatures> = {}): ModelFeatures => ({ tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0, ...overrides });
const rounded = (value: number) => Math.round(value * 10_000) / 10_000;

/** The reasons by their definition: positive values, strongest first (equal ones in column order, as a stable sort leaves them), at most REASON_COUNT. */
function reasonsByDefinition(shap: number[]) {
  return FEATURE_NAMES.map((feature, column) => ({ feature, exact: shap[column]! }))
    .filter(({ exact }) => exact > 0)
    .sort((a, b) => b.exact - a.exact)
    .slice(0, REASON_COUNT)
    .map(({ feature }) => feature);
}

describe('explainScores', () => {
  it('picks the reasons as a stable sort of the positive values would, ties and zeros included', () => {
    const value = fc.oneof(fc.constantFrom(0, -0, 0.5, -0.5, 1e-9), fc.double({ min: -3, max: 3, noNaN: true }));
    fc.assert(
      fc.property(fc.array(fc.array(value, { minLength: FEATURE_COUNT, maxLength: FEATURE_COUNT }), { minLength: 1, maxLength: 20 }), (rows) => {
        const model = modelWith('1.0.0', (_features, row) => rows[row]!);
        const explanations = explainScores(rows.map(() => ({ model: model as ServedModel })), rows.map(() => customer()));
        explanations.forEach((explanation, row) => {
          expect(explanation.reasons.map((reason) => reason.feature)).toEqual(reasonsByDefinition(rows[row]!));
          expect(explanation.contributions.map((contribution) => contribution.shap)).toEqual(rows[row]!.map(rounded));
          for (const reason of explanation.reasons) expect(reason.shap).toBe(rounded(rows[row]![FEATURE_NAMES.indexOf(reason.feature)]!));
        });
      }),
    );
  });

  it('words every value of tenure, products and the add-on flag as reasonPhrase does, and money too', () => {
    const everyFeatureRaises = modelWith('1.0.0', () => [5, 4, 3, 2, 1]);
    const customers = [
      ...Array.from({ length: 121 }, (_, tenure) => customer({ tenure_months: tenure })),
      ...Array.from({ length: 10 }, (_, products) => customer({ num_products: products + 1 })),
      customer({ has_support_calls: 1 }),
    ];
    const explanations = explainScores(customers.map(() => ({ model: everyFeatureRaises as ServedModel })), customers);
    explanations.forEach((explanation, row) => {
      expect(explanation.reasons.map((reason) => reason.phrase)).toEqual(['tenure_months', 'monthly_charges', 'total_charges'].map((feature) => reasonPhrase(feature as keyof ModelFeatures, customers[row]![feature as keyof ModelFeatures])));
    });
    const productsFirst = modelWith('1.0.0', () => [0, 0, 0, 2, 1]);
    const [products] = explainScores([{ model: productsFirst as ServedModel }], [customer({ num_products: 7, has_support_calls: 1 })]);
    expect(products!.reasons.map((reason) => reason.phrase)).toEqual([reasonPhrase('num_products', 7), reasonPhrase('has_support_calls', 1)]);
  });

  it("explains each row with its own model's explainer when a canary splits the batch", () => {
    const champion = modelWith('1.0.0', (features, row) => [features[row * FEATURE_COUNT]!, 0, 0, 0, 0], -1);
    const challenger = modelWith('2.0.0', (features, row) => [0, -features[row * FEATURE_COUNT]!, 0, 0, 0], -2);
    const models = [champion, challenger, challenger, champion, champion, challenger];
    const customers = models.map((_, row) => customer({ tenure_months: row + 1 }));
    const explanations = explainScores(models.map((model) => ({ model: model as ServedModel })), customers);
    explanations.forEach((explanation, row) => {
      const tenure = row + 1;
      if (models[row] === champion) expect(explanation).toMatchObject({ base_value: -1, contributions: [{ shap: tenure }, { shap: 0 }, {}, {}, {}] });
      else expect(explanation).toMatchObject({ base_value: -2, contributions: [{ shap: 0 }, { shap: -tenure }, {}, {}, {}], reasons: [] });
    });
  });
});
