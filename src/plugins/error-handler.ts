import fp from 'fastify-plugin';
import type { RequestFacts } from '../error-classifier.js';
import { installErrorHandling } from '../error-handling.js';
import { fastApiErrorRenderer } from '../fastapi-error-renderer.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Values a hook refused before validation (the churn API's lax conversion), with pydantic's
     * error for each: the error handler puts them in place of the schema's violations there.
     */
    refusedInput: NonNullable<RequestFacts['refused']> | null;
  }
}

/**
 * Every error of the churn API and the operations routes (the root scope) is answered in the
 * FastAPI-compatible shape; the Open Inference Protocol installs its own renderer in its scope.
 */
export default fp(
  async (app) => {
    app.decorateRequest('refusedInput', null);
    installErrorHandling(app, fastApiErrorRenderer);
  },
  { name: 'error-handler', dependencies: ['route-registry'] },
);
