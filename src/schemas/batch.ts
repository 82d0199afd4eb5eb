import { Type, type Static } from '@sinclair/typebox';
import { CustomerFeatures } from './customer-features.js';
import { EXAMPLE_BATCH_REQUEST } from './examples.js';
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
      examples: [EXAMPLE_BATCH_REQUEST],
    },
  );
}

export const BatchPredictionResponse = Type.Object(
  {
    predictions: Type.Array(sharedRef(PredictionResponse), { description: 'One prediction per customer, in the order sent.' }),
    batch_size: Type.Integer({ minimum: 1, description: 'Number of customers scored.' }),
    latency_ms: Type.Number({ description: 'Time to build the input tensor and run the model once. Unit: milliseconds, 2 decimals; HTTP and JSON are not included.' }),
  },
  { $id: 'BatchPredictionResponse', title: 'BatchPredictionResponse' },
);
export type BatchPredictionResponse = Static<typeof BatchPredictionResponse>;
