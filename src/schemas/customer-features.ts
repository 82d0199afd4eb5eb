import { Type, type Static } from '@sinclair/typebox';
import { EXAMPLE_CUSTOMER } from './examples.js';

export { EXAMPLE_CUSTOMER };

/**
 * The model's inputs, in the model's column order: the ONNX graph takes a float32 [N, 5]
 * tensor whose columns follow these keys. Everything else (tensor layout, OpenAPI docs,
 * validation) is derived from this one object.
 */
export const ModelFeatures = Type.Object({
  tenure_months: Type.Integer({
    minimum: 0,
    maximum: 120,
    description: 'Months the customer has been with us (0 = signed up this month). Unit: months. Valid range: 0 to 120, inclusive.',
    examples: [2],
  }),
  monthly_charges: Type.Number({
    minimum: 0,
    maximum: 500,
    description: 'What the customer is charged per month now. Unit: USD per month. Valid range: 0 to 500, inclusive.',
    examples: [70.7],
  }),
  total_charges: Type.Number({
    minimum: 0,
    maximum: 1_000_000,
    description: 'Total charged to the customer so far. Unit: USD. Valid range: 0 to 1,000,000, inclusive (the cap keeps the value finite in float32).',
    examples: [151.65],
  }),
  num_products: Type.Integer({
    minimum: 1,
    maximum: 10,
    description: 'Number of products and add-on services the customer subscribes to. Unit: count. Valid range: 1 to 10, inclusive.',
    examples: [2],
  }),
  has_support_calls: Type.Integer({
    minimum: 0,
    maximum: 1,
    description:
      'Called support in the last 30 days: 1 for yes, 0 for no. Caveat: the training data has no support-call log, so the model learned this flag from the tech-support add-on (TechSupport = Yes); treat its effect with care.',
    examples: [0],
  }),
});
export type ModelFeatures = Static<typeof ModelFeatures>;
export type FeatureName = keyof ModelFeatures;

export const FEATURE_NAMES = Object.keys(ModelFeatures.properties) as readonly FeatureName[];
export const FEATURE_COUNT = FEATURE_NAMES.length;

export const CustomerId = Type.String({
  minLength: 1,
  maxLength: 128,
  description: 'Optional caller reference (a CRM id, say), echoed back in the prediction.',
  examples: ['9237-HQITU'],
});


/** Unknown properties are accepted (CRMs send extra fields) but never read or echoed. */
export const CustomerFeatures = Type.Composite(
  [ModelFeatures, Type.Object({ customer_id: Type.Optional(CustomerId) })],
  {
    $id: 'CustomerFeatures',
    title: 'CustomerFeatures',
    description: 'One customer, described by the five features the model reads.',
    examples: [EXAMPLE_CUSTOMER],
  },
);
export type CustomerFeatures = Static<typeof CustomerFeatures>;
