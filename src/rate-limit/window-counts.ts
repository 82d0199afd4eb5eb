/** A key's requests in its current window, and the milliseconds until that window ends. */
export interface WindowCount {
  current: number;
  ttl: number;
}

interface Window {
  count: number;
  endsAt: number;
}

/** Enough for every client of a busy server within a window, and small enough (~10 MB) for any process. */
const DEFAULT_MAX_KEYS = 100_000;

/**
 * Fixed-window request counts, as @fastify/rate-limit's own in-process store keeps them: a key's
 * first request opens a window of `windowMs`, and every request in it adds one. Ended windows are
 * swept once per window; past `maxKeys` the oldest window is dropped (that client starts afresh),
 * so a flood of distinct addresses cannot grow the map without bound.
 */
export class WindowCounts {
  // A Map keeps insertion order, and a window is re-inserted when it opens: the first entry is
  // always the oldest window.
  readonly #windows = new Map<string, Window>();
  readonly #maxKeys: number;
  readonly #now: () => number;
  #nextSweepAt = 0;

  constructor({ maxKeys = DEFAULT_MAX_KEYS, now = Date.now }: { maxKeys?: number; now?: () => number } = {}) {
    this.#maxKeys = maxKeys;
    this.#now = now;
  }

  get size(): number {
    return this.#windows.size;
  }

  hit(key: string, windowMs: number): WindowCount {
    const now = this.#now();
    this.#sweep(now, windowMs);
    let window = this.#windows.get(key);
    if (window === undefined || window.endsAt <= now) {
      this.#windows.delete(key);
      window = { count: 0, endsAt: now + windowMs };
      this.#windows.set(key, window);
      if (this.#windows.size > this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value!);
    }
    window.count += 1;
    return { current: window.count, ttl: window.endsAt - now };
  }

  #sweep(now: number, windowMs: number): void {
    if (now < this.#nextSweepAt) return;
    this.#nextSweepAt = now + windowMs;
    for (const [key, window] of this.#windows) {
      if (window.endsAt <= now) this.#windows.delete(key);
    }
  }
}
