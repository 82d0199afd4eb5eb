import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FEATURE_NAMES } from '../src/schemas/customer-features.js';

/**
 * The shared training data: read by the few tests that replay it, never copied into the repository.
 * Beside the checkout by default; TRAINING_DATA_CSV points elsewhere (a worktree further down, say).
 */
export const TRAINING_DATA = process.env.TRAINING_DATA_CSV ?? fileURLToPath(new URL('../../shared/data/telco-customer-churn.csv', import.meta.url));
/** CI sets this: there the shared training data must be present. */
export const REQUIRE_DATA = process.env.REQUIRE_TEST_TOOLS === '1';

export type Customer = Record<(typeof FEATURE_NAMES)[number], number>;

const parity = JSON.parse(readFileSync(new URL('fixtures/parity.json', import.meta.url), 'utf8')) as { rows: { features: number[]; kind: string }[] };
const toCustomer = (features: number[]): Customer => Object.fromEntries(FEATURE_NAMES.map((name, column) => [name, features[column]!])) as Customer;
/** The 1,409 hold-out customers of the committed parity fixture: drawn from the same data as the training rows, never trained on. */
export const HOLDOUT: readonly Customer[] = parity.rows.filter((row) => row.kind === 'holdout').map((row) => toCustomer(row.features));

export interface LabeledCustomer {
  customerId: string;
  churned: boolean;
  features: Customer;
}

/** Every customer of the training data with its id and real label, the features derived as training/features.py derives them. */
export function labeledTrainingCustomers(): LabeledCustomer[] {
  const [header, ...lines] = readFileSync(TRAINING_DATA, 'utf8').trim().split(/\r?\n/);
  const columns = header!.split(',');
  const services = ['PhoneService', 'MultipleLines', 'OnlineSecurity', 'OnlineBackup', 'DeviceProtection', 'TechSupport', 'StreamingTV', 'StreamingMovies'];
  return lines.map((line) => {
    const cells = Object.fromEntries(line.split(',').map((cell, index) => [columns[index]!, cell]));
    if (cells.Churn !== 'Yes' && cells.Churn !== 'No') throw new Error(`unexpected Churn value ${cells.Churn} for customer ${cells.customerID}`);
    return {
      customerId: cells.customerID!,
      churned: cells.Churn === 'Yes',
      features: {
        tenure_months: Number(cells.tenure),
        monthly_charges: Number(cells.MonthlyCharges),
        total_charges: cells.TotalCharges!.trim() === '' ? 0 : Number(cells.TotalCharges),
        num_products: services.filter((service) => cells[service] === 'Yes').length + (cells.InternetService === 'No' ? 0 : 1),
        has_support_calls: cells.TechSupport === 'Yes' ? 1 : 0,
      },
    };
  });
}

/** Every customer of the training data, derived as training/features.py derives them. */
export const trainingCustomers = (): Customer[] => labeledTrainingCustomers().map((customer) => customer.features);
