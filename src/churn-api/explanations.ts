import type { Score } from '../data-plane/data-plane.js';
import { FEATURE_RULES, packRows } from '../data-plane/feature-rows.js';
import { ExplanationUnavailableError } from '../errors.js';
import { FEATURE_COUNT, FEATURE_NAMES, type FeatureName, type ModelFeatures } from '../schemas/customer-features.js';
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

/**
 * Every phrase of an integer feature with a small range (tenure, products, the add-on flag), made
 * once: most reasons of a batch then build no string. Money is worded per reason.
 */
const PHRASE_CACHE: (readonly string[] | undefined)[] = FEATURE_RULES.map((rule) =>
  rule.integer && rule.maximum - rule.minimum <= 1000
    ? Array.from({ length: rule.maximum - rule.minimum + 1 }, (_, index) => reasonPhrase(rule.name, rule.minimum + index))
    : undefined,
);

function phraseOf(column: number, value: number): string {
  // A value off the cached integers (none passes validation) reads undefined and is worded now.
  return PHRASE_CACHE[column]?.[value - FEATURE_RULES[column]!.minimum] ?? reasonPhrase(FEATURE_NAMES[column]!, value);
}

const rounded = (value: number) => Math.round(value * 10_000) / 10_000;

/**
 * One row's explanation from its SHAP values (`shap` from `offset`, in column order). Reasons: the
 * REASON_COUNT largest positive values, strongest first, equal ones in column order; picked by
 * insertion, without a sort or a closure per row.
 */
function explanationOf(baseValue: number, shap: Float64Array, offset: number, customer: ModelFeatures): Explanation {
  const contributions: Explanation['contributions'] = new Array(FEATURE_COUNT);
  const top: number[] = [];
  for (let column = 0; column < FEATURE_COUNT; column += 1) {
    const feature = FEATURE_NAMES[column]!;
    const exact = shap[offset + column]!;
    contributions[column] = { feature, value: customer[feature], shap: rounded(exact) };
    if (!(exact > 0)) continue;
    let at = top.length;
    while (at > 0 && shap[offset + top[at - 1]!]! < exact) at -= 1;
    if (at >= REASON_COUNT) continue;
    // Shifted by hand: splice would allocate the (empty) list of removed items on every insertion.
    if (top.length < REASON_COUNT) top.push(column);
    for (let move = top.length - 1; move > at; move -= 1) top[move] = top[move - 1]!;
    top[at] = column;
  }
  const reasons: Explanation['reasons'] = new Array(top.length);
  for (let rank = 0; rank < top.length; rank += 1) {
    const column = top[rank]!;
    const feature = FEATURE_NAMES[column]!;
    reasons[rank] = { feature, shap: contributions[column]!.shap, phrase: phraseOf(column, customer[feature]) };
  }
  return { base_value: baseValue, contributions, reasons };
}

/**
 * The explanation of each score, from the explainer of the very model that produced it: the rows
 * of one model (all of them, unless a canary split the batch) are explained in one pass.
 */
export function explainScores(scores: readonly Pick<Score, 'model'>[], customers: readonly ModelFeatures[]): Explanation[] {
  const explanations: Explanation[] = new Array(scores.length);
  let start = 0;
  while (start < scores.length) {
    const { model } = scores[start]!;
    let end = start + 1;
    while (end < scores.length && scores[end]!.model === model) end += 1;
    const { explainer, explanationsUnavailable, version } = model;
    if (!explainer) throw new ExplanationUnavailableError(version, explanationsUnavailable ?? 'it has no explainer');
    const rows = customers.slice(start, end);
    const shap = explainer.explainRows(packRows(rows), rows.length);
    const baseValue = rounded(explainer.baseValue);
    for (let row = 0; row < rows.length; row += 1) explanations[start + row] = explanationOf(baseValue, shap, row * FEATURE_COUNT, rows[row]!);
    start = end;
  }
  return explanations;
}
