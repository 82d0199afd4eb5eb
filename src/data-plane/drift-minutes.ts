import type { DataPlaneObserver, ScoredRun } from './data-plane.js';
import { binCount, binOf, type DriftReference } from './drift.js';
import type { ModelRole, ServedModel } from './model.js';

/**
 * Drift over time rather than over the last N rows: every scored row is counted into its minute's
 * bucket, per profile (each feature, then the score) per bin of the model's reference. The buckets
 * are added to a store now and then (the prediction log's), so a window of the last hour or day is
 * a sum over at most 60 or 1,440 minutes, whatever the traffic, and outlives a restart.
 */

export const MINUTE_MS = 60_000;

/** One bucket's count as a store adds it: rows of one model, in one minute, in one bin of one profile. */
export interface DriftMinuteCount {
  minuteMs: number;
  modelSha256: string;
  /** A feature's name, or the score's. */
  profile: string;
  bin: number;
  rows: number;
}

interface MinuteCounts {
  minuteMs: number;
  modelSha256: string;
  profileNames: string[];
  counts: Uint32Array[];
}

/**
 * The minute counts of this process not yet in the store. Counts a failed write gives back wait
 * for the next one, bounded: past `maxReturned` of them the oldest are dropped (and counted), so
 * memory stays bounded while the store is down.
 */
export class DriftMinuteCounter implements DataPlaneObserver {
  readonly #maxReturned: number;
  readonly #now: () => number;
  #model: ServedModel | undefined;
  #reference: DriftReference | undefined;
  /** This minute's (and maybe the last one's) counts of the model served, one bucket per minute. */
  #pending = new Map<number, MinuteCounts>();
  /** Counts a failed write gave back, one per minute, model, profile and bin. */
  #returned = new Map<string, DriftMinuteCount>();
  #dropped = 0;

  constructor(options: { maxReturned: number; now?: () => number }) {
    this.#maxReturned = options.maxReturned;
    this.#now = options.now ?? Date.now;
  }

  /** The model counted for and its reference (undefined: no model yet, or one without a card). */
  get current(): { model: ServedModel; reference: DriftReference } | undefined {
    return this.#model && this.#reference ? { model: this.#model, reference: this.#reference } : undefined;
  }

  /** Bucket counts dropped because the store did not take them for too long. */
  get dropped(): number {
    return this.#dropped;
  }

  modelLoaded(model: ServedModel, role: ModelRole): void {
    if (role !== 'champion') return;
    const reference = model.card?.drift_reference;
    this.#model = model;
    this.#reference = reference && { features: reference.features, score: reference.score };
  }

  rowsScored(run: ScoredRun): void {
    const reference = this.#reference;
    if (run.model !== this.#model || !reference) return;
    const minuteMs = Math.floor(this.#now() / MINUTE_MS) * MINUTE_MS;
    const profiles = [...reference.features, reference.score];
    let bucket = this.#pending.get(minuteMs);
    if (!bucket || bucket.modelSha256 !== run.model.sha256) {
      // A new minute, or a new model within it: the old bucket's counts wait with the returned ones.
      if (bucket) this.putBack(countsOf(bucket));
      bucket = { minuteMs, modelSha256: run.model.sha256, profileNames: profiles.map((profile) => profile.name), counts: profiles.map((profile) => new Uint32Array(binCount(profile))) };
      this.#pending.set(minuteMs, bucket);
    }
    const featureCount = reference.features.length;
    const scores = run.outputs.churn;
    for (let row = 0; row < run.rows; row += 1) {
      for (let column = 0; column < profiles.length; column += 1) {
        const value = column < featureCount ? run.features[row * featureCount + column]! : scores[row]!;
        bucket.counts[column]![binOf(profiles[column]!, value)]! += 1;
      }
    }
  }

  /**
   * Hands over every count waiting (non-zero bins only, one per minute, model, profile and bin, as
   * an upsert needs) and forgets them; `putBack` them if the store refuses.
   */
  take(): DriftMinuteCount[] {
    const returned = this.#returned;
    this.#returned = new Map();
    for (const bucket of this.#pending.values()) for (const count of countsOf(bucket)) add(returned, count);
    this.#pending = new Map();
    return [...returned.values()];
  }

  /** Counts a failed write gave back: written with the next take. */
  putBack(counts: readonly DriftMinuteCount[]): void {
    for (const count of counts) add(this.#returned, count);
    while (this.#returned.size > this.#maxReturned) {
      // Map order is insertion order: the first key is the oldest count.
      this.#returned.delete(this.#returned.keys().next().value!);
      this.#dropped += 1;
    }
  }
}

function add(counts: Map<string, DriftMinuteCount>, count: DriftMinuteCount): void {
  const key = `${count.minuteMs}:${count.modelSha256}:${count.profile}:${count.bin}`;
  const existing = counts.get(key);
  counts.set(key, existing ? { ...existing, rows: existing.rows + count.rows } : count);
}

function countsOf(bucket: MinuteCounts): DriftMinuteCount[] {
  return bucket.counts.flatMap((bins, profile) =>
    Array.from(bins).flatMap((rows, bin) => (rows > 0 ? [{ minuteMs: bucket.minuteMs, modelSha256: bucket.modelSha256, profile: bucket.profileNames[profile]!, bin, rows }] : [])),
  );
}

/** Per profile (features in the reference's order, then the score) per bin: the counts a store summed over a window. */
export function countsByProfile(reference: DriftReference, summed: readonly { profile: string; bin: number; rows: number }[]): { rows: number; counts: number[][] } {
  const profiles = [...reference.features, reference.score];
  const counts = profiles.map((profile) => new Array<number>(binCount(profile)).fill(0));
  const index = new Map(profiles.map((profile, position) => [profile.name, position]));
  for (const { profile, bin, rows } of summed) {
    const position = index.get(profile);
    if (position !== undefined && bin < counts[position]!.length) counts[position]![bin]! += rows;
  }
  const scoreBins = counts[profiles.length - 1]!;
  return { rows: scoreBins.reduce((sum, rows) => sum + rows, 0), counts };
}
