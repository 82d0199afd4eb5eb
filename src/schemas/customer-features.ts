import { Type, type Static } from '@sinclair/typebox';

/**
 * The model's inputs, in the model's column order: the ONNX graph takes a float32 [N, 5]
 * tensor whose columns follow these keys. Everything else (tensor layout, OpenAPI docs,
 * validation) is derived from this one object.
 */
export const ModelFeatures = Type.Object({
  tenure_months: Type.Integer({
    minimum: 0,
    maximum: 120,
    description: 'Months the customer has been with us.',
    examples: [2],
  }),
  monthly_charges: Type.Number({
    minimum: 0,
    maximum: 500,
    description: 'Current monthly charge, USD.',
    examples: [70.7],
  }),
  total_charges: Type.Number({
    minimum: 0,
    maximum: 1_000_000,
    description: 'Total charged to date, USD. The cap keeps the value finite in float32.',
    examples: [151.65],
  }),
  num_products: Type.Integer({
    minimum: 1,
    maximum: 10,
    description: 'Number of products and services subscribed.',
    examples: [2],
  }),
  has_support_calls: Type.Integer({
    minimum: 0,
    maximum: 1,
    description: 'Called support in the last 30 days: 1 for yes, 0 for no.',
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

export const EXAMPLE_CUSTOMER = {
  customer_id: '9237-HQITU',
  tenure_months: 2,
  monthly_charges: 70.7,
  total_charges: 151.65,
  num_products: 2,
  has_support_calls: 0,
} as const;

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
