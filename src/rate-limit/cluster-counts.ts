import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { WindowCounts, type WindowCount } from './window-counts.js';

/**
 * One rate limit for every worker of a server: the workers' rate-limit store asks the cluster
 * primary, which keeps the only counts. Its own message kinds, outside the gathers' `churn:`
 * family: a count is one question and one answer, never relayed to other workers.
 */
export interface CountRequest {
  kind: 'rate-limit:hit';
  id: number;
  key: string;
  windowMs: number;
}

export interface CountReply extends WindowCount {
  kind: 'rate-limit:count';
  id: number;
}

const isMessage = (message: unknown, kind: string) => typeof message === 'object' && message !== null && (message as { kind?: unknown }).kind === kind;

export function isCountRequest(message: unknown): message is CountRequest {
  return isMessage(message, 'rate-limit:hit');
}

function isCountReply(message: unknown): message is CountReply {
  return isMessage(message, 'rate-limit:count');
}

/** The cluster primary's side: the counts of every worker. */
export class PrimaryCounts {
  readonly #counts: WindowCounts;

  constructor(counts = new WindowCounts()) {
    this.#counts = counts;
  }

  answer({ id, key, windowMs }: CountRequest): CountReply {
    return { kind: 'rate-limit:count', id, ...this.#counts.hit(key, windowMs) };
  }
}

/** The cluster primary's responder for the workers' count requests (see SupervisorOptions.responders). */
export function primaryCountResponder(counts = new PrimaryCounts()): (message: unknown) => CountReply | undefined {
  return (message) => (isCountRequest(message) ? counts.answer(message) : undefined);
}

/** A worker's IPC channel to the primary: `process` in a cluster worker. */
export interface CountChannel {
  send?: (message: CountRequest, sendHandle?: undefined, options?: undefined, callback?: (error: Error | null) => void) => boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/** The primary answers at once; one that has not within this is gone or stuck. */
export const PRIMARY_ANSWER_TIMEOUT_MS = 1_000;

interface Pending {
  resolve: (count: WindowCount) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** A worker's side: asks the primary to count a request. */
export class PrimaryCountClient {
  readonly #channel: CountChannel;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #listener = (message: unknown) => this.#receive(message);
  #nextId = 1;
  #closed = false;

  constructor(channel: CountChannel, timeoutMs = PRIMARY_ANSWER_TIMEOUT_MS) {
    this.#channel = channel;
    this.#timeoutMs = timeoutMs;
    channel.on('message', this.#listener);
  }

  hit(key: string, windowMs: number): Promise<WindowCount> {
    const send = this.#channel.send;
    if (this.#closed) return Promise.reject(new Error('the rate-limit store is closed'));
    if (!send) return Promise.reject(new Error('this process has no channel to a cluster primary'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(id)?.reject(new Error(`the cluster primary did not count a request within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      send.call(this.#channel, { kind: 'rate-limit:hit', id, key, windowMs }, undefined, undefined, (error) => {
        if (error) this.#settle(id)?.reject(error);
      });
    });
  }

  /** Stops listening; a count still awaited, or asked for later, fails. */
  close(): void {
    this.#closed = true;
    this.#channel.off('message', this.#listener);
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(new Error('the rate-limit store is closed'));
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }

  #receive(message: unknown): void {
    if (!isCountReply(message)) return;
    this.#settle(message.id)?.resolve({ current: message.current, ttl: message.ttl });
  }
}

/** @fastify/rate-limit's store over one client (the plugin constructs the class itself). */
export function primaryCountStore(client: PrimaryCountClient): FastifyRateLimitStoreCtor {
  class PrimaryCountStore implements FastifyRateLimitStore {
    #prefix = '';

    incr(key: string, callback: (error: Error | null, result?: WindowCount) => void, timeWindow: number): void {
      client.hit(this.#prefix + key, timeWindow).then(
        (count) => callback(null, count),
        (error: Error) => callback(error),
      );
    }

    /** A route with a limit of its own counts apart, as with @fastify/rate-limit's Redis store. */
    child(route: { method: string | string[]; url: string }): FastifyRateLimitStore {
      const child = new PrimaryCountStore();
      child.#prefix = `${this.#prefix}${String(route.method)}${route.url}-`;
      return child;
    }
  }
  return PrimaryCountStore;
}
