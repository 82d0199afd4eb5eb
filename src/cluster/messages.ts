/**
 * The messages a worker and the cluster primary exchange to gather an answer from every worker
 * (metrics, drift counts, a model reload). The primary only relays; workers do the work.
 */
export interface GatherRequest {
  kind: 'churn:gather';
  id: number;
  topic: string;
  payload: unknown;
  timeoutMs: number;
}

export interface CollectRequest {
  kind: 'churn:collect';
  id: number;
  topic: string;
  payload: unknown;
}

export interface CollectReply {
  kind: 'churn:collected';
  id: number;
  outcome: WorkerOutcome;
}

export interface GatherReply {
  kind: 'churn:gathered';
  id: number;
  outcomes: WorkerOutcome[];
}

/**
 * One worker's answer to a gather: its result, or why it has none. `pid` is always the worker's
 * process id, whoever reports the outcome (the worker itself, or the primary for one that is gone).
 * The primary may add an outcome of its own (`fromPrimary`, with its own pid): what only it still
 * holds, such as the counters of workers that have exited.
 */
export type WorkerOutcome<Result = unknown> = { pid: number; result: Result; error?: undefined; fromPrimary?: true } | { pid: number; error: string; result?: undefined; fromPrimary?: undefined };

/** How many workers are in each state, as the primary counts them. */
export interface WorkerCounts {
  /** WORKERS: how many should serve. */
  expected: number;
  /** Listening for requests. */
  serving: number;
  /** Forked, loading their model, not listening yet. */
  starting: number;
  /** Failed to start, waiting to be started again. */
  failed: number;
}

/** The primary tells every worker how the cluster stands, each time that changes. */
export interface WorkerCountsNotice {
  kind: 'churn:worker-counts';
  counts: WorkerCounts;
}

/**
 * A worker tells the primary where it wrote a snapshot of the model it has just loaded from
 * MODEL_PATH (the file and those the loader read beside it): a worker started later loads that
 * snapshot, so it serves what its siblings serve. `path` is null when no snapshot could be written.
 * `challenger`, when present, is the challenger the worker holds along with that model: the two
 * change together (a promotion, a reload that makes the challenger champion), and one notice
 * leaves the primary no moment in which a worker started then gets one without the other.
 */
export interface ModelSnapshotNotice {
  kind: 'churn:model-snapshot';
  path: string | null;
  challenger?: ChallengerState | null;
}

/** The challenger a worker holds after an admin change, its file a snapshot where one could be written; null: none. */
export interface ChallengerState {
  path: string;
  mode: 'shadow' | 'canary';
  share: number;
}

/**
 * A worker tells the primary which challenger it holds after a rollout change (loaded, dropped,
 * promoted): a worker started later loads the same (its environment's CHALLENGER_* say so), rather
 * than the challenger the service was started with.
 */
export interface ChallengerStateNotice {
  kind: 'churn:challenger-state';
  state: ChallengerState | null;
}

export type ClusterMessage = GatherRequest | CollectRequest | CollectReply | GatherReply | WorkerCountsNotice | ModelSnapshotNotice | ChallengerStateNotice;

export function isClusterMessage(message: unknown): message is ClusterMessage {
  return typeof message === 'object' && message !== null && String((message as { kind?: unknown }).kind).startsWith('churn:');
}
