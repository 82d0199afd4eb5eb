import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { TObject } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import type { ServedModel } from '../data-plane/model.js';
import { installErrorHandling } from '../error-handling.js';
import { noteScores } from '../plugins/request-stages.js';
import {
  InferenceErrorResponse,
  InferenceRequest,
  InferenceResponse,
  ModelMetadataResponse,
  modelParams,
  ModelReadyResponse,
  ServerLiveResponse,
  ServerMetadataResponse,
  ServerReadyResponse,
} from '../schemas/open-inference.js';
import { EXAMPLE_INFER_RESPONSE, EXAMPLE_MODEL_METADATA, EXAMPLE_OIP_ERRORS } from '../schemas/examples.js';
import { jsonResponse, sharedRef } from '../schemas/shared-ref.js';
import { openInferenceErrorRenderer } from './error-renderer.js';
import { inputMetadata, outputMetadata, outputTensor, rowsFromInputs, selectOutputs } from './tensors.js';

/** How this protocol's predictions are labelled in the metrics. */
const PROTOCOL = 'v2';
/** The protocol's name for an ONNX model run by ONNX Runtime. */
const PLATFORM = 'onnx_onnxv1';
const TAG = 'open-inference';

export interface OpenInferenceOptions {
  config: Config;
  server: { name: string; version: string };
}

const error = (description: string, example: InferenceErrorResponse) => jsonResponse(InferenceErrorResponse, description, example);

const modelErrors = {
  404: error('No model of that name, or not that version.', EXAMPLE_OIP_ERRORS[404]),
  503: error('No model is loaded yet, or the service is shutting down; retry after retry-after seconds.', EXAMPLE_OIP_ERRORS[503]),
};

const inferErrors = {
  400: error(
    'The request is not a valid inference request for this model: JSON, schema, input name, datatype, shape, data length, or a value outside the feature ranges.',
    EXAMPLE_OIP_ERRORS[400],
  ),
  401: error('No valid API key (only when API_KEYS is set).', EXAMPLE_OIP_ERRORS[401]),
  ...modelErrors,
  413: error('Body larger than BODY_LIMIT_BYTES.', EXAMPLE_OIP_ERRORS[413]),
  415: error('Not UTF-8 JSON: another content type or charset, or a Content-Encoding.', EXAMPLE_OIP_ERRORS[415]),
  429: error('Over RATE_LIMIT_PER_MINUTE (only when it is set); retry after retry-after seconds.', EXAMPLE_OIP_ERRORS[429]),
  500: error('Server fault; never carries internals.', EXAMPLE_OIP_ERRORS[500]),
};

/**
 * The Open Inference Protocol (KServe V2) REST endpoints: a thin adapter from its tensors to the
 * data plane's rows and back. Every error in this scope, the shared hooks' included (API keys,
 * rate limits, body parsing), is answered as the protocol says: a status and `{"error": "..."}`.
 */
