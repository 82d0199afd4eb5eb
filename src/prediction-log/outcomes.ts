import type { Outcome, OutcomeCounts, OutcomeWindow, ScoredOutcome } from './prediction-log-store.js';

/**
 * Outcomes joined to predictions, in SQL both stores run as written (placeholders `?`; the
 * PostgreSQL store numbers them). The matching rule, decided here once:
 *
 * - Only served predictions take part (served = 1): a shadow score of a row (a challenger's, or
 *   the champion's behind a canary) is never "the latest prediction" and never labeled; the
 *   comparison labels it through its served twin (same row_key).
 * - An outcome observed at T for customer C labels the **latest prediction for C recorded before
 *   T** (recorded_at < T), if that prediction was recorded within the horizon (recorded_at >=
 *   T - horizon). Predictions recorded in the same millisecond are ordered by prediction id, so
 *   "the latest" is always one prediction.
 * - A prediction is labeled at most once: when several outcomes of C fall after it and before
 *   C's next prediction (churn observed on two dates, say), the **earliest** labels it and the
 *   later ones label nothing. An outcome at exactly the time of C's next prediction belongs to
 *   the earlier prediction (that one was made before it; the next was not).
 *
 * Seen from a prediction P of C recorded at t, whose next prediction of C is at t_next: P's
 * outcome is the earliest one in (t, min(t_next, t + horizon)]. The intervals of one customer's
 * predictions do not overlap, so an outcome labels at most one prediction.
 *
 * Matching happens when predictions are read, never frozen when outcomes are posted: an outcome
 * posted before any prediction of its customer labels one recorded later (before T).
 */

export const DAY_MS = 86_400_000;

export type SqlValue = string | number | null;
/** One statement with `?` placeholders and its parameters. */
export interface SqlQuery {
  sql: string;
  params: SqlValue[];
}

