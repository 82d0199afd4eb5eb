import type { Score } from '../data-plane/data-plane.js';
import { packRows } from '../data-plane/feature-rows.js';
import { ExplanationUnavailableError } from '../errors.js';
import { FEATURE_NAMES, type FeatureName, type ModelFeatures } from '../schemas/customer-features.js';
import { REASON_COUNT, type Explanation } from '../schemas/explanation.js';

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
const dollars = (value: number) => `$${value.toFixed(2)}`;

/** Each feature's value in words, for the reasons a retention agent reads. */
const PHRASES: Record<FeatureName, (value: number) => string> = {
  tenure_months: (value) => `a tenure of ${plural(value, 'month')}`,
  monthly_charges: (value) => `a monthly charge of ${dollars(value)}`,
  total_charges: (value) => `${dollars(value)} charged so far`,
  num_products: (value) => `having ${value} ${value === 1 ? 'product or service' : 'products and services'}`,
  // The field's name is the old API's; the flag it carries is the tech-support add-on (see the model card).
  has_support_calls: (value) => (value === 1 ? 'having the tech-support add-on' : 'having no tech-support add-on'),
};

/**
 * A reason in words: "a tenure of 2 months raises the churn risk above the average customer's".
 * A reason is a positive SHAP value, which moves the score up from the explainer's base value, the
 * average customer's log-odds; a customer at 3 % risk has reasons too, so the phrase says from where.
 */
export function reasonPhrase(feature: FeatureName, value: number): string {
  return `${PHRASES[feature](value)} raises the churn risk above the average customer's`;
}

const rounded = (value: number) => Math.round(value * 10_000) / 10_000;

/** The explanation of one score, from the explainer of the very model that produced it. */
export function explain(score: Pick<Score, 'model'>, customer: ModelFeatures): Explanation {
  const { explainer, explanationsUnavailable, version } = score.model;
  if (!explainer) throw new ExplanationUnavailableError(version, explanationsUnavailable ?? 'it has no explainer');
  const { baseValue, shap } = explainer.explain(packRows([customer]));
  const contributions = FEATURE_NAMES.map((feature, column) => ({ feature, value: customer[feature], shap: rounded(shap[column]!) }));
  const reasons = FEATURE_NAMES.map((feature, column) => ({ feature, column, exact: shap[column]! }))
    .filter(({ exact }) => exact > 0)
    .sort((a, b) => b.exact - a.exact)
    .slice(0, REASON_COUNT)
    .map(({ feature, exact }) => ({ feature, shap: rounded(exact), phrase: reasonPhrase(feature, customer[feature]) }));
  return { base_value: rounded(baseValue), contributions, reasons };
}
