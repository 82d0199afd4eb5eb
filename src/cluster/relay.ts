import type { CollectReply, CollectRequest, GatherRequest, WorkerOutcome } from './messages.js';

/** A worker as the primary asks it: its process, and its IPC channel. */
export interface RelayTarget {
  readonly process: { readonly pid?: number | undefined };
  send(message: CollectRequest): unknown;
}

/** A gather as the primary relays it to every worker. */
export type RelayRequest = Omit<GatherRequest, 'kind' | 'id'>;

interface OpenRelay<Worker> {
  /** Each worker yet to answer, with its process pid: outcomes name a worker by its process. */
  waiting: Map<Worker, number>;
  outcomes: WorkerOutcome[];
  timer: NodeJS.Timeout;
  done: (outcomes: WorkerOutcome[]) => void;
}

const NO_ANSWER_IN_TIME = 'the worker did not answer in time';
const WORKER_EXITED = 'the worker exited';

/**
 * The primary's half of a gather: it asks every worker it is given and hands back one outcome per
 * worker, in the order they came in: its answer, or why there is none (it did not answer within
 * the timeout, or it exited first). Each relay finishes exactly once; a reply after that, or a
 * second one from the same worker, is ignored.
 */
export class Relay<Worker extends RelayTarget = RelayTarget> {
  readonly #open = new Map<number, OpenRelay<Worker>>();
  #nextId = 1;

  /** Asks each of `targets` and calls `done` with every outcome, or those in by `request.timeoutMs`. */
  ask(targets: readonly Worker[], request: RelayRequest, done: (outcomes: WorkerOutcome[]) => void): void {
    const id = this.#nextId++;
    this.#open.set(id, {
      waiting: new Map(targets.map((worker) => [worker, worker.process.pid ?? -1])),
      outcomes: [],
      timer: setTimeout(() => this.#finish(id), request.timeoutMs),
      done,
    });
    for (const worker of targets) worker.send({ kind: 'churn:collect', id, topic: request.topic, payload: request.payload });
    if (targets.length === 0) this.#finish(id);
  }

  /** `worker`'s answer to one of the relays. */
  receive(worker: Worker, reply: CollectReply): void {
    const relay = this.#open.get(reply.id);
    if (!relay || !relay.waiting.delete(worker)) return;
    relay.outcomes.push(reply.outcome);
    if (relay.waiting.size === 0) this.#finish(reply.id);
  }

  /** A worker that is gone answers no relay. */
  workerExited(worker: Worker): void {
    for (const [id, relay] of this.#open) {
      const pid = relay.waiting.get(worker);
      if (pid === undefined) continue;
      relay.waiting.delete(worker);
      relay.outcomes.push({ pid, error: WORKER_EXITED });
      if (relay.waiting.size === 0) this.#finish(id);
    }
  }

  #finish(id: number): void {
    const relay = this.#open.get(id);
    if (!relay) return;
    this.#open.delete(id);
    clearTimeout(relay.timer);
    for (const pid of relay.waiting.values()) relay.outcomes.push({ pid, error: NO_ANSWER_IN_TIME });
    relay.done(relay.outcomes);
  }
}
