import { Type, type Static } from '@sinclair/typebox';
import { CustomerFeatures, EXAMPLE_CUSTOMER } from './customer-features.js';
import { PredictionResponse } from './prediction.js';
import { sharedRef } from './shared-ref.js';

/** The maximum batch size is configuration, so the request schema is built from it. */
export function batchRequestSchema(maxItems: number) {
  return Type.Object(
    {
      customers: Type.Array(sharedRef(CustomerFeatures), {
        minItems: 1,
        maxItems,
        description: `Customers to score, 1 to ${maxItems}.`,
      }),
    },
    {
      $id: 'BatchPredictionRequest',
      title: 'BatchPredictionRequest',
      examples: [{ customers: [EXAMPLE_CUSTOMER, { ...EXAMPLE_CUSTOMER, customer_id: '7795-CFOCW', tenure_months: 45, monthly_charges: 42.3, total_charges: 1840.75, num_products: 4, has_support_calls: 1 }] }],
    },
  );
}

export const BatchPredictionResponse = Type.Object(
  {
    predictions: Type.Array(sharedRef(PredictionResponse), { description: 'One prediction per customer, in the order sent.' }),
    batch_size: Type.Integer({ minimum: 1, description: 'Number of customers scored.' }),
    latency_ms: Type.Number({ description: 'Time to build the input tensor and run the model, in ms, 2 decimals.' }),
  },
  { $id: 'BatchPredictionResponse', title: 'BatchPredictionResponse' },
);
export type BatchPredictionResponse = Static<typeof BatchPredictionResponse>;
