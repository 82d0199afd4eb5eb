import type { DriftFeatureReference } from '../schemas/model-card.js';
import type { DataPlaneObserver, ScoredRun } from './data-plane.js';
import type { ModelRole, ServedModel } from './model.js';

/**
 * Drift monitoring against the training data: every scored row is counted into the bins of the
 * model's reference profile (written by the training pipeline into the model card), over a
 * sliding window of the last N rows, and compared with the training shares by the population
 * stability index. Nothing here knows HTTP or any protocol.
 */

/** A share of 0 (live or reference) counts as this, so the index stays finite. */
export const PSI_SMOOTHING = 1e-4;

export type DriftStatus = 'stable' | 'moderate' | 'significant';

export interface DriftThresholds {
  /** PSI from which a feature counts as moderately drifted (default 0.1). */
  moderate: number;
  /** PSI above which a feature counts as significantly drifted (default 0.25). */
  significant: number;
}

/** The reference profile of one model: a distribution per feature, in column order, and one for the score. */
export interface DriftReference {
  features: DriftFeatureReference[];
  score: DriftFeatureReference;
}

/**
 * The bin a value falls in. Bins: with inner edges e0 < e1 < ..., bin i holds (e(i-1), e(i)], so
 * the bin is the number of edges below the value. Values: the index of the value, or one past the
 * end for a value the reference never saw (its reference share is 0).
 */
export function binOf(profile: DriftFeatureReference, value: number): number {
  if (profile.kind === 'bins') {
    const { edges } = profile;
    let bin = 0;
    while (bin < edges.length && value > edges[bin]!) bin += 1;
    return bin;
  }
  const index = profile.values.indexOf(value);
  return index === -1 ? profile.values.length : index;
}

/** How many bins a profile counts into: its shares, plus an "other" bin for a values profile. */
export function binCount(profile: DriftFeatureReference): number {
  return profile.kind === 'bins' ? profile.shares.length : profile.shares.length + 1;
}

/** Human-readable bin labels, in bin order: "(-inf, 2]", "(2, 6]", ... or "1", "2", ..., "other". */
export function binLabels(profile: DriftFeatureReference): string[] {
  if (profile.kind === 'values') return [...profile.values.map(String), 'other'];
  const { edges } = profile;
  return profile.shares.map((_, bin) => `(${bin === 0 ? '-inf' : edges[bin - 1]}, ${bin === edges.length ? '+inf' : edges[bin]}]`);
}

/** Reference shares in bin order (0 for the "other" bin of a values profile). */
export function referenceShares(profile: DriftFeatureReference): number[] {
  return profile.kind === 'bins' ? [...profile.shares] : [...profile.shares, 0];
}

/** PSI = Σ (live − reference) · ln(live / reference), over shares, with zero shares smoothed. */
export function populationStabilityIndex(liveCounts: ArrayLike<number>, reference: readonly number[]): number {
  let total = 0;
  for (let bin = 0; bin < liveCounts.length; bin += 1) total += liveCounts[bin]!;
  if (total === 0) return 0;
  let psi = 0;
  for (let bin = 0; bin < reference.length; bin += 1) {
    const live = Math.max(liveCounts[bin]! / total, PSI_SMOOTHING);
    const expected = Math.max(reference[bin]!, PSI_SMOOTHING);
    psi += (live - expected) * Math.log(live / expected);
  }
  return psi;
}

export function driftStatus(psi: number, thresholds: DriftThresholds): DriftStatus {
  if (psi > thresholds.significant) return 'significant';
  if (psi >= thresholds.moderate) return 'moderate';
  return 'stable';
}

/** One process's live counts: per feature (then the score) per bin, over the rows in its window. */
export interface DriftCounts {
  rows: number;
  counts: number[][];
}

/**
 * The last `capacity` scored rows of one model, counted into its reference bins. Counting a row
 * costs O(features) and allocates nothing: each row's bins sit in a ring buffer, so the row that
 * leaves the window is subtracted from the counts as the new one is added.
 */
export class DriftWindow {
  readonly #profiles: DriftFeatureReference[];
  readonly #capacity: number;
  readonly #width: number;
  /** Per slot of the ring, per profile: the bin that row went to. */
  readonly #ring: Uint16Array;
  /** Per profile, per bin: rows in the window. */
  readonly #counts: Uint32Array[];
  #next = 0;
  #rows = 0;

  constructor(reference: DriftReference, capacity: number) {
    this.#profiles = [...reference.features, reference.score];
    this.#capacity = capacity;
    this.#width = this.#profiles.length;
    this.#ring = new Uint16Array(capacity * this.#width);
    this.#counts = this.#profiles.map((profile) => new Uint32Array(binCount(profile)));
  }

  get rows(): number {
    return this.#rows;
  }

  /** Counts `rowCount` rows: features packed row-major (float32, as the model read them), and their scores. */
  add(features: Float32Array, rowCount: number, scores: ArrayLike<number>): void {
    const featureCount = this.#width - 1;
    const profiles = this.#profiles;
    const counts = this.#counts;
    const ring = this.#ring;
    for (let row = 0; row < rowCount; row += 1) {
      const slot = this.#next * this.#width;
      const full = this.#rows === this.#capacity;
      for (let column = 0; column < this.#width; column += 1) {
        const value = column < featureCount ? features[row * featureCount + column]! : scores[row]!;
        const bin = binOf(profiles[column]!, value);
        if (full) counts[column]![ring[slot + column]!]! -= 1;
        ring[slot + column] = bin;
        counts[column]![bin]! += 1;
      }
      if (!full) this.#rows += 1;
      this.#next = (this.#next + 1) % this.#capacity;
    }
  }

