import type { PairedScore } from '../monitoring/comparison.js';
import type { OutcomeWindow } from '../monitoring/performance.js';
import { DAY_MS, outcomeOfPrediction, type SqlQuery } from './outcomes.js';

/**
 * The rows both models scored, in SQL both stores run as written. The window's served records
 * (served = 1) are read by the index on recorded_at_ms; each finds the other model's unserved
 * record of the same row by one seek on the index on row_key, which holds unserved records only
 * (migration 005): the join's `shadow.served = 0` is what lets both stores use it. The pair's
 * outcome is the one that labels the served record (outcomes.ts's rule, shadow records never
 * counting as a later prediction). A served record without a partner (the challenger's share was below 1, or its
 * queue overflowed) is no pair and is left out.
 */
export const PAIRED_SCORES_SQL = `SELECT p.role AS served_role, p.model_version AS served_version, p.probability AS served_probability,
  shadow.model_version AS unserved_version, shadow.probability AS unserved_probability,
  ${outcomeOfPrediction('p')} AS churned
FROM predictions p
JOIN predictions shadow ON shadow.row_key = p.row_key AND shadow.served = 0 AND shadow.role <> p.role
WHERE p.served = 1 AND p.row_key IS NOT NULL AND p.recorded_at_ms >= ? AND p.recorded_at_ms < ?
ORDER BY p.recorded_at_ms, p.prediction_id`;

export function pairedScoresQuery({ since, until, horizonDays }: OutcomeWindow): SqlQuery {
  return { sql: PAIRED_SCORES_SQL, params: [horizonDays * DAY_MS, since.getTime(), until.getTime()] };
}

/** A row of PAIRED_SCORES_SQL as either driver returns it. */
export function rowToPairedScore(row: Record<string, unknown>): PairedScore {
  const servedBy = row.served_role === 'challenger' ? 'challenger' : 'champion';
  const served = { version: String(row.served_version), score: Number(row.served_probability) };
  const unserved = { version: String(row.unserved_version), score: Number(row.unserved_probability) };
  const [champion, challenger] = servedBy === 'champion' ? [served, unserved] : [unserved, served];
  return {
    championVersion: champion.version,
    challengerVersion: challenger.version,
    champion: champion.score,
    challenger: challenger.score,
    servedBy,
    churned: row.churned === null ? null : Number(row.churned) === 1,
  };
}
