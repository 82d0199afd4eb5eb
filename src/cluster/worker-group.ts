import cluster from 'node:cluster';
import { isClusterMessage, type ChallengerState, type ClusterMessage, type WorkerCounts, type WorkerOutcome } from './messages.js';
import type { ClusterTopics, TopicCatalogue, TopicContract } from './topics.js';

/** Answers one topic for this process. */
export type Collector<Contract extends TopicContract> = (payload: Contract['payload']) => Contract['result'] | Promise<Contract['result']>;

export interface CollectorOptions {
  /**
   * Answer only once this process has started up (startedUp): a change of the models asked of a
   * worker still starting must come after its own start-up loads, or they would undo it.
   */
  afterStartUp?: boolean;
}

export interface IpcChannel {
  send?: (message: ClusterMessage) => unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/**
 * This process's view of every worker serving the port, itself included. `gather` asks them all
 * for an answer on a topic (through the cluster primary) and resolves with one outcome per
 * worker; without a cluster, the only worker is this process. Topics and their payload and result
 * types come from `Topics` (the service's `ClusterTopics`).
 */
export class WorkerGroup<Topics extends TopicCatalogue<Topics> = ClusterTopics> {
  // Each topic's collector, stored as its own type by onCollect and read back as it by collect.
  readonly #collectors = new Map<keyof Topics, (payload: never) => unknown>();
  readonly #afterStartUp = new Set<keyof Topics>();
  #markStartedUp: () => void = () => undefined;
  readonly #startUp = new Promise<void>((resolve) => (this.#markStartedUp = resolve));
  readonly #pending = new Map<number, (outcomes: WorkerOutcome[]) => void>();
  readonly #channel: IpcChannel | undefined;
  readonly #listener = (message: unknown) => void this.#receive(message);
  #nextId = 1;
  #counts: WorkerCounts | undefined;

  /** `channel` is this worker's IPC channel to the primary; none when the process runs alone. */
  constructor(channel: IpcChannel | undefined = cluster.isWorker ? process : undefined) {
    this.#channel = channel;
    channel?.on('message', this.#listener);
  }

  get clustered(): boolean {
    return this.#channel !== undefined;
  }

  /** How many workers serve, start or failed, as the primary last told; undefined when the process runs alone (or before the primary has told). */
  get counts(): WorkerCounts | undefined {
    return this.#counts;
  }

  /**
   * Tells the primary where this worker wrote a snapshot of the model it has just loaded (null: none
   * could be written), and with `challenger` the challenger it holds since the same change.
   */
  modelSnapshotWritten(path: string | null, challenger?: ChallengerState | null): void {
    this.#channel?.send?.({ kind: 'churn:model-snapshot', path, ...(challenger === undefined ? {} : { challenger }) });
  }

  /** Tells the primary which challenger this worker holds after a rollout change (null: none). */
  challengerStateChanged(state: ChallengerState | null): void {
    this.#channel?.send?.({ kind: 'churn:challenger-state', state });
  }

  /** Answers `topic` for this process whenever any worker gathers it. */
  onCollect<T extends keyof Topics & string>(topic: T, collector: Collector<Topics[T]>, options: CollectorOptions = {}): void {
    this.#collectors.set(topic, collector);
    if (options.afterStartUp) this.#afterStartUp.add(topic);
  }

  /** This process has started up: its own start-up loads are done, and the collectors that waited for them answer. */
  startedUp(): void {
    this.#markStartedUp();
  }

  /** Asks every worker, this one included, and resolves with each one's outcome. */
  async gather<T extends keyof Topics & string>(topic: T, payload: Topics[T]['payload'], timeoutMs: number): Promise<WorkerOutcome<Topics[T]['result']>[]> {
    if (!this.#channel?.send) return [await this.collect(topic, payload)];
    const id = this.#nextId++;
    // Every worker runs this code, so each result is what its collector for `topic` returned.
    const outcomes = await new Promise<WorkerOutcome[]>((resolve) => {
      this.#pending.set(id, resolve);
      this.#channel!.send!({ kind: 'churn:gather', id, topic, payload, timeoutMs });
    });
    return outcomes as WorkerOutcome<Topics[T]['result']>[];
  }

  /** This process's own outcome for `topic`. */
  async collect<T extends keyof Topics & string>(topic: T, payload: Topics[T]['payload']): Promise<WorkerOutcome<Topics[T]['result']>> {
    const collector = this.#collectors.get(topic) as Collector<Topics[T]> | undefined;
    if (!collector) return { pid: process.pid, error: `nothing answers "${topic}" in this worker` };
    try {
      if (this.#afterStartUp.has(topic)) await this.#startUp;
      return { pid: process.pid, result: await collector(payload) };
    } catch (error) {
      return { pid: process.pid, error: error instanceof Error ? error.message : String(error) };
    }
  }

  close(): void {
    this.#channel?.off('message', this.#listener);
    for (const resolve of this.#pending.values()) resolve([]);
    this.#pending.clear();
  }

  async #receive(message: unknown): Promise<void> {
    if (!isClusterMessage(message)) return;
    if (message.kind === 'churn:collect') {
      // A primary relays only what a worker running this code asked, so the topic is one of ours.
      const outcome = await this.collect(message.topic as keyof Topics & string, message.payload);
      this.#channel?.send?.({ kind: 'churn:collected', id: message.id, outcome });
    } else if (message.kind === 'churn:gathered') {
      this.#pending.get(message.id)?.(message.outcomes);
      this.#pending.delete(message.id);
    } else if (message.kind === 'churn:worker-counts') {
      this.#counts = message.counts;
    }
  }
}
