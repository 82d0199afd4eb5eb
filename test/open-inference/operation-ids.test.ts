import { afterEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers.js';

/**
 * The Open Inference Protocol's operations under the names generated clients use, pinned in this
 * layer's own tests. The app is built in the test, so a mutant of a route's registration is live.
 */
const OPERATIONS: Record<string, Record<string, string>> = {
  '/v2': { get: 'serverMetadata' },
  '/v2/health/live': { get: 'serverLive' },
  '/v2/health/ready': { get: 'serverReady' },
  '/v2/models/{model_name}/ready': { get: 'modelReady' },
  '/v2/models/{model_name}/versions/{model_version}/ready': { get: 'modelVersionReady' },
  '/v2/models/{model_name}': { get: 'modelMetadata' },
  '/v2/models/{model_name}/versions/{model_version}': { get: 'modelVersionMetadata' },
  '/v2/models/{model_name}/infer': { post: 'modelInfer' },
  '/v2/models/{model_name}/versions/{model_version}/infer': { post: 'modelVersionInfer' },
};

let testApp: TestApp | undefined;
afterEach(async () => testApp?.app.close());

describe('Open Inference Protocol operations', () => {
  it('each have the operationId generated clients call them by', async () => {
    testApp = await buildTestApp({ LOG_LEVEL: 'silent' });
    const spec = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { operationId?: string }>> };
    const v2 = Object.fromEntries(
      Object.entries(spec.paths)
        .filter(([path]) => path.startsWith('/v2'))
        .map(([path, methods]) => [path, Object.fromEntries(Object.entries(methods).map(([method, operation]) => [method, operation.operationId]))]),
    );
    expect(v2).toEqual(OPERATIONS);
  });
});
