/**
 * The request and response types of the churn API, for typed clients (see
 * examples/typescript-client.ts): `import type { CustomerFeatures } from 'churn-service/types'`.
 * Each comes from the TypeBox schema that validates it, so it cannot drift from the service.
 */
export type { BatchPredictionResponse } from './schemas/batch.js';
export type { CustomerFeatures } from './schemas/customer-features.js';
export type { ErrorResponse, ValidationErrorResponse, ValidationIssue } from './schemas/errors.js';
export type { HealthResponse, LiveResponse, ReadyResponse } from './schemas/health.js';
export type { PredictionResponse, RiskTier } from './schemas/prediction.js';

import type { CustomerFeatures } from './schemas/customer-features.js';

/** The body of POST /predict/batch. */
export interface BatchPredictionRequest {
  customers: CustomerFeatures[];
}
