import { afterEach, describe, expect, it } from 'vitest';
import { EXAMPLE_CUSTOMER } from '../../src/schemas/example-requests.js';
import { buildTestApp, type TestApp } from '../helpers.js';
import { sampleValue } from '../prometheus-text.js';

let testApp: TestApp | undefined;
afterEach(async () => {
  await testApp?.app.close();
  testApp = undefined;
});

const counted = async (app: TestApp['app'], check: string) => sampleValue((await app.inject({ method: 'GET', url: '/metrics' })).body, 'churn_implausible_rows_total', { check });

describe('churn_implausible_rows_total', () => {
  it('counts every failing row of a batch under each check it fails, however the rows mix', async () => {
    testApp = await buildTestApp();
    const { app } = testApp;
    const plausible = { ...EXAMPLE_CUSTOMER };
    // 20 months at 70.70 a month: a total in cents is above billing, a total of 10 is below it.
    const inCents = { ...EXAMPLE_CUSTOMER, tenure_months: 20, total_charges: 141_400 };
    const tooSmall = { ...EXAMPLE_CUSTOMER, tenure_months: 20, total_charges: 10 };
    // A customer of this month already billed many months: new_customer_with_history.
    const newWithHistory = { ...EXAMPLE_CUSTOMER, tenure_months: 0, total_charges: 700 };
    const post = (customers: object[]) => app.inject({ method: 'POST', url: '/predict/batch', payload: { customers } });

    expect((await post([plausible, inCents, tooSmall, inCents, newWithHistory, plausible, inCents])).statusCode).toBe(200);
    expect(await counted(app, 'total_charges_above_billing')).toBe(3);
    expect(await counted(app, 'total_charges_below_billing')).toBe(1);
    expect(await counted(app, 'new_customer_with_history')).toBe(1);

    // A second request adds to the counts, and a plausible batch adds nothing.
    expect((await post([tooSmall, tooSmall])).statusCode).toBe(200);
    expect((await post([plausible])).statusCode).toBe(200);
    expect(await counted(app, 'total_charges_above_billing')).toBe(3);
    expect(await counted(app, 'total_charges_below_billing')).toBe(3);
    expect(await counted(app, 'new_customer_with_history')).toBe(1);
  });
});
