/**
 * The example requests the OpenAPI document shows: plain data that imports nothing, so a schema
 * can show one as its example. examples.ts re-exports them beside their answers; it imports the
 * response schemas' types, so a schema that took its example from there would close a cycle.
 */
export const EXAMPLE_CUSTOMER = {
  customer_id: '9237-HQITU',
  tenure_months: 2,
  monthly_charges: 70.7,
  total_charges: 151.65,
  num_products: 2,
  has_support_calls: 0,
} as const;

export const EXAMPLE_LOYAL_CUSTOMER = {
  customer_id: '7795-CFOCW',
  tenure_months: 45,
  monthly_charges: 42.3,
  total_charges: 1840.75,
  num_products: 4,
  has_support_calls: 1,
} as const;

export const EXAMPLE_BATCH_REQUEST = { customers: [EXAMPLE_CUSTOMER, EXAMPLE_LOYAL_CUSTOMER] };

/** The two example customers as one Open Inference Protocol request: FP32 [2, 5], in the model's column order. */
export const EXAMPLE_INFER_REQUEST = {
  id: 'crm-sync-42',
  inputs: [
    {
      name: 'features',
      datatype: 'FP32',
      shape: [2, 5],
      data: [
        [EXAMPLE_CUSTOMER.tenure_months, EXAMPLE_CUSTOMER.monthly_charges, EXAMPLE_CUSTOMER.total_charges, EXAMPLE_CUSTOMER.num_products, EXAMPLE_CUSTOMER.has_support_calls],
        [EXAMPLE_LOYAL_CUSTOMER.tenure_months, EXAMPLE_LOYAL_CUSTOMER.monthly_charges, EXAMPLE_LOYAL_CUSTOMER.total_charges, EXAMPLE_LOYAL_CUSTOMER.num_products, EXAMPLE_LOYAL_CUSTOMER.has_support_calls],
      ],
    },
  ],
} as const;