/** `?` placeholders as PostgreSQL numbers them ($1, $2, …); the shared SQL holds no other `?`. */
export function numberedPlaceholders(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${(index += 1)}`);
}

export interface OutcomeKey {
  customerId: string;
  observedAtMs: number;
}

const keyOf = (customerId: string, observedAtMs: number) => `${observedAtMs} ${customerId}`;

/** The distinct customer and time pairs of a post, in the order first sent. */
export function outcomeKeys(outcomes: readonly Outcome[]): OutcomeKey[] {
  const keys = new Map<string, OutcomeKey>();
  for (const { customerId, observedAt } of outcomes) keys.set(keyOf(customerId, observedAt.getTime()), { customerId, observedAtMs: observedAt.getTime() });
  return [...keys.values()];
}

/** `posted (customer_id, observed_at_ms) AS (VALUES (?, CAST(? AS BIGINT)), …)`: a CTE both stores read the same way. */
function postedKeys(keys: readonly OutcomeKey[]): SqlQuery {
  return {
    sql: `posted (customer_id, observed_at_ms) AS (VALUES ${keys.map(() => '(?, CAST(? AS BIGINT))').join(', ')})`,
    params: keys.flatMap((key) => [key.customerId, key.observedAtMs]),
  };
}

/**
 * Recording a post, step by step, inside one transaction of the store (the SQLite store runs the
 * steps synchronously, so nothing else on its connection comes between them): read what is stored
 * for the post's keys, write what `planOutcomes` says, then count the matches.
 */
export function storedOutcomesQuery(keys: readonly OutcomeKey[]): SqlQuery {
  const posted = postedKeys(keys);
  return {
    sql: `WITH ${posted.sql} SELECT o.customer_id, o.observed_at_ms, o.churned FROM outcomes o JOIN posted ON o.customer_id = posted.customer_id AND o.observed_at_ms = posted.observed_at_ms`,
    params: posted.params,
  };
}

/** The stored rows by key, as planOutcomes reads them (either driver's types). */
export function storedByKey(rows: readonly Record<string, unknown>[]): Map<string, boolean> {
  return new Map(rows.map((row) => [keyOf(String(row.customer_id), Number(row.observed_at_ms)), Number(row.churned) === 1]));
}

export interface OutcomeWrite extends OutcomeKey {
  churned: boolean;
}

/** What the post does, given what is stored: the counts, and the keys whose value changes. Pure, so the rule is tested without a store. */
export function planOutcomes(outcomes: readonly Outcome[], stored: ReadonlyMap<string, boolean>): { counts: Pick<OutcomeCounts, 'accepted' | 'corrected' | 'duplicates'>; writes: OutcomeWrite[] } {
  const counts = { accepted: 0, corrected: 0, duplicates: 0 };
  /** The value each key holds after the items so far: the stored one, then each item in order. */
  const current = new Map(stored);
  for (const { customerId, observedAt, churned } of outcomes) {
    const key = keyOf(customerId, observedAt.getTime());
    const before = current.get(key);
    if (before === churned) {
      counts.duplicates += 1;
      continue;
    }
    counts.accepted += 1;
    if (before !== undefined) counts.corrected += 1;
    current.set(key, churned);
  }
  // Only a key whose final value differs from the stored one is written (a new key always is).
  const writes = outcomeKeys(outcomes)
    .map((key) => ({ ...key, churned: current.get(keyOf(key.customerId, key.observedAtMs))! }))
    .filter((write) => stored.get(keyOf(write.customerId, write.observedAtMs)) !== write.churned);
  return { counts, writes };
}

/** Inserts new outcomes and replaces the `churned` of corrected ones; `received_at_ms` stays the first post's. */
export function upsertOutcomesQuery(writes: readonly OutcomeWrite[], receivedAt: Date): SqlQuery {
  const receivedAtMs = receivedAt.getTime();
  return {
    sql:
      `INSERT INTO outcomes (customer_id, observed_at_ms, churned, received_at_ms, updated_at_ms) VALUES ${writes.map(() => '(?, ?, ?, ?, ?)').join(', ')} ` +
      'ON CONFLICT (customer_id, observed_at_ms) DO UPDATE SET churned = excluded.churned, updated_at_ms = excluded.updated_at_ms',
    params: writes.flatMap((write) => [write.customerId, write.observedAtMs, write.churned ? 1 : 0, receivedAtMs, receivedAtMs]),
  };
}

/**
 * How many of the keys label a prediction now: the customer's latest prediction before T lies
 * within the horizon, and no stored outcome of the customer falls between it and T (that earlier
 * one labels it). The MAX is one seek on the index predictions (customer_id, recorded_at_ms).
 * Answers one row, `matched`.
 */
export function matchedOutcomesQuery(keys: readonly OutcomeKey[], horizonDays: number): SqlQuery {
  const posted = postedKeys(keys);
  return {
    sql: `WITH ${posted.sql},
latest AS (
  SELECT posted.customer_id, posted.observed_at_ms,
    (SELECT MAX(p.recorded_at_ms) FROM predictions p WHERE p.customer_id = posted.customer_id AND p.recorded_at_ms < posted.observed_at_ms AND p.served = 1) AS latest_ms
  FROM posted
)
SELECT COUNT(*) AS matched FROM latest
WHERE latest.latest_ms >= latest.observed_at_ms - ?
  AND NOT EXISTS (
    SELECT 1 FROM outcomes o
    WHERE o.customer_id = latest.customer_id AND o.observed_at_ms > latest.latest_ms AND o.observed_at_ms < latest.observed_at_ms
  )`,
    params: [...posted.params, horizonDays * DAY_MS],
  };
}

/** The counts of a post, from the plan and the matched query's row. */
export function outcomeCounts(counts: Pick<OutcomeCounts, 'accepted' | 'corrected' | 'duplicates'>, keys: number, matchedRow: Record<string, unknown> | undefined): OutcomeCounts {
  const matched = Number(matchedRow?.matched ?? 0);
  return { ...counts, matched, unmatched: keys - matched };
}

/**
 * The `churned` of the outcome that labels the prediction aliased `p` (one `?`: the horizon in
 * ms), as a scalar subquery; the scored outcomes and the comparison's pairs both read it. Only
 * served records (served = 1) count as a customer's later prediction: a challenger's shadow score
 * of the same row is no new prediction and never takes the label. The index on (customer_id,
 * recorded_at_ms) holds served records only (migration 006): every seek by customer must say
 * served = 1, or neither store can use it.
 */
export function outcomeOfPrediction(p: string): string {
  return `(SELECT o.churned FROM outcomes o
    WHERE o.customer_id = ${p}.customer_id
      AND o.observed_at_ms > ${p}.recorded_at_ms
      AND o.observed_at_ms <= ${p}.recorded_at_ms + ?
      AND NOT EXISTS (
        SELECT 1 FROM predictions later
        WHERE later.customer_id = ${p}.customer_id
          AND later.served = 1
          AND later.recorded_at_ms >= ${p}.recorded_at_ms
          AND later.recorded_at_ms < o.observed_at_ms
          AND (later.recorded_at_ms > ${p}.recorded_at_ms OR (later.recorded_at_ms = ${p}.recorded_at_ms AND later.prediction_id > ${p}.prediction_id))
      )
    ORDER BY o.observed_at_ms
    LIMIT 1)`;
}

/**
 * Every served prediction of [since, until) with its outcome (shadow scores are left out). The period's predictions are read by the
 * index on recorded_at_ms; for each one with a customer, one seek on the outcomes' primary key
 * (customer_id, observed_at_ms) finds the outcomes after it within the horizon (most predictions
 * have none), and for those, one seek on predictions (customer_id, recorded_at_ms) tells whether
 * another prediction of the customer comes between (then the outcome is that one's). The
 * earliest outcome left labels the prediction. Every step is an index seek, so the plan does not
 * depend on the tables' statistics.
 */
export const SCORED_OUTCOMES_SQL = `SELECT p.model_version, p.probability,
  ${outcomeOfPrediction('p')} AS churned
FROM predictions p
WHERE p.recorded_at_ms >= ? AND p.recorded_at_ms < ? AND p.served = 1
ORDER BY p.recorded_at_ms, p.prediction_id`;

export function scoredOutcomesQuery({ since, until, horizonDays }: OutcomeWindow): SqlQuery {
  return { sql: SCORED_OUTCOMES_SQL, params: [horizonDays * DAY_MS, since.getTime(), until.getTime()] };
}

export function rowToScoredOutcome(row: Record<string, unknown>): ScoredOutcome {
  return {
    modelVersion: String(row.model_version),
    probability: Number(row.probability),
    churned: row.churned === null ? null : Number(row.churned) === 1,
  };
}
