import fp from 'fastify-plugin';
import { installErrorHandling } from '../error-handling.js';
import { fastApiErrorRenderer } from '../fastapi-error-renderer.js';

/**
 * Every error of the churn API and the operations routes (the root scope) is answered in the
 * FastAPI-compatible shape; the Open Inference Protocol installs its own renderer in its scope.
 */
export default fp(async (app) => installErrorHandling(app, fastApiErrorRenderer), { name: 'error-handler', dependencies: ['route-registry'] });
