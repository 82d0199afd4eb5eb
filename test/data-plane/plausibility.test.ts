import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkNames,
  implausibleChecks,
  implausibleMask,
  PLAUSIBILITY_ALERT_MIN_FAILED,
  PLAUSIBILITY_CHECK_NAMES,
  PLAUSIBILITY_CHECKS,
  PlausibilityWindow,
  plausibilityStatus,
  sumPlausibilityCounts,
} from '../../src/data-plane/plausibility.js';
import { HOLDOUT, REQUIRE_DATA, TRAINING_DATA, trainingCustomers, type Customer } from '../training-data.js';

const customer = (overrides: Partial<Customer>): Customer => ({ tenure_months: 10, monthly_charges: 50, total_charges: 500, num_products: 2, has_support_calls: 0, ...overrides });
const failuresPerCheck = (customers: readonly Customer[]) =>
  Object.fromEntries(PLAUSIBILITY_CHECKS.map((check) => [check.name, customers.filter((row) => check.fails(row)).length]));

describe('plausibility checks', () => {
  it('flag a total far above what the months billed add up to, from one month of tenure', () => {
    // (10 + 1) × 50 × 2 = 1,100: the edge passes, a cent above fails.
    expect(implausibleChecks(customer({ total_charges: 1100 }))).toEqual([]);
    expect(implausibleChecks(customer({ total_charges: 1100.01 }))).toEqual(['total_charges_above_billing']);
    expect(implausibleChecks(customer({ tenure_months: 1, monthly_charges: 30, total_charges: 3000 }))).toEqual(['total_charges_above_billing']);
  });

  it('flag a total far below what the months billed add up to, with the monthly floor capped at 10 USD', () => {
    // 10 months × min(25, 10) = 100.
    expect(implausibleChecks(customer({ total_charges: 100 }))).toEqual([]);
    expect(implausibleChecks(customer({ total_charges: 99.99 }))).toEqual(['total_charges_below_billing']);
    // A cheap plan: 10 months × 8 × 0.5 = 40.
    expect(implausibleChecks(customer({ monthly_charges: 8, total_charges: 40 }))).toEqual([]);
    expect(implausibleChecks(customer({ monthly_charges: 8, total_charges: 39.99 }))).toEqual(['total_charges_below_billing']);
    // A customer who moved up to a dear plan lately: 60 months at 20, now 110.
    expect(implausibleChecks(customer({ tenure_months: 60, monthly_charges: 110, total_charges: 1300 }))).toEqual([]);
  });

  it('flag a customer of this month with more than two bills charged', () => {
    expect(implausibleChecks(customer({ tenure_months: 0, monthly_charges: 50, total_charges: 0 }))).toEqual([]);
    expect(implausibleChecks(customer({ tenure_months: 0, monthly_charges: 50, total_charges: 100 }))).toEqual([]);
    expect(implausibleChecks(customer({ tenure_months: 0, monthly_charges: 50, total_charges: 100.01 }))).toEqual(['new_customer_with_history']);
  });

  it('catch every hold-out customer with a total in cents, except the ones with nothing charged yet', () => {
    const cents = HOLDOUT.map((row) => ({ ...row, total_charges: row.total_charges * 100 }));
    const caught = cents.filter((row) => implausibleMask(row) !== 0).length;
    expect(caught).toBe(HOLDOUT.filter((row) => row.total_charges > 0).length);
  });

  it('keep masks and names in check order', () => {
    expect(PLAUSIBILITY_CHECKS.length).toBeLessThanOrEqual(8);
    expect(checkNames(0b101)).toEqual([PLAUSIBILITY_CHECK_NAMES[0], PLAUSIBILITY_CHECK_NAMES[2]]);
    expect(implausibleMask(customer({}))).toBe(0);
  });

  it('flag none of the 1,409 hold-out customers', () => {
    expect(failuresPerCheck(HOLDOUT)).toEqual(Object.fromEntries(PLAUSIBILITY_CHECK_NAMES.map((name) => [name, 0])));
  });

  it.skipIf(!REQUIRE_DATA && !existsSync(TRAINING_DATA))('flag none of the 7,043 customers of the training data (false-positive rate 0)', () => {
    const customers = trainingCustomers();
    expect(customers).toHaveLength(7043);
    expect(failuresPerCheck(customers)).toEqual(Object.fromEntries(PLAUSIBILITY_CHECK_NAMES.map((name) => [name, 0])));
  });
});

describe('PlausibilityWindow', () => {
  it('counts the failures of the last `capacity` rows per check', () => {
    const window = new PlausibilityWindow(3);
    window.add(0b001);
    window.add(0b011);
    expect(window.counts()).toEqual({ rows: 2, failed: [2, 1, 0] });
    window.add(0);
    window.add(0b100); // pushes out the first row
    expect(window.counts()).toEqual({ rows: 3, failed: [1, 1, 1] });
    window.add(0);
    window.add(0);
    expect(window.counts()).toEqual({ rows: 3, failed: [0, 0, 1] });
  });

  it('adds up several processes', () => {
    expect(sumPlausibilityCounts([{ rows: 5, failed: [1, 0, 2] }, { rows: 7, failed: [0, 3, 1] }])).toEqual({ rows: 12, failed: [1, 3, 3] });
    expect(sumPlausibilityCounts([])).toEqual({ rows: 0, failed: [0, 0, 0] });
  });
});

describe('plausibilityStatus', () => {
  it('alerts from the share and the minimum count, whichever is higher', () => {
    expect(plausibilityStatus(PLAUSIBILITY_ALERT_MIN_FAILED - 1, PLAUSIBILITY_ALERT_MIN_FAILED, 0.01)).toBe('ok');
    expect(plausibilityStatus(PLAUSIBILITY_ALERT_MIN_FAILED, 1000, 0.01)).toBe('alerting');
    expect(plausibilityStatus(19, 2000, 0.01)).toBe('ok');
    expect(plausibilityStatus(20, 2000, 0.01)).toBe('alerting');
  });
});
