/**
 * A typed client for the churn API, for the mobile app's backend or any TypeScript caller.
 * The request and response types come from the `churn-service-types` package (packages/service-types,
 * generated from the same TypeBox schemas that validate requests), so a change to the API is a
 * compile error here, not a runtime surprise. Another project installs it with
 * `npm install churn-service-types` (or the tarball `npm pack packages/service-types` makes).
 *
 *   npx tsx examples/typescript-client.ts http://localhost:8000 [api-key]
 */
import type { BatchPredictionRequest, BatchPredictionResponse, CustomerFeatures, ErrorResponse, PredictionResponse, ValidationErrorResponse } from 'churn-service-types';

export class ChurnApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorResponse | ValidationErrorResponse,
  ) {
    super(`churn API answered ${status}: ${body.message}`);
  }
}

export interface ChurnClientOptions {
  baseUrl: string;
  apiKey?: string;
  /** Retries for 429 and 503 answers, honouring their retry-after (default 2). */
  retries?: number;
  timeoutMs?: number;
}

export class ChurnClient {
  constructor(private readonly options: ChurnClientOptions) {}

  predict(customer: CustomerFeatures): Promise<PredictionResponse> {
    return this.post<PredictionResponse>('/predict', customer);
  }

  /** Up to 100 customers per call (BATCH_MAX_SIZE); answers come back in the order sent. */
  predictBatch(customers: CustomerFeatures[]): Promise<BatchPredictionResponse> {
    return this.post<BatchPredictionResponse>('/predict/batch', { customers } satisfies BatchPredictionRequest);
  }

  private async post<T>(path: string, body: unknown, attempt = 0): Promise<T> {
    const { baseUrl, apiKey, retries = 2, timeoutMs = 5_000 } = this.options;
    const response = await fetch(new URL(path, baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.ok) return (await response.json()) as T;
    // 503 (draining, starting) and 429 (rate limit) say when to come back.
    if ((response.status === 503 || response.status === 429) && attempt < retries) {
      const waitSeconds = Number(response.headers.get('retry-after') ?? 1);
      await new Promise((resolve) => setTimeout(resolve, Math.min(waitSeconds, 30) * 1000));
      return this.post<T>(path, body, attempt + 1);
    }
    throw new ChurnApiError(response.status, (await response.json()) as ErrorResponse | ValidationErrorResponse);
  }
}

// Run as a script: score two customers and show what a validation error looks like.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [baseUrl = 'http://localhost:8000', apiKey] = process.argv.slice(2);
  const client = new ChurnClient({ baseUrl, ...(apiKey ? { apiKey } : {}) });
  const customer: CustomerFeatures = { customer_id: '9237-HQITU', tenure_months: 2, monthly_charges: 70.7, total_charges: 151.65, num_products: 2, has_support_calls: 0 };
  const single = await client.predict(customer);
  console.log(`${single.customer_id}: ${(single.churn_probability * 100).toFixed(1)} % churn risk, ${single.risk_tier} (model ${single.model_version})`);
  const batch = await client.predictBatch([customer, { ...customer, customer_id: '7795-CFOCW', tenure_months: 45, monthly_charges: 42.3, total_charges: 1840.75, num_products: 4, has_support_calls: 1 }]);
  for (const prediction of batch.predictions) console.log(`${prediction.customer_id}: ${prediction.risk_tier}`);
  try {
    await client.predict({ ...customer, tenure_months: 999 });
  } catch (error) {
    if (!(error instanceof ChurnApiError) || error.status !== 422) throw error;
    console.log(`rejected as expected: ${error.body.message}`);
  }
}
