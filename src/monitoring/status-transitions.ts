/**
 * The last status of each named thing (a feature's drift, a plausibility check) and which new
 * statuses are news: a change, or a first status other than the quiet one ("stable", "ok"). So an
 * operator sees one warning when something starts alerting and one when it recovers, not one per
 * check run, and a first quiet status is news to nobody.
 */
export class StatusTransitions<Status extends string> {
  readonly #quiet: Status;
  readonly #last = new Map<string, Status>();

  constructor(quiet: Status) {
    this.#quiet = quiet;
  }

  /** Records `status` for `name`; when that is news, returns the status it had before (null: none). */
  record(name: string, status: Status): { from: Status | null } | undefined {
    const before = this.#last.get(name) ?? null;
    this.#last.set(name, status);
    if (status === before || (before === null && status === this.#quiet)) return undefined;
    return { from: before };
  }

  /** Forgets every status: the next ones are judged as first ones. */
  clear(): void {
    this.#last.clear();
  }
}
