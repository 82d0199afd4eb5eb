import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { bearerToken, Credentials } from '../auth/credentials.js';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { WorkerOutcome } from '../cluster/messages.js';
import { GATHER_TIMEOUT_MS, type RolloutCall, type WorkerModels } from '../cluster/topics.js';
import type { Config } from '../config.js';
import { NoChallengerError, UnauthorizedError } from '../errors.js';
import { ReloadResponse, type WorkerReload } from '../schemas/admin.js';
import { ChallengerRequest, PromoteQuery, RolloutResponse, type WorkerRollout } from '../schemas/challenger.js';
import { ErrorResponse, ValidationErrorResponse } from '../schemas/errors.js';
import { jsonResponse, sharedRef } from '../schemas/shared-ref.js';

/**
 * Operator routes, behind ADMIN_TOKEN as a bearer token. Registered only when the token is set,
 * so without one they do not exist at all.
 */
const UNAUTHORIZED = jsonResponse(ErrorResponse, 'No valid admin bearer token.', {
  statusCode: 401,
  error: 'Unauthorized',
  message: 'A valid admin bearer token is required.',
  detail: 'A valid admin bearer token is required.',
});

const EXAMPLE_CHAMPION = { version: '1.2.0', sha256: '3046b819'.padEnd(64, '0') };
const EXAMPLE_CHALLENGER = { version: '1.3.0', sha256: '9a71c2d4'.padEnd(64, '0'), mode: 'shadow' as const, share: 1 };

/** Who asks for a rollout change and when: every worker records the same. */
const rolloutCall = (request: FastifyRequest): RolloutCall => ({ at: new Date().toISOString(), address: request.ip, request_id: request.id });

/** The one value every worker reports, or null when they differ (or none answered). */
function common<T>(values: readonly T[]): T | null {
  const [first] = values;
  return first !== undefined && values.every((value) => JSON.stringify(value) === JSON.stringify(first)) ? first : null;
}

/** A rollout gather's outcomes as the admin call answers them: 200 when every worker made the change, 422 otherwise. */
function rolloutAnswer(action: RolloutResponse['action'], outcomes: readonly WorkerOutcome<WorkerModels>[]): { code: 200 | 422; body: RolloutResponse } {
  const workers = outcomes.map((outcome): WorkerRollout =>
    outcome.error === undefined ? { pid: outcome.pid, status: 'done', ...outcome.result } : { pid: outcome.pid, status: 'failed', error: outcome.error },
  );
  const done = outcomes.flatMap((outcome) => (outcome.error === undefined ? [outcome.result] : []));
  const failed = workers.filter((worker) => worker.status === 'failed');
  const status = failed.length === 0 && workers.length > 0 ? 'done' : 'failed';
  return {
    code: status === 'done' ? 200 : 422,
    body: {
      status,
      action,
      champion: common(done.map((models) => models.champion)),
      challenger: common(done.map((models) => models.challenger)),
      message:
        status === 'done'
          ? `Every worker (${workers.length}) made the change.`
          : `${failed.length} of ${workers.length} workers kept their models as they were: ${[...new Set(failed.map((worker) => worker.error))].join('; ')}`,
      workers,
    },
  };
}

