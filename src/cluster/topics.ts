import type { DriftSnapshot } from '../data-plane/drift.js';
import type { PlausibilityCounts } from '../data-plane/plausibility.js';
import type { MetricsSnapshot } from '../metrics/service-metrics.js';

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
  drift: false,
  plausibility: false,
  metrics: false,
};
