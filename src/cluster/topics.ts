import type { DriftSnapshot } from '../data-plane/drift.js';
import type { PlausibilityCounts } from '../data-plane/plausibility.js';
import type { MetricsSnapshot } from '../metrics/service-metrics.js';
import type { ChallengerInfo, ModelIdentity, PromotionChange } from '../schemas/challenger.js';

/** Who made a rollout change and when, as the admin call that made it saw it; every worker records the same. */
export interface RolloutCall {
  at: string;
  address: string;
  request_id: string;
}

/** A worker's models after a rollout change. */
export interface WorkerModels {
  champion: ModelIdentity;
  challenger: ChallengerInfo | null;
}

/** What a topic carries: the payload a gather sends every worker, and the result each one answers with. */
export interface TopicContract {
  payload: unknown;
  result: unknown;
}

/** A catalogue of topics, each with its contract (`ClusterTopics` for this service; tests bring their own). */
export type TopicCatalogue<Topics> = { [Name in keyof Topics]: TopicContract };

/**
 * Every topic this service gathers from its workers. A worker answers with its result (or an
 * error); the primary relays without looking inside, so both ends agree through these types alone.
 */
export interface ClusterTopics {
  /** Load the model at MODEL_PATH again, and say which version now serves. */
  reload: { payload: undefined; result: { model_version: string } };
  /** Load the file at `path` as the challenger (the champion's checks, and it must differ from it), routed as `mode` and `share` say. */
  'challenger-load': { payload: { path: string; mode: ChallengerInfo['mode']; share: number; call: RolloutCall }; result: WorkerModels };
  /** Drop the challenger. */
  'challenger-drop': { payload: { call: RolloutCall }; result: WorkerModels };
  /**
   * Make the model `sha256` the champion: swap champion and challenger where it is the challenger
   * (the old champion stays as the challenger, in shadow), change nothing where it is the champion.
   */
  'challenger-promote': { payload: { call: RolloutCall; sha256: string }; result: WorkerModels & { change: PromotionChange } };
  /** The worker's drift counts; null while it has no model. */
  drift: { payload: undefined; result: DriftSnapshot | null };
  /** The worker's plausibility counts over its recent rows; null when monitoring is off. */
  plausibility: { payload: undefined; result: PlausibilityCounts | null };
  /** The worker's Prometheus metrics, to be added up with the others'. */
  metrics: { payload: undefined; result: MetricsSnapshot };
}

export type Topic = keyof ClusterTopics;
export type TopicPayload<T extends Topic> = ClusterTopics[T]['payload'];
export type TopicResult<T extends Topic> = ClusterTopics[T]['result'];

/** How long a gather on each topic waits for every worker before it reports the missing ones. */
export const GATHER_TIMEOUT_MS: Readonly<Record<Topic, number>> = {
  /** Every worker loads and checks the model within this, or a reload reports it as failed. */
  reload: 60_000,
  /** Every worker loads and checks the challenger within this, as for a reload. */
  'challenger-load': 60_000,
  /**
   * Dropping and promoting take no load, but a worker still starting answers after its start-up
   * loads (the champion's and the challenger's), so they wait as long as a load.
   */
  'challenger-drop': 60_000,
  'challenger-promote': 60_000,
  /** A drift request, or the primary's periodic check, waits this long for every worker's counts. */
  drift: 3000,
  /** A drift request, or the primary's periodic check, waits this long for every worker's plausibility counts. */
  plausibility: 3000,
  /** A scrape waits this long for every worker's numbers. */
  metrics: 3000,
};

/**
 * Whether a gather on each topic also asks the workers still starting. A reload must reach them,
 * or they would come up serving the model the others just replaced. Metrics and drift counts of a
 * worker that has served nothing are nothing, and asking one that is still loading its model would
 * hold the whole answer up to the timeout.
 */
export const ASKS_STARTING_WORKERS: Readonly<Record<Topic, boolean>> = {
  reload: true,
  'challenger-load': true,
  'challenger-drop': true,
  'challenger-promote': true,
  drift: false,
  plausibility: false,
  metrics: false,
};