const adminRoutes: FastifyPluginAsyncTypebox<{ adminToken: string; config: Config }> = async (app, { adminToken, config }) => {
  const admins = new Credentials([adminToken]);
  app.addHook('onRequest', (request, _reply, done) => {
    const token = bearerToken(request.headers.authorization);
    done(admins.accepts(token) ? undefined : new UnauthorizedError('A valid admin bearer token is required.', 'admin', 'admin token', token !== undefined));
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
          401: UNAUTHORIZED,
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

  app.put(
    '/admin/challenger',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['operations'],
        operationId: 'loadChallenger',
        summary: 'Load a challenger model beside the champion in every worker: shadow or canary',
        description:
          'Each worker loads the file and its card with the champion\'s checks, and refuses a file that is the champion\'s own (same sha256) or has its version; ' +
          'a refused or broken file leaves the champion, and any challenger already loaded, as they were. Loading again replaces the challenger (and its mode and share). ' +
          `mode and share default to CHALLENGER_MODE (${config.CHALLENGER_MODE}) and CHALLENGER_SHARE (${config.CHALLENGER_SHARE}).`,
        body: sharedRef(ChallengerRequest),
        response: {
          200: jsonResponse(RolloutResponse, 'Every worker holds the challenger.', {
            status: 'done',
            action: 'load',
            champion: EXAMPLE_CHAMPION,
            challenger: EXAMPLE_CHALLENGER,
            message: 'Every worker (1) made the change.',
            workers: [{ pid: 4242, status: 'done', champion: EXAMPLE_CHAMPION, challenger: EXAMPLE_CHALLENGER }],
          }),
          401: UNAUTHORIZED,
          // A refused file, or a body that breaks the schema: both are 422, as everywhere in this service.
          422: {
            description: 'At least one worker refused the file, or could not load it, and kept its models as they were; or the body breaks the schema (a ValidationErrorResponse).',
            content: {
              'application/json': {
                schema: Type.Union([sharedRef(RolloutResponse), sharedRef(ValidationErrorResponse)]),
                example: {
                  status: 'failed',
                  action: 'load',
                  champion: null,
                  challenger: null,
                  message: '1 of 1 workers kept their models as they were: Model not found at /models/challenger/churn_model.onnx',
                  workers: [{ pid: 4242, status: 'failed', error: 'Model not found at /models/challenger/churn_model.onnx' }],
                },
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { path, mode = config.CHALLENGER_MODE, share = config.CHALLENGER_SHARE } = request.body;
      const outcomes = await app.workers.gather('challenger-load', { path, mode, share, call: rolloutCall(request) }, GATHER_TIMEOUT_MS['challenger-load']);
      const { code, body } = rolloutAnswer('load', outcomes);
      return reply.code(code).send(body);
    },
  );

  app.delete(
    '/admin/challenger',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['operations'],
        operationId: 'dropChallenger',
        summary: 'Drop the challenger in every worker: the champion answers alone',
        response: {
          200: jsonResponse(RolloutResponse, 'No worker holds a challenger any more (also when none did).', {
            status: 'done',
            action: 'drop',
            champion: EXAMPLE_CHAMPION,
            challenger: null,
            message: 'Every worker (1) made the change.',
            workers: [{ pid: 4242, status: 'done', champion: EXAMPLE_CHAMPION, challenger: null }],
          }),
          401: UNAUTHORIZED,
          422: jsonResponse(RolloutResponse, 'At least one worker did not answer in time.'),
        },
      },
    },
    async (request, reply) => {
      const outcomes = await app.workers.gather('challenger-drop', { call: rolloutCall(request) }, GATHER_TIMEOUT_MS['challenger-drop']);
      const { code, body } = rolloutAnswer('drop', outcomes);
      return reply.code(code).send(body);
    },
  );

  app.post(
    '/admin/challenger/promote',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['operations'],
        operationId: 'promoteChallenger',
        summary: 'Promote the challenger to champion in every worker; the old champion stays as the challenger, in shadow, so the same call rolls back',
        description:
          'Each worker swaps the two models in one step: a request answered after the swap is answered by the new champion, and no request fails. ' +
          'The share stays; the mode becomes shadow. The new champion is what a worker started later serves (MODEL_PATH is not read again until a reload). ' +
          'With ?sha256= naming the model to promote, the call is safe to repeat: a worker whose champion it is already changes nothing, and one that holds it neither as champion nor as challenger keeps its models and says so. ' +
          'Without it, the same call again rolls back.',
        querystring: PromoteQuery,
        response: {
          200: jsonResponse(RolloutResponse, 'Every worker serves the promoted model.', {
            status: 'done',
            action: 'promote',
            champion: { version: EXAMPLE_CHALLENGER.version, sha256: EXAMPLE_CHALLENGER.sha256 },
            challenger: { ...EXAMPLE_CHAMPION, mode: 'shadow', share: 1 },
            message: 'Every worker (1) made the change.',
            workers: [{ pid: 4242, status: 'done', champion: { version: EXAMPLE_CHALLENGER.version, sha256: EXAMPLE_CHALLENGER.sha256 }, challenger: { ...EXAMPLE_CHAMPION, mode: 'shadow', share: 1 } }],
          }),
          401: UNAUTHORIZED,
          409: jsonResponse(ErrorResponse, 'No challenger is loaded.', {
            statusCode: 409,
            error: 'Conflict',
            message: 'No challenger is loaded: load one with PUT /admin/challenger first.',
            detail: 'No challenger is loaded: load one with PUT /admin/challenger first.',
          }),
          422: {
            description:
              'At least one worker could not promote (it had no challenger, held the model ?sha256= names neither as champion nor as challenger, or did not answer in time); or the query breaks the schema (a ValidationErrorResponse).',
            content: { 'application/json': { schema: Type.Union([sharedRef(RolloutResponse), sharedRef(ValidationErrorResponse)]) } },
          },
        },
      },
    },
    async (request, reply) => {
      // Every worker is asked for the same model, so none swaps the other way round.
      const sha256 = request.query.sha256 ?? app.dataPlane.challenger?.sha256;
      if (sha256 === undefined) throw new NoChallengerError();
      const outcomes = await app.workers.gather('challenger-promote', { call: rolloutCall(request), sha256 }, GATHER_TIMEOUT_MS['challenger-promote']);
      const changes = outcomes.flatMap((outcome) => (outcome.error === undefined ? [outcome.result.change] : []));
      const { code, body } = rolloutAnswer('promote', outcomes);
      // A rollback when a worker undid its last promotion: one started since has no history and says promote.
      const action = changes.includes('rollback') ? 'rollback' : 'promote';
      const unchanged = changes.filter((change) => change === 'none').length;
      if (body.status === 'done' && unchanged > 0) {
        body.message =
          unchanged === changes.length
            ? `Nothing changed: the model asked for is every worker's (${changes.length}) champion already.`
            : `Every worker (${changes.length}) serves the model asked for as its champion: ${changes.length - unchanged} made the change, ${unchanged} had made it already.`;
      }
      return reply.code(code).send({ ...body, action });
    },
  );
};

export default fp(adminRoutes, { name: 'admin-routes', dependencies: ['data-plane', 'challenger', 'worker-group', 'error-handler'], encapsulate: true });
