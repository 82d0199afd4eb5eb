import { InvalidRowsError, type RowIssue } from '../errors.js';
import { FEATURE_COUNT, FEATURE_NAMES, ModelFeatures, type FeatureName } from '../schemas/customer-features.js';

/** One customer as the model reads it: the five features, by name. Anything else is ignored. */
export type FeatureRow = Readonly<ModelFeatures>;

/**
 * The five features alone, for what outlives the request (the prediction log, the shadow queue):
 * a REST row also carries customer_id and whatever else the caller sent.
 */
export function featuresOf(row: FeatureRow): FeatureRow {
  return {
    tenure_months: row.tenure_months,
    monthly_charges: row.monthly_charges,
    total_charges: row.total_charges,
    num_products: row.num_products,
    has_support_calls: row.has_support_calls,
  };
}

interface FeatureRule {
  name: FeatureName;
  minimum: number;
  maximum: number;
  integer: boolean;
}

/** The domain rules, read from the one feature schema so they cannot drift from the API's. */
export const FEATURE_RULES: readonly FeatureRule[] = FEATURE_NAMES.map((name) => {
  const schema = ModelFeatures.properties[name];
  return { name, minimum: schema.minimum!, maximum: schema.maximum!, integer: schema.type === 'integer' };
});

/** The one problem with `value`, if any. Runs for every value of every row, so it builds nothing for a valid one. */
function issueFor(rule: FeatureRule, value: unknown, row: number): RowIssue | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return { row, feature: rule.name, problem: 'not_a_number', value, message: `row ${row}: ${rule.name} must be a finite number, got ${String(value)}.` };
  }
  if (rule.integer && !Number.isInteger(value)) {
    return { row, feature: rule.name, problem: 'not_an_integer', value, message: `row ${row}: ${rule.name} must be an integer, got ${value}.` };
  }
  if (value < rule.minimum) {
    return {
      row,
      feature: rule.name,
      problem: 'below_minimum',
      value,
      limit: rule.minimum,
      message: `row ${row}: ${rule.name} must be greater than or equal to ${rule.minimum}, got ${value}.`,
    };
  }
  if (value > rule.maximum) {
    return {
      row,
      feature: rule.name,
      problem: 'above_maximum',
      value,
      limit: rule.maximum,
      message: `row ${row}: ${rule.name} must be less than or equal to ${rule.maximum}, got ${value}.`,
    };
  }
  return undefined;
}

/**
 * Enforces the feature contract on rows that may not have come through the API's schema (a
 * tensor from another protocol, say). Throws one InvalidRowsError listing every problem.
 */
export function checkRows(rows: readonly FeatureRow[]): void {
  let issues: RowIssue[] | undefined;
  for (let row = 0; row < rows.length; row += 1) {
    const values = rows[row] as Record<string, unknown>;
    for (const rule of FEATURE_RULES) {
      const issue = issueFor(rule, values[rule.name], row);
      if (issue) (issues ??= []).push(issue);
    }
  }
  if (issues) throw new InvalidRowsError(issues);
}

/** Packs rows row-major in the model's column order, ready for one tensor. */
export function packRows(rows: readonly FeatureRow[]): Float32Array {
  const packed = new Float32Array(rows.length * FEATURE_COUNT);
  for (let row = 0; row < rows.length; row += 1) {
    const values = rows[row]!;
    for (let column = 0; column < FEATURE_COUNT; column += 1) packed[row * FEATURE_COUNT + column] = values[FEATURE_NAMES[column]!];
  }
  return packed;
}
