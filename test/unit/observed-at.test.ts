import { describe, expect, it } from 'vitest';
import { OBSERVED_AT_FUTURE_TOLERANCE_MS, parseObservedAt, readObservedAt } from '../../src/churn-api/observed-at.js';

const ms = (text: string) => {
  const read = parseObservedAt(text);
  return read.ok ? read.ms : read.error.type;
};

describe('observed_at', () => {
  it('reads RFC 3339 date-times with a timezone to the instant they name', () => {
    expect(ms('2026-11-30T00:00:00Z')).toBe(Date.parse('2026-11-30T00:00:00Z'));
    expect(ms('2026-11-30t00:00:00z')).toBe(Date.parse('2026-11-30T00:00:00Z'));
    expect(ms('2026-11-30 00:00:00Z')).toBe(Date.parse('2026-11-30T00:00:00Z'));
    expect(ms('2026-11-30T05:30:00+05:30')).toBe(Date.parse('2026-11-30T00:00:00Z'));
    expect(ms('2026-11-30T05:30:00+0530')).toBe(Date.parse('2026-11-30T00:00:00Z'));
    expect(ms('2026-11-29T19:00:00-05')).toBe(Date.parse('2026-11-30T00:00:00Z'));
    expect(ms('2026-11-30T00:00:00.1234567Z')).toBe(Date.parse('2026-11-30T00:00:00.123Z'));
    expect(ms('2028-02-29T00:00:00Z')).toBe(Date.parse('2028-02-29T00:00:00Z'));
    expect(new Date(ms('0050-01-01T00:00:00Z') as number).getUTCFullYear()).toBe(50);
  });

  it('refuses a date-time without a timezone as pydantic refuses a naive datetime', () => {
    expect(ms('2026-11-30T00:00:00')).toBe('timezone_aware');
    expect(ms('2026-11-30T00:00:00.5')).toBe('timezone_aware');
  });

  it('refuses what is no date-time, or names a day or time that does not exist', () => {
    for (const text of ['yesterday', '2026-11-30', '2026-11-30T00:00Z', '2027-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-31T00:00:00Z', '2026-11-30T24:00:00Z', '2026-11-30T00:60:00Z', '2026-11-30T00:00:60Z', '2026-11-30T00:00:00+24:00', '2026-11-30T00:00:00+01:60', ' 2026-11-30T00:00:00Z']) {
      expect(ms(text), text).toBe('datetime_parsing');
    }
  });

  it('refuses a time more than a day after now, naming the latest it takes', () => {
    const now = Date.parse('2026-12-02T08:00:00Z');
    expect(readObservedAt(new Date(now + OBSERVED_AT_FUTURE_TOLERANCE_MS).toISOString(), now)).toEqual({ ok: true, ms: now + OBSERVED_AT_FUTURE_TOLERANCE_MS });
    expect(readObservedAt(new Date(now + OBSERVED_AT_FUTURE_TOLERANCE_MS + 1).toISOString(), now)).toEqual({
      ok: false,
      error: { type: 'less_than_equal', msg: 'Input should be less than or equal to 2026-12-03T08:00:00.000Z', ctx: { le: '2026-12-03T08:00:00.000Z' } },
    });
    expect(readObservedAt('nonsense', now)).toMatchObject({ ok: false, error: { type: 'datetime_parsing' } });
  });
});
