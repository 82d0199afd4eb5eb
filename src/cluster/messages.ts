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
 */
export type WorkerOutcome<Result = unknown> = { pid: number; result: Result; error?: undefined } | { pid: number; error: string; result?: undefined };

export type ClusterMessage = GatherRequest | CollectRequest | CollectReply | GatherReply;

export function isClusterMessage(message: unknown): message is ClusterMessage {
  return typeof message === 'object' && message !== null && String((message as { kind?: unknown }).kind).startsWith('churn:');
}
