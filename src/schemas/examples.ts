import type { ErrorResponse, ValidationErrorResponse } from './errors.js';
import type { InferenceErrorResponse, InferenceResponse, ModelMetadataResponse } from './open-inference.js';

export { EXAMPLE_BATCH_REQUEST, EXAMPLE_CUSTOMER, EXAMPLE_INFER_REQUEST, EXAMPLE_LOYAL_CUSTOMER } from './example-requests.js';

/**
 * The examples the OpenAPI document shows. They are the bundled model's real answers, and
 * test/app/openapi-examples.test.ts sends each example request and compares, so a retrained
 * model cannot leave a stale one behind.
 */
export const EXAMPLE_MODEL_VERSION = '1.2.0';

export const EXAMPLE_PREDICTION = {
  churn_probability: 0.6338,
  churn_prediction: true,
  risk_tier: 'MEDIUM',
  model_version: EXAMPLE_MODEL_VERSION,
  customer_id: '9237-HQITU',
} as const;

export const EXAMPLE_LOYAL_PREDICTION = {
  churn_probability: 0.0705,
  churn_prediction: false,
  risk_tier: 'LOW',
  model_version: EXAMPLE_MODEL_VERSION,
  customer_id: '7795-CFOCW',
} as const;

export const EXAMPLE_BATCH_RESPONSE = { predictions: [EXAMPLE_PREDICTION, EXAMPLE_LOYAL_PREDICTION], batch_size: 2, latency_ms: 0.27 };

const errorBody = (statusCode: number, error: string, message: string): ErrorResponse => ({ statusCode, error, message, detail: message });

/** The error bodies, each what the service answers to the request named beside it in the test. */
export const EXAMPLE_VALIDATION_ERROR: ValidationErrorResponse = {
  statusCode: 422,
  error: 'Unprocessable Entity',
  message: 'tenure_months must be less than or equal to 120.',
  detail: [{ type: 'less_than_equal', loc: ['body', 'tenure_months'], msg: 'Input should be less than or equal to 120', input: 999, ctx: { le: 120 } }],
};

export const EXAMPLE_ERRORS = {
  400: errorBody(400, 'Bad Request', 'Body is nested deeper than 32 levels.'),
  401: errorBody(401, 'Unauthorized', 'A valid API key is required: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>".'),
  413: errorBody(413, 'Payload Too Large', 'Request body is too large'),
  415: errorBody(415, 'Unsupported Media Type', 'Content-Type text/plain is not accepted; send a UTF-8 JSON body with Content-Type: application/json.'),
  429: errorBody(429, 'Too Many Requests', 'Rate limit of 600 requests per minute reached; retry in 42 s.'),
  500: errorBody(500, 'Internal Server Error', 'Internal Server Error'),
  503: errorBody(503, 'Service Unavailable', 'The service is shutting down and takes no new predictions.'),
};

export const EXAMPLE_INFER_RESPONSE: InferenceResponse = {
  model_name: 'churn',
  model_version: EXAMPLE_MODEL_VERSION,
  id: 'crm-sync-42',
  outputs: [
    { name: 'label', datatype: 'INT64', shape: [2], data: [1, 0] },
    { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: [0.3662310838699341, 0.6337689161300659, 0.929538905620575, 0.07046109437942505] },
  ],
};

export const EXAMPLE_MODEL_METADATA: ModelMetadataResponse = {
  name: 'churn',
  versions: [EXAMPLE_MODEL_VERSION],
  platform: 'onnx_onnxv1',
  inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 5], parameters: { columns: 'tenure_months,monthly_charges,total_charges,num_products,has_support_calls' } }],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: [-1] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
  ],
};

/** The Open Inference Protocol's error bodies, each what the service answers to the request named beside it in the test. */
export const EXAMPLE_OIP_ERRORS: Record<400 | 401 | 404 | 413 | 415 | 429 | 500 | 503, InferenceErrorResponse> = {
  400: { error: "Input 'features' must have shape [N, 5], one row per customer; got [5]." },
  401: { error: EXAMPLE_ERRORS[401].message },
  404: { error: "Model 'churn' has no version '0.9.0'; the version served is '1.2.0'." },
  413: { error: EXAMPLE_ERRORS[413].message },
  415: { error: EXAMPLE_ERRORS[415].message },
  429: { error: EXAMPLE_ERRORS[429].message },
  500: { error: EXAMPLE_ERRORS[500].message },
  503: { error: EXAMPLE_ERRORS[503].message },
};
