import type { FastifyBaseLogger } from 'fastify';

/**
 * Whether the shared rate-limit count answers, for the log: one warning when it stops (however
 * many requests fail meanwhile) and one line when it answers again.
 */
export class StoreHealth {
  readonly #log: FastifyBaseLogger;
  readonly #store: string;
  #failingSince: number | undefined;

  /** `store` names the count in log lines: "Redis", "the cluster primary". */
  constructor(log: FastifyBaseLogger, store: string) {
    this.#log = log;
    this.#store = store;
  }

  failed(error: unknown): void {
    if (this.#failingSince !== undefined) return;
    this.#failingSince = Date.now();
    this.#log.warn({ err: error }, `rate limit: ${this.#store} does not answer; requests are served without a limit until it does`);
  }

  answered(): void {
    if (this.#failingSince === undefined) return;
    this.#log.info({ outageMs: Date.now() - this.#failingSince }, `rate limit: ${this.#store} answers again; requests are limited again`);
    this.#failingSince = undefined;
  }
}