  counts(): DriftCounts {
    return { rows: this.#rows, counts: this.#counts.map((bins) => Array.from(bins)) };
  }
}

/** Several processes' counts of the same model, added up: the whole server's window. */
export function sumCounts(parts: readonly DriftCounts[]): DriftCounts {
  const [first, ...rest] = parts;
  if (!first) return { rows: 0, counts: [] };
  const counts = first.counts.map((bins) => [...bins]);
  for (const part of rest) part.counts.forEach((bins, profile) => bins.forEach((count, bin) => (counts[profile]![bin]! += count)));
  return { rows: parts.reduce((sum, part) => sum + part.rows, 0), counts };
}

export interface DriftFinding {
  name: string;
  psi: number | undefined;
  status: DriftStatus | undefined;
  bins: { bin: string; referenceShare: number; liveShare: number }[];
}

/** PSI and status per feature and for the score; no status while the window holds fewer than `minRows`. */
export function assessDrift(reference: DriftReference, live: DriftCounts, thresholds: DriftThresholds, minRows: number): { features: DriftFinding[]; score: DriftFinding } {
  const assess = (profile: DriftFeatureReference, counts: readonly number[]): DriftFinding => {
    const expected = referenceShares(profile);
    const enough = live.rows >= minRows && live.rows > 0;
    const psi = enough ? populationStabilityIndex(counts, expected) : undefined;
    return {
      name: profile.name,
      psi,
      status: psi === undefined ? undefined : driftStatus(psi, thresholds),
      bins: binLabels(profile).map((bin, index) => ({ bin, referenceShare: expected[index]!, liveShare: live.rows > 0 ? counts[index]! / live.rows : 0 })),
    };
  };
  const features = reference.features.map((profile, index) => assess(profile, live.counts[index] ?? []));
  return { features, score: assess(reference.score, live.counts[reference.features.length] ?? []) };
}

/** One process's view of drift for the model it serves, as a gather carries it between processes. */
export interface DriftSnapshot {
  modelVersion: string;
  modelSha256: string;
  /** Why there is nothing to count (a model without a reference profile); absent when counting. */
  unavailable?: string;
  reference?: DriftReference;
  live?: DriftCounts;
}

/**
 * Counts every row the data plane scores into the current model's window. A reload switches the
 * reference with the model and starts a fresh window; rows still being scored by the replaced
 * model are not counted.
 */
export class DriftMonitor implements DataPlaneObserver {
  readonly #windowRows: number;
  #model: { version: string; sha256: string } | undefined;
  #reference: DriftReference | undefined;
  #window: DriftWindow | undefined;

  constructor(windowRows: number) {
    this.#windowRows = windowRows;
  }

  /** From now on, count rows of `model` against `reference` (none: the model cannot be monitored). */
  switchTo(model: { version: string; sha256: string }, reference: DriftReference | undefined): void {
    this.#model = model;
    this.#reference = reference;
    this.#window = reference ? new DriftWindow(reference, this.#windowRows) : undefined;
  }

  observe(model: object, features: Float32Array, rows: number, scores: ArrayLike<number>): void {
    if (model === this.#model) this.#window?.add(features, rows, scores);
  }

  /** The data plane's news of a model now serving: its card's reference profile becomes the one counted against. */
  modelLoaded(model: ServedModel, role: ModelRole): void {
    if (role !== 'champion') return;
    const reference = model.card?.drift_reference;
    this.switchTo(model, reference && { features: reference.features, score: reference.score });
  }

  rowsScored(run: ScoredRun): void {
    this.observe(run.model, run.features, run.rows, run.outputs.churn);
  }

  snapshot(): DriftSnapshot | undefined {
    const model = this.#model;
    if (!model) return undefined;
    const identity = { modelVersion: model.version, modelSha256: model.sha256 };
    if (!this.#reference || !this.#window) return { ...identity, unavailable: 'the model has no drift reference profile (it came without a model card)' };
    return { ...identity, reference: this.#reference, live: this.#window.counts() };
  }
}

/**
 * The whole server's drift from each process's snapshot: the counts of every process serving
 * `sha256` (by default, the model most processes serve) added up, never their PSIs.
 */
export function combineSnapshots(snapshots: readonly DriftSnapshot[], sha256?: string): DriftSnapshot | undefined {
  const bySha = new Map<string, DriftSnapshot[]>();
  for (const snapshot of snapshots) bySha.set(snapshot.modelSha256, [...(bySha.get(snapshot.modelSha256) ?? []), snapshot]);
  const chosen = sha256 ?? [...bySha.entries()].sort((a, b) => b[1].length - a[1].length)[0]?.[0];
  const group = chosen === undefined ? [] : (bySha.get(chosen) ?? []);
  const [first] = group;
  if (!first) return undefined;
  if (!first.reference) return first;
  return { ...first, live: sumCounts(group.flatMap((snapshot) => (snapshot.live ? [snapshot.live] : []))) };
}
