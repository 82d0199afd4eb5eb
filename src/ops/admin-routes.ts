import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { bearerToken, Credentials } from '../auth/credentials.js';
import { GATHER_TIMEOUT_MS } from '../cluster/topics.js';
import { UnauthorizedError } from '../errors.js';
import { ReloadResponse, type WorkerReload } from '../schemas/admin.js';
import { ErrorResponse } from '../schemas/errors.js';
import { jsonResponse } from '../schemas/shared-ref.js';

/**
 * Operator routes, behind ADMIN_TOKEN as a bearer token. Registered only when the token is set,
 * so without one they do not exist at all.
 */
const adminRoutes: FastifyPluginAsyncTypebox<{ adminToken: string }> = async (app, { adminToken }) => {
  const admins = new Credentials([adminToken]);
  app.addHook('onRequest', (request, _reply, done) => {
    done(admins.accepts(bearerToken(request.headers.authorization)) ? undefined : new UnauthorizedError('A valid admin bearer token is required.', 'admin'));
  });

  app.post(
    '/admin/reload',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['operations'],
        operationId: 'reloadModel',
        summary: 'Load the model at MODEL_PATH again in every worker and swap it in without dropping a request',
        description:
          'Each worker loads the file and its model card, runs the start-up checks, and swaps only if they pass; ' +
          'a worker whose load fails keeps serving its current model. Answers once every worker has finished.',
        response: {
          200: jsonResponse(ReloadResponse, 'Every worker serves the new model.', {
            status: 'reloaded',
            model_version: '1.2.0',
            message: 'Every worker (2) serves the new model.',
            workers: [
              { pid: 4242, status: 'reloaded', model_version: '1.2.0' },
              { pid: 4243, status: 'reloaded', model_version: '1.2.0' },
            ],
          }),
          401: jsonResponse(ErrorResponse, 'No valid admin bearer token.', {
            statusCode: 401,
            error: 'Unauthorized',
            message: 'A valid admin bearer token is required.',
            detail: 'A valid admin bearer token is required.',
          }),
          422: jsonResponse(ReloadResponse, 'At least one worker could not load the model and kept its current one.', {
            status: 'failed',
            model_version: null,
            message: '1 of 1 workers kept their current model: Model not found at /models/churn_model.onnx',
            workers: [{ pid: 4242, status: 'failed', error: 'Model not found at /models/churn_model.onnx' }],
          }),
        },
      },
    },
    async (_request, reply) => {
      const outcomes = await app.workers.gather('reload', undefined, GATHER_TIMEOUT_MS.reload);
      const workers = outcomes.map((outcome): WorkerReload =>
        outcome.error === undefined
          ? { pid: outcome.pid, status: 'reloaded', model_version: outcome.result.model_version }
          : { pid: outcome.pid, status: 'failed', error: outcome.error },
      );
      const failed = workers.filter((worker) => worker.status === 'failed');
      const versions = new Set(workers.map((worker) => worker.model_version));
      const status = failed.length === 0 && workers.length > 0 ? 'reloaded' : 'failed';
      return reply.code(status === 'reloaded' ? 200 : 422).send({
        status,
        model_version: versions.size === 1 && status === 'reloaded' ? [...versions][0]! : null,
        message:
          status === 'reloaded'
            ? `Every worker (${workers.length}) serves the new model.`
            : `${failed.length} of ${workers.length} workers kept their current model: ${[...new Set(failed.map((worker) => worker.error))].join('; ')}`,
        workers,
      });
    },
  );
};

export default fp(adminRoutes, { name: 'admin-routes', dependencies: ['data-plane', 'worker-group', 'error-handler'], encapsulate: true });
