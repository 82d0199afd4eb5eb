import { Type, type Static } from '@sinclair/typebox';
import { CustomerId } from './customer-features.js';

/** Most outcomes in one POST /outcomes: a CRM's batch, small enough to check and store in one transaction. */
export const OUTCOMES_MAX_ITEMS = 1000;

export const EXAMPLE_OUTCOMES_REQUEST = {
  outcomes: [
    { customer_id: '9237-HQITU', churned: true, observed_at: '2026-11-30T00:00:00Z' },
    { customer_id: '7795-CFOCW', churned: false, observed_at: '2026-11-30T00:00:00Z' },
  ],
};

/** The answer to the example request when only 9237-HQITU was scored in the 90 days before 2026-11-30. */
export const EXAMPLE_OUTCOMES_RESPONSE = { accepted: 2, corrected: 0, duplicates: 0, matched: 1, unmatched: 1 };

export const OutcomeItem = Type.Object(
  {
    customer_id: Type.String({
      minLength: CustomerId.minLength,
      maxLength: CustomerId.maxLength,
      description: 'The customer_id the predictions were asked with (the same rules: 1 to 128 characters).',
      examples: ['9237-HQITU'],
    }),
    churned: Type.Boolean({ description: 'True when the customer left; false when they stayed (renewed).' }),
    observed_at: Type.String({
      format: 'date-time',
      maxLength: 64,
      description:
        'When the outcome was known (the cancellation or the renewal took effect): an RFC 3339 date-time with a timezone (Z or ±hh:mm), no later than one day after the server\'s clock.',
      examples: ['2026-11-30T00:00:00Z'],
    }),
  },
  { description: 'What became of one customer. Unknown properties are accepted and ignored.' },
);
export type OutcomeItem = Static<typeof OutcomeItem>;

export const OutcomesRequest = Type.Object(
  {
    outcomes: Type.Array(OutcomeItem, { minItems: 1, maxItems: OUTCOMES_MAX_ITEMS, description: `Outcomes, 1 to ${OUTCOMES_MAX_ITEMS}; applied in order.` }),
  },
  { $id: 'OutcomesRequest', title: 'OutcomesRequest', examples: [EXAMPLE_OUTCOMES_REQUEST] },
);
export type OutcomesRequest = Static<typeof OutcomesRequest>;

const count = (description: string) => Type.Integer({ minimum: 0, description });

export const OutcomesResponse = Type.Object(
  {
    accepted: count('Outcomes stored: new ones and corrections (a different churned for a customer and observed_at already stored, which replaces it).'),
    corrected: count('Of the accepted, the corrections.'),
    duplicates: count('Outcomes already stored with the same churned, or sent earlier in this request: they change nothing. accepted + duplicates is the number sent.'),
    matched: count('Of the distinct outcomes sent (duplicates included), those that label a prediction now.'),
    unmatched: count('Of the distinct outcomes sent, those that label no prediction yet. They are kept: a prediction made later, before observed_at, is matched then.'),
  },
  { $id: 'OutcomesResponse', title: 'OutcomesResponse' },
);
export type OutcomesResponse = Static<typeof OutcomesResponse>;
