import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { ModelNotReadyError } from '../errors.js';
import { ErrorResponse } from '../schemas/errors.js';
import { REASON_COUNT } from '../schemas/explanation.js';
import { ModelResponse } from '../schemas/model-info.js';
import { jsonResponse, sharedRef } from '../schemas/shared-ref.js';

const EXPLAINER_METHOD =
  'Exact path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2; shap TreeExplainer, feature_perturbation="tree_path_dependent") ' +
  'on the trees and training covers in the served ONNX file, in log-odds of churn.';

/**
 * GET /model: the served model's card, as written and checked at load (version, features with
 * units and ranges, hold-out metrics, calibration and operating points, global importance), and
 * whether its predictions can be explained; the challenger beside it, and the rollout changes.
 */
const modelRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  app.get(
    '/model',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getModel',
        summary: 'The served model: its card, metrics, operating points and global feature importance',
        response: {
          200: { ...sharedRef(ModelResponse), description: 'The model serving now.' },
          503: jsonResponse(ErrorResponse, 'No model is loaded yet.'),
        },
      },
    },
    async () => {
      const model = app.dataPlane.model;
      if (!model) throw new ModelNotReadyError();
      const { card, explainer } = model;
      return {
        model_name: config.MODEL_NAME,
        model_version: model.version,
        onnx_sha256: model.sha256,
        warnings: [...model.warnings],
        explanations: explainer
          ? { available: true, method: EXPLAINER_METHOD, base_value: explainer.baseValue, reason_count: REASON_COUNT }
          : { available: false, reason_count: REASON_COUNT, unavailable_reason: model.explanationsUnavailable ?? 'no explainer' },
        challenger: app.rollout.challenger(),
        rollout_history: app.rollout.history(),
        card: card ?? null,
      };
    },
  );
};

export default fp(modelRoutes, { name: 'model-routes', dependencies: ['data-plane', 'challenger'], encapsulate: true });
