import { Type, type Static } from '@sinclair/typebox';
import { ChallengerInfo, ROLLOUT_HISTORY_LENGTH, RolloutEvent } from './challenger.js';
import { ModelCard } from './model-card.js';
import { REASON_COUNT } from './explanation.js';
import { sharedRef } from './shared-ref.js';

export const ModelResponse = Type.Object(
  {
    model_name: Type.String({ description: 'MODEL_NAME: what the model is served and reported as.' }),
    model_version: Type.String(),
    onnx_sha256: Type.String({ description: 'sha256 of the ONNX file being served.' }),
    warnings: Type.Array(Type.String(), {
      description: 'What an operator must know about the model, such as being served without its card (ALLOW_MODEL_WITHOUT_CARD); empty when nothing is amiss.',
    }),
    explanations: Type.Object({
      available: Type.Boolean({ description: 'Whether ?explain=true works with this model.' }),
      method: Type.Optional(Type.String()),
      base_value: Type.Optional(Type.Number({ description: "The model's expected raw output over its training data, in log-odds." })),
      reason_count: Type.Integer({ description: 'How many reasons an explanation lists at most.', examples: [REASON_COUNT] }),
      unavailable_reason: Type.Optional(Type.String()),
    }),
    challenger: Type.Union([ChallengerInfo, Type.Null()], {
      description: 'The challenger loaded beside the champion (CHALLENGER_MODEL_PATH, or PUT /admin/challenger), and how it takes part; null when there is none.',
    }),
    rollout_history: Type.Array(RolloutEvent, {
      description: `This worker's last ${ROLLOUT_HISTORY_LENGTH} rollout changes (challenger loaded, dropped, promoted, rolled back), oldest first; a worker started since knows only the changes made after it started.`,
    }),
    card: Type.Union([sharedRef(ModelCard), Type.Null()], {
      description: 'The model card written with the model, bound to the ONNX file both ways and checked at load; null only when ALLOW_MODEL_WITHOUT_CARD let the model load without one.',
    }),
  },
  { $id: 'ModelResponse', title: 'ModelResponse' },
);
export type ModelResponse = Static<typeof ModelResponse>;
