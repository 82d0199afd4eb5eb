import { Type, type Static } from '@sinclair/typebox';
import { FEATURE_NAMES } from './customer-features.js';
import { StringEnum } from './string-enum.js';

const FeatureName = StringEnum(FEATURE_NAMES, { description: 'A feature, by its request field name.' });

export const REASON_COUNT = 3;

export const Explanation = Type.Object(
  {
    base_value: Type.Number({
      description: "The model's expected raw output over its training data, in log-odds of churn (4 decimals). base_value plus every contribution's shap is the log-odds of this prediction.",
    }),
    contributions: Type.Array(
      Type.Object({
        feature: FeatureName,
        value: Type.Number({ description: 'The value sent.' }),
        shap: Type.Number({ description: "How much this value moves the prediction from base_value (the average customer's), in log-odds (4 decimals): positive raises the churn risk." }),
      }),
      { description: "Every feature, in the model's column order: its exact SHAP value (path-dependent TreeSHAP)." },
    ),
    reasons: Type.Array(
      Type.Object({
        feature: FeatureName,
        shap: Type.Number(),
        phrase: Type.String({ description: 'The reason in words, for an agent or a customer-facing tool.' }),
      }),
      { maxItems: REASON_COUNT, description: `Up to ${REASON_COUNT} features that raise the churn risk the most, strongest first (positive SHAP values only).` },
    ),
  },
  { $id: 'Explanation', title: 'Explanation', description: 'Why the model gave this probability. SHAP values explain the model, not causation.' },
);
export type Explanation = Static<typeof Explanation>;

export const ExplainQuery = Type.Object({
  explain: Type.Optional(
    StringEnum(['true', 'false'], {
      default: 'false',
      description: 'true adds an explanation to each prediction: exact SHAP values and the top reasons. The answer is otherwise unchanged.',
    }),
  ),
});
