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

const EXPLAIN = 'true adds an explanation to each prediction: exact SHAP values and the top reasons. The answer is otherwise unchanged. Left out, it is false.';

/**
 * The prediction routes' query. `explain` is a bool in the FastAPI service, which also reads 1/0,
 * yes/no, on/off, t/f and y/n in any case (pydantic's lax mode; the churn API converts the value
 * before validation). With STRICT_TYPES it is exactly the string 'true' or 'false'.
 *
 * It has no schema `default`: Swagger UI fills a parameter's default into Try it out and sends
 * it, so every call would carry ?explain=false. Left out, the handler reads it as false.
 */
export function explainQuery(strictTypes: boolean) {
  return Type.Object({
    explain: Type.Optional(
      strictTypes
        ? StringEnum(['true', 'false'], { description: EXPLAIN })
        : Type.Boolean({ description: `${EXPLAIN} Read as FastAPI reads a bool: true, 1, yes, on, t or y; false, 0, no, off, f or n; in any case.` }),
    ),
  });
}
