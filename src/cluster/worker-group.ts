import cluster from 'node:cluster';
import { isClusterMessage, type ClusterMessage, type WorkerOutcome } from './messages.js';

export type Collector = (payload: unknown) => unknown;

export interface IpcChannel {
  send?: (message: ClusterMessage) => unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/**
 * This process's view of every worker serving the port, itself included. `gather` asks them all
 * for an answer on a topic (through the cluster primary) and resolves with one outcome per
 * worker; without a cluster, the only worker is this process.
 */
export class WorkerGroup {
  readonly #collectors = new Map<string, Collector>();
  readonly #pending = new Map<number, (outcomes: WorkerOutcome[]) => void>();
  readonly #channel: IpcChannel | undefined;
  readonly #listener = (message: unknown) => void this.#receive(message);
  #nextId = 1;

  /** `channel` is this worker's IPC channel to the primary; none when the process runs alone. */
  constructor(channel: IpcChannel | undefined = cluster.isWorker ? process : undefined) {
    this.#channel = channel;
    channel?.on('message', this.#listener);
  }

  get clustered(): boolean {
    return this.#channel !== undefined;
  }

  /** Answers `topic` for this process whenever any worker gathers it. */
  onCollect(topic: string, collector: Collector): void {
    this.#collectors.set(topic, collector);
  }

  /** Asks every worker, this one included, and resolves with each one's outcome. */
  async gather(topic: string, payload: unknown, timeoutMs: number): Promise<WorkerOutcome[]> {
    if (!this.#channel?.send) return [await this.collect(topic, payload)];
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#channel!.send!({ kind: 'churn:gather', id, topic, payload, timeoutMs });
    });
  }

  /** This process's own outcome for `topic`. */
  async collect(topic: string, payload: unknown): Promise<WorkerOutcome> {
    const collector = this.#collectors.get(topic);
    if (!collector) return { pid: process.pid, error: `nothing answers "${topic}" in this worker` };
    try {
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
      const outcome = await this.collect(message.topic, message.payload);
      this.#channel?.send?.({ kind: 'churn:collected', id: message.id, outcome });
    } else if (message.kind === 'churn:gathered') {
      this.#pending.get(message.id)?.(message.outcomes);
      this.#pending.delete(message.id);
    }
  }
}
