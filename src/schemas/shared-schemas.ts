import { ReloadResponse } from './admin.js';
import { ChallengerRequest, RolloutResponse } from './challenger.js';
import { BatchPredictionResponse } from './batch.js';
import { ComparisonReport } from './comparison.js';
import { CustomerFeatures } from './customer-features.js';
import { DriftReport } from './drift.js';
import { ErrorResponse, ValidationErrorResponse } from './errors.js';
import { Explanation } from './explanation.js';
import { HealthResponse, LiveResponse, ReadyResponse } from './health.js';
import { ModelCard } from './model-card.js';
import { ModelResponse } from './model-info.js';
import {
  InferenceErrorResponse,
  InferenceRequest,
  InferenceResponse,
  ModelMetadataResponse,
  ModelReadyResponse,
  ServerLiveResponse,
  ServerMetadataResponse,
  ServerReadyResponse,
} from './open-inference.js';
import { OutcomesRequest, OutcomesResponse } from './outcomes.js';
import { PerformanceReport } from './performance.js';
import { PredictionResponse } from './prediction.js';

/**
 * Every schema routes refer to by `$ref` (sharedRef): registered once with `app.addSchema`, so
 * validation, serialisation and the docs' components all read the same object.
 */
export const SHARED_SCHEMAS = [
  CustomerFeatures,
  Explanation,
  PredictionResponse,
  BatchPredictionResponse,
  HealthResponse,
  LiveResponse,
  ReadyResponse,
  ReloadResponse,
  ChallengerRequest,
  RolloutResponse,
  ModelCard,
  ModelResponse,
  DriftReport,
  OutcomesRequest,
  OutcomesResponse,
  PerformanceReport,
  ComparisonReport,
  ValidationErrorResponse,
  ErrorResponse,
  ServerMetadataResponse,
  ServerLiveResponse,
  ServerReadyResponse,
  ModelReadyResponse,
  ModelMetadataResponse,
  InferenceRequest,
  InferenceResponse,
  InferenceErrorResponse,
] as const;
