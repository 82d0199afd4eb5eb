import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from './string-enum.js';

export const ChallengerMode = StringEnum(['shadow', 'canary'], {
  description: 'shadow: the champion answers every caller; the challenger scores its share of the rows after the answer, for the prediction log only. canary: the challenger answers its share of the customers (sticky by customer_id); the champion scores those rows after the answer.',
});

export const ChallengerShare = Type.Number({ minimum: 0, maximum: 1, description: "The challenger's share of the rows, by customer (0 to 1)." });

/** PUT /admin/challenger: the file to load as the challenger, and how it takes part. */
export const ChallengerRequest = Type.Object(
  {
    path: Type.String({ minLength: 1, description: 'The challenger model file, as every worker sees it; its card beside it, as for MODEL_PATH.' }),
    mode: Type.Optional(ChallengerMode),
    share: Type.Optional(ChallengerShare),
  },
  { $id: 'ChallengerRequest', title: 'ChallengerRequest', additionalProperties: false },
);
export type ChallengerRequest = Static<typeof ChallengerRequest>;

/** POST /admin/challenger/promote: which model is to serve as champion afterwards. */
export const PromoteQuery = Type.Object(
  {
    sha256: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{64}$',
        description:
          "sha256 of the model that is to serve as champion afterwards (the challenger's, as GET /model shows it). Makes the call safe to repeat: a worker whose champion it is already changes nothing, so a call sent again after a worker did not answer in time brings every worker to the same models. Without it, the challenger of the worker that takes the call is promoted.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type PromoteQuery = Static<typeof PromoteQuery>;

/** A model as the rollout routes name it. */
export const ModelIdentity = Type.Object({
  version: Type.String(),
  sha256: Type.String({ description: 'sha256 of the ONNX file.' }),
});
export type ModelIdentity = Static<typeof ModelIdentity>;

export const ChallengerInfo = Type.Object(
  {
    version: Type.String(),
    sha256: Type.String({ description: 'sha256 of the ONNX file.' }),
    mode: ChallengerMode,
    share: ChallengerShare,
  },
  { title: 'ChallengerInfo' },
);
export type ChallengerInfo = Static<typeof ChallengerInfo>;

export const RolloutAction = StringEnum(['load', 'drop', 'promote', 'rollback'], {
  description: 'load: a challenger was loaded (or replaced). drop: it was dropped. promote: the challenger became the champion. rollback: a promotion undone by promoting again.',
});

/** How many rollout changes GET /model lists, the latest ones. */
export const ROLLOUT_HISTORY_LENGTH = 20;

/** One change of champion or challenger, as GET /model lists them. */
export const RolloutEvent = Type.Object(
  {
    action: RolloutAction,
    at: Type.String({ format: 'date-time', description: 'When the admin call was made.' }),
    by: Type.Object({
      address: Type.String({ description: 'The client address of the admin call.' }),
      request_id: Type.String({ description: 'The request id of the admin call (x-request-id).' }),
    }),
    champion: ModelIdentity,
    challenger: Type.Union([ChallengerInfo, Type.Null()]),
  },
  { title: 'RolloutEvent' },
);
export type RolloutEvent = Static<typeof RolloutEvent>;

/** What a promotion did in one worker. */
export const PromotionChange = StringEnum(['promote', 'rollback', 'none'], {
  description: 'For a promotion, what this worker did: promote, rollback (it undid its last promotion), or none (the model asked for was its champion already).',
});
export type PromotionChange = Static<typeof PromotionChange>;

export const WorkerRollout = Type.Object({
  pid: Type.Integer({ description: 'The worker process.' }),
  status: StringEnum(['done', 'failed']),
  champion: Type.Optional(ModelIdentity),
  challenger: Type.Optional(Type.Union([ChallengerInfo, Type.Null()])),
  change: Type.Optional(PromotionChange),
  error: Type.Optional(Type.String({ description: 'Why the worker kept its models as they were.' })),
});
export type WorkerRollout = Static<typeof WorkerRollout>;

/** What every worker did with a rollout call. */
export const RolloutResponse = Type.Object(
  {
    status: StringEnum(['done', 'failed'], { description: 'done: every worker made the change. failed: at least one kept its models as they were.' }),
    action: RolloutAction,
    champion: Type.Union([ModelIdentity, Type.Null()], { description: 'The champion every worker serves now; null if they differ.' }),
    challenger: Type.Union([ChallengerInfo, Type.Null()], { description: 'The challenger every worker holds now (null: none, or they differ).' }),
    message: Type.String(),
    workers: Type.Array(WorkerRollout),
  },
  { $id: 'RolloutResponse', title: 'RolloutResponse' },
);
export type RolloutResponse = Static<typeof RolloutResponse>;
