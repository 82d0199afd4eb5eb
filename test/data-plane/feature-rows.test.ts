import { describe, expect, it } from 'vitest';
import { checkRows, FEATURE_RULES, packRows, type FeatureRow } from '../../src/data-plane/feature-rows.js';
import { InvalidRowsError } from '../../src/errors.js';
import { FEATURE_NAMES } from '../../src/schemas/customer-features.js';
import { VALID_CUSTOMER } from '../helpers.js';

function issuesOf(rows: unknown[]) {
  try {
    checkRows(rows as FeatureRow[]);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRowsError);
    return { issues: (error as InvalidRowsError).issues, message: (error as InvalidRowsError).message };
  }
  return undefined;
}

describe('FEATURE_RULES', () => {
  it('are the feature schema bounds, in the model column order', () => {
    expect(FEATURE_RULES).toEqual([
      { name: 'tenure_months', minimum: 0, maximum: 120, integer: true },
      { name: 'monthly_charges', minimum: 0, maximum: 500, integer: false },
      { name: 'total_charges', minimum: 0, maximum: 1_000_000, integer: false },
      { name: 'num_products', minimum: 1, maximum: 10, integer: true },
      { name: 'has_support_calls', minimum: 0, maximum: 1, integer: true },
    ]);
    expect(FEATURE_RULES.map((rule) => rule.name)).toEqual(FEATURE_NAMES);
  });
});

describe('checkRows', () => {
  it('accepts valid rows and every inclusive bound', () => {
    const lowest = Object.fromEntries(FEATURE_RULES.map((rule) => [rule.name, rule.minimum]));
    const highest = Object.fromEntries(FEATURE_RULES.map((rule) => [rule.name, rule.maximum]));
    expect(issuesOf([VALID_CUSTOMER, lowest, highest])).toBeUndefined();
    expect(issuesOf([])).toBeUndefined();
  });

  it('names the row, feature, problem, value and limit of a value below the minimum', () => {
    expect(issuesOf([VALID_CUSTOMER, { ...VALID_CUSTOMER, num_products: 0 }])).toEqual({
      issues: [
        {
          row: 1,
          feature: 'num_products',
          problem: 'below_minimum',
          value: 0,
          limit: 1,
          message: 'row 1: num_products must be greater than or equal to 1, got 0.',
        },
      ],
      message: 'row 1: num_products must be greater than or equal to 1, got 0.',
    });
  });

  it('reports a value above the maximum', () => {
    expect(issuesOf([{ ...VALID_CUSTOMER, monthly_charges: 500.01 }])?.issues).toEqual([
      {
        row: 0,
        feature: 'monthly_charges',
        problem: 'above_maximum',
        value: 500.01,
        limit: 500,
        message: 'row 0: monthly_charges must be less than or equal to 500, got 500.01.',
      },
    ]);
  });

  it('reports a fractional value of an integer feature, but not of a number feature', () => {
    expect(issuesOf([{ ...VALID_CUSTOMER, tenure_months: 2.5 }])?.issues).toEqual([
      { row: 0, feature: 'tenure_months', problem: 'not_an_integer', value: 2.5, message: 'row 0: tenure_months must be an integer, got 2.5.' },
    ]);
    expect(issuesOf([{ ...VALID_CUSTOMER, total_charges: 2.5 }])).toBeUndefined();
  });

  it.each([NaN, Infinity, -Infinity, '5', null, undefined, true, [1], {}])('reports %s as not a number', (value) => {
    expect(issuesOf([{ ...VALID_CUSTOMER, total_charges: value }])?.issues).toEqual([
      {
        row: 0,
        feature: 'total_charges',
        problem: 'not_a_number',
        value,
        message: `row 0: total_charges must be a finite number, got ${String(value)}.`,
      },
    ]);
  });

  it('reports every problem of every row at once, in row and column order', () => {
    const result = issuesOf([
      { ...VALID_CUSTOMER, has_support_calls: 2, tenure_months: -1 },
      VALID_CUSTOMER,
      { monthly_charges: 1 },
    ]);
    expect(result?.issues.map((issue) => [issue.row, issue.feature, issue.problem])).toEqual([
      [0, 'tenure_months', 'below_minimum'],
      [0, 'has_support_calls', 'above_maximum'],
      [2, 'tenure_months', 'not_a_number'],
      [2, 'total_charges', 'not_a_number'],
      [2, 'num_products', 'not_a_number'],
      [2, 'has_support_calls', 'not_a_number'],
    ]);
    expect(result?.message).toBe(result?.issues.map((issue) => issue.message).join(' '));
  });

  it('maps to HTTP 422 through the error family', () => {
    expect(new InvalidRowsError([]).statusCode).toBe(422);
  });
});

describe('packRows', () => {
  it('packs rows row-major in the model column order, whatever the key order, ignoring extra keys', () => {
    const shuffled = { has_support_calls: 1, num_products: 4, customer_id: 'x', total_charges: 3.5, monthly_charges: 2.25, tenure_months: 7 };
    expect(Array.from(packRows([VALID_CUSTOMER, shuffled as FeatureRow]))).toEqual([2, 70.69999694824219, 151.64999389648438, 2, 0, 7, 2.25, 3.5, 4, 1]);
  });

  it('packs no rows into an empty tensor', () => {
    expect(packRows([])).toHaveLength(0);
  });
});