const openInference: FastifyPluginAsyncTypebox<OpenInferenceOptions> = async (app, { config, server }) => {
  const modelName = config.MODEL_NAME;
  const { unversioned: ModelParams, versioned: VersionedModelParams } = modelParams(modelName);

  /** The model serving now under `name` (and `version`, when given); 404 or 503 otherwise. */
  const servedModel = (name: string, version?: string): ServedModel => app.dataPlane.resolve({ name, version });

  installErrorHandling(app, openInferenceErrorRenderer);

  // '' rather than '/': the spec's path is /v2, with no trailing slash.
  app.get(
    '',
    {
      schema: {
        tags: [TAG],
        operationId: 'serverMetadata',
        summary: 'Server metadata',
        response: { 200: jsonResponse(ServerMetadataResponse, 'The server\'s name, version and protocol extensions.', { ...server, extensions: [] }) },
      },
    },
    async () => ({ ...server, extensions: [] }),
  );

  app.get(
    '/health/live',
    {
      config: { access: 'probe', rateLimited: false },
      schema: {
        tags: [TAG],
        operationId: 'serverLive',
        summary: 'Server liveness: 200 whenever the process answers',
        response: { 200: sharedRef(ServerLiveResponse, { description: 'The server is live.' }) },
      },
    },
    async () => ({ live: true }),
  );

  app.get(
    '/health/ready',
    {
      config: { access: 'probe', rateLimited: false },
      schema: {
        tags: [TAG],
        operationId: 'serverReady',
        summary: 'Server readiness: 200 when the model is loaded and the service is not draining; 503 otherwise',
        response: {
          200: sharedRef(ServerReadyResponse, { description: 'Ready for inference requests.' }),
          503: sharedRef(ServerReadyResponse, { description: 'Not ready: no model yet, or draining.' }),
        },
      },
    },
    async (_request, reply) => {
      const ready = app.dataPlane.ready && !app.lifecycle.draining;
      return reply.code(ready ? 200 : 503).send({ ready });
    },
  );

  const modelReady = async (name: string, version: string | undefined) => ({ name, ready: app.dataPlane.isReady({ name, version }) });
  const readySchema = <Params extends TObject>(params: Params, operationId: string) => ({
    tags: [TAG],
    operationId,
    summary: 'Model readiness: 200 when the model can take inference requests; 503 when not',
    params,
    response: {
      200: sharedRef(ModelReadyResponse, { description: 'The model is ready.' }),
      503: sharedRef(ModelReadyResponse, { description: 'The model is not loaded yet, or the service is shutting down.' }),
      404: modelErrors[404],
    },
  });
  app.get('/models/:model_name/ready', { config: { access: 'probe', rateLimited: false }, schema: readySchema(ModelParams, 'modelReady') }, async (request, reply) => {
    const answer = await modelReady(request.params.model_name, undefined);
    return reply.code(answer.ready ? 200 : 503).send(answer);
  });
  app.get('/models/:model_name/versions/:model_version/ready', { config: { access: 'probe', rateLimited: false }, schema: readySchema(VersionedModelParams, 'modelVersionReady') }, async (request, reply) => {
    const answer = await modelReady(request.params.model_name, request.params.model_version);
    return reply.code(answer.ready ? 200 : 503).send(answer);
  });

  const metadata = (model: ServedModel): ModelMetadataResponse => ({
    name: modelName,
    versions: [model.version],
    platform: PLATFORM,
    inputs: [inputMetadata(model.signature.input)],
    outputs: model.signature.outputs.map(outputMetadata),
  });
  const metadataSchema = <Params extends TObject>(params: Params, operationId: string) => ({
    tags: [TAG],
    operationId,
    summary: 'Model metadata: its input and output tensors, read from the loaded model',
    params,
    response: { 200: jsonResponse(ModelMetadataResponse, 'The model\'s name, version, platform and tensors.', EXAMPLE_MODEL_METADATA), ...modelErrors },
  });
  app.get('/models/:model_name', { schema: metadataSchema(ModelParams, 'modelMetadata') }, async (request) => metadata(servedModel(request.params.model_name)));
  app.get('/models/:model_name/versions/:model_version', { schema: metadataSchema(VersionedModelParams, 'modelVersionMetadata') }, async (request) =>
    metadata(servedModel(request.params.model_name, request.params.model_version)),
  );

  /**
   * One row goes through the micro-batcher, so concurrent single-row calls share a model run;
   * more rows are one run of their own. Every row of a request is scored by one model, a canary's included.
   */
  const infer = async (body: InferenceRequest, name: string, version: string | undefined, request: FastifyRequest): Promise<InferenceResponse> => {
    const model = servedModel(name, version);
    const rows = rowsFromInputs(body.inputs, model.signature.input, config.BATCH_MAX_SIZE);
    const outputs = selectOutputs(model.signature.outputs, body.outputs);
    // The answer names one model_version, so a canary keeps the whole request on one model (the tensors carry no customer id: a draw per request).
    const { model: scoredBy, scores } = await app.dataPlane.predict({ rows, protocol: PROTOCOL, model: { name, version }, requestId: request.id, canarySplit: 'request' });
    noteScores(request.stages, scores);
    return {
      model_name: modelName,
      model_version: scoredBy.version,
      ...(body.id === undefined ? {} : { id: body.id }),
      // A reload between the check and the run: the outputs are the scoring model's own.
      outputs: (scoredBy === model ? outputs : selectOutputs(scoredBy.signature.outputs, body.outputs)).map((output) => outputTensor(output, scores)),
    };
  };
  const inferSchema = <Params extends TObject>(params: Params, operationId: string) => ({
    tags: [TAG],
    operationId,
    summary: `Infer: P(stay) and P(churn) and the class label for 1 to ${config.BATCH_MAX_SIZE} customers`,
    description:
      `The one input is FP32 [N, 5], N from 1 to ${config.BATCH_MAX_SIZE}: one row per customer, its columns the churn API's features in order ` +
      '(tenure_months, monthly_charges, total_charges, num_products, has_support_calls), data flat in row-major order or nested. ' +
      'Values outside the feature ranges are refused with 400. The outputs are exactly what ONNX Runtime returns for the model.',
    params,
    body: sharedRef(InferenceRequest),
    response: { 200: jsonResponse(InferenceResponse, 'The outputs asked for (all by default), for every row.', EXAMPLE_INFER_RESPONSE), ...inferErrors },
  });
  app.post('/models/:model_name/infer', { config: { access: 'inference' }, schema: inferSchema(ModelParams, 'modelInfer') }, async (request) =>
    infer(request.body, request.params.model_name, undefined, request),
  );
  app.post('/models/:model_name/versions/:model_version/infer', { config: { access: 'inference' }, schema: inferSchema(VersionedModelParams, 'modelVersionInfer') }, async (request) =>
    infer(request.body, request.params.model_name, request.params.model_version, request),
  );
};

export default fp(openInference, { name: 'open-inference', dependencies: ['data-plane', 'error-handler', 'lifecycle', 'metrics', 'request-stages', 'route-registry'], encapsulate: true });
