import type { FeatureRow } from './feature-rows.js';

/**
 * Plausibility checks: rules over one row that catch a broken caller (a unit mix-up, a field sent
 * as 0 when unknown) from the first rows it sends, where PSI over thousands of rows is slow to
 * see it. They never reject: the feature schema's ranges do that. A row that fails one is scored
 * as any other, and counted, logged and reported per check.
 *
 * Every rule is about arithmetic that holds for any price list (the total charged so far is a sum
 * of monthly bills), and its slack was chosen on the 7,043 customers of the training data, on
 * which every rule flags no row (measured in test/data-plane/plausibility.test.ts; margins in
 * docs/monitoring.md).
 */

/**
 * total_charges may exceed (tenure_months + 1) × monthly_charges by this factor. On the training
 * data the ratio is at most 1.20 (customers whose bill went down); a total in cents is about 100.
 */
export const TOTAL_ABOVE_BILLING_FACTOR = 2;
/**
 * total_charges may fall below tenure_months × min(monthly_charges × 0.5, 10 USD), at least. On
 * the training data no customer pays below 13.78 USD a month on average, nor below 0.69 of the
 * current bill; the cap at 10 USD a month lets a customer who moved up to a dearer plan pass.
 */
export const TOTAL_BELOW_BILLING_SHARE = 0.5;
export const TOTAL_BELOW_BILLING_MONTHLY_CAP = 10;
/** A customer in their first month (tenure 0) has been billed this many months at most. */
export const NEW_CUSTOMER_MAX_BILLS = 2;

export interface PlausibilityCheck {
  /** The check's name: a metric label, a log field and a value of the prediction log's `implausible` column. */
  readonly name: string;
  readonly description: string;
  /** True when `row` fails the check. */
  readonly fails: (row: FeatureRow) => boolean;
}

/** Every check, in a fixed order (a row's failures are a bit mask over this order). At most 8. */
export const PLAUSIBILITY_CHECKS: readonly PlausibilityCheck[] = [
  {
    name: 'total_charges_above_billing',
    description: `total_charges above ${TOTAL_ABOVE_BILLING_FACTOR} × (tenure_months + 1) × monthly_charges (a customer of one month or more): more than the months billed can add up to, e.g. a total in cents.`,
    fails: (row) => row.tenure_months >= 1 && row.total_charges > TOTAL_ABOVE_BILLING_FACTOR * (row.tenure_months + 1) * row.monthly_charges,
  },
  {
    name: 'total_charges_below_billing',
    description: `total_charges below tenure_months × min(${TOTAL_BELOW_BILLING_SHARE} × monthly_charges, ${TOTAL_BELOW_BILLING_MONTHLY_CAP}): less than the months billed add up to, e.g. a total in hundreds, or tenure in days.`,
    fails: (row) => row.total_charges < row.tenure_months * Math.min(TOTAL_BELOW_BILLING_SHARE * row.monthly_charges, TOTAL_BELOW_BILLING_MONTHLY_CAP),
  },
  {
    name: 'new_customer_with_history',
    description: `tenure_months 0 with total_charges above ${NEW_CUSTOMER_MAX_BILLS} × monthly_charges: a customer of this month with the charges of an older one, e.g. tenure sent as 0 when unknown, or a total in cents.`,
    fails: (row) => row.tenure_months === 0 && row.total_charges > NEW_CUSTOMER_MAX_BILLS * row.monthly_charges,
  },
];

export const PLAUSIBILITY_CHECK_NAMES: readonly string[] = PLAUSIBILITY_CHECKS.map((check) => check.name);

/** The checks `row` fails, as a bit mask over PLAUSIBILITY_CHECKS (0: plausible). Allocates nothing. */
export function implausibleMask(row: FeatureRow): number {
  let mask = 0;
  for (let index = 0; index < PLAUSIBILITY_CHECKS.length; index += 1) if (PLAUSIBILITY_CHECKS[index]!.fails(row)) mask |= 1 << index;
  return mask;
}

/** Each mask's names, made once (at most 2^8 lists): a row's failures allocate nothing. */
const NAMES_BY_MASK: readonly (readonly string[])[] = Array.from({ length: 1 << PLAUSIBILITY_CHECKS.length }, (_, mask) =>
  Object.freeze(PLAUSIBILITY_CHECK_NAMES.filter((_name, index) => (mask & (1 << index)) !== 0)),
);

/** The names of the checks in `mask`, in check order (a shared, frozen list). */
export function checkNames(mask: number): readonly string[] {
  return NAMES_BY_MASK[mask]!;
}

/** The names of the checks `row` fails (empty: plausible), as checkNames gives them. */
export function implausibleChecks(row: FeatureRow): readonly string[] {
  return checkNames(implausibleMask(row));
}

/** One process's (or, added up, the server's) recent rows: how many, and how many failed each check. */
export interface PlausibilityCounts {
  rows: number;
  /** Per check, in PLAUSIBILITY_CHECKS order. */
  failed: number[];
}

/**
 * The last `capacity` rows served, each kept as its bit mask in a ring, so the row that leaves the
 * window is subtracted as the new one is added: O(checks) per row, nothing allocated.
 */
export class PlausibilityWindow {
  readonly #capacity: number;
  readonly #ring: Uint8Array;
  readonly #failed = new Uint32Array(PLAUSIBILITY_CHECKS.length);
  #next = 0;
  #rows = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
    this.#ring = new Uint8Array(capacity);
  }

  add(mask: number): void {
    if (this.#rows === this.#capacity) this.#count(this.#ring[this.#next]!, -1);
    else this.#rows += 1;
    this.#ring[this.#next] = mask;
    this.#count(mask, 1);
    this.#next = (this.#next + 1) % this.#capacity;
  }

  counts(): PlausibilityCounts {
    return { rows: this.#rows, failed: Array.from(this.#failed) };
  }

  #count(mask: number, delta: number): void {
    if (mask === 0) return;
    for (let index = 0; index < this.#failed.length; index += 1) if ((mask & (1 << index)) !== 0) this.#failed[index]! += delta;
  }
}

/** Several processes' windows added up: the whole server's recent rows. */
export function sumPlausibilityCounts(parts: readonly PlausibilityCounts[]): PlausibilityCounts {
  const failed = PLAUSIBILITY_CHECKS.map((_, index) => parts.reduce((sum, part) => sum + (part.failed[index] ?? 0), 0));
  return { rows: parts.reduce((sum, part) => sum + part.rows, 0), failed };
}

export type PlausibilityStatus = 'ok' | 'alerting';

/**
 * An alert needs this many failing rows in the window, whatever their share: one customer with a
 * wrong record in the CRM is a data-entry slip, not a broken integration.
 */
export const PLAUSIBILITY_ALERT_MIN_FAILED = 10;

/** Alerting when at least `alertShare` of the window's rows (and PLAUSIBILITY_ALERT_MIN_FAILED of them) fail the check. */
export function plausibilityStatus(failed: number, rows: number, alertShare: number): PlausibilityStatus {
  return failed >= PLAUSIBILITY_ALERT_MIN_FAILED && failed >= alertShare * rows ? 'alerting' : 'ok';
}
