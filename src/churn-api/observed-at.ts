import type { FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import type { RefusedValue } from '../validation-issues.js';

/**
 * `observed_at` of POST /outcomes: an RFC 3339 date-time with a timezone, no later than a day
 * after the server's clock. The schema says `format: date-time` (the docs show it, and Ajv refuses
 * what is no date-time); this module gives each refusal pydantic's words, and refuses what the
 * format cannot: a time too far ahead.
 */

/**
 * How far ahead of the server's clock an observation may be: a CRM may stamp an outcome with the
 * end of a local day (UTC+14 is 14 hours ahead) and clocks drift. A day covers both; anything
 * later is a forecast (a renewal date, say), not something observed.
 */
export const OBSERVED_AT_FUTURE_TOLERANCE_MS = 86_400_000;

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

export type ObservedAt = { ok: true; ms: number } | { ok: false; error: Omit<RefusedValue, 'input'> };

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** The epoch milliseconds of `text`, or pydantic's error for it (an aware datetime field's). */
export function parseObservedAt(text: string): ObservedAt {
  const match = DATE_TIME.exec(text);
  const [year, month, day, hour, minute, second] = (match?.slice(1, 7) ?? []).map(Number);
  const zoneHours = Number(match?.[10] ?? 0);
  const zoneMinutes = Number(match?.[11] ?? 0);
  if (
    !match ||
    month! < 1 ||
    month! > 12 ||
    day! < 1 ||
    day! > daysIn(year!, month!) ||
    hour! > 23 ||
    minute! > 59 ||
    second! > 59 ||
    zoneHours > 23 ||
    zoneMinutes > 59
  ) {
    return { ok: false, error: { type: 'datetime_parsing', msg: 'Input should be a valid datetime, as RFC 3339 with a timezone: 2026-11-30T00:00:00Z' } };
  }
  if (match[8] === undefined && match[9] === undefined) return { ok: false, error: { type: 'timezone_aware', msg: 'Input should have timezone info' } };
  const milliseconds = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offsetMs = (match[9] === '-' ? -1 : 1) * (zoneHours * 60 + zoneMinutes) * 60_000;
  // Date.UTC reads years 0 to 99 as 1900 to 1999; the year is set on its own.
  const utc = new Date(Date.UTC(2000, month! - 1, day!, hour, minute, second, milliseconds));
  utc.setUTCFullYear(year!);
  return { ok: true, ms: utc.getTime() - offsetMs };
}

/** parseObservedAt, and no later than OBSERVED_AT_FUTURE_TOLERANCE_MS after `nowMs`. */
export function readObservedAt(text: string, nowMs: number): ObservedAt {
  const read = parseObservedAt(text);
  const latestMs = nowMs + OBSERVED_AT_FUTURE_TOLERANCE_MS;
  if (!read.ok || read.ms <= latestMs) return read;
  const latest = new Date(latestMs).toISOString();
  return { ok: false, error: { type: 'less_than_equal', msg: `Input should be less than or equal to ${latest}`, ctx: { le: latest } } };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The preValidation hook: each observed_at string that is refused waits with its error in
 * `request.refusedInput`; where the schema refuses it too (no date-time), the error handler shows
 * this error in place of Ajv's, beside every other problem of the body.
 */
export function checkObservedAt(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  const outcomes = isRecord(request.body) ? request.body.outcomes : undefined;
  if (!Array.isArray(outcomes)) return done();
  const nowMs = Date.now();
  const body = new Map<string, RefusedValue>();
  outcomes.forEach((item, index) => {
    const input = isRecord(item) ? item.observed_at : undefined;
    if (typeof input !== 'string') return;
    const read = readObservedAt(input, nowMs);
    if (!read.ok) body.set(`/outcomes/${index}/observed_at`, { ...read.error, input });
  });
  if (body.size > 0) request.refusedInput = { body };
  done();
}

/**
 * The preHandler hook: a body the schema took may still hold a refused observed_at (one too far
 * ahead, which is a valid date-time): the request is answered 422 with those problems.
 */
export function refuseObservedAt(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
  const refused = request.refusedInput?.body;
  if (refused === undefined || refused.size === 0) return done();
  const validation: FastifySchemaValidationError[] = [...refused.keys()].map((instancePath) => ({
    keyword: 'format',
    instancePath,
    schemaPath: '#/properties/outcomes/items/properties/observed_at/format',
    params: { format: 'date-time' },
    message: 'must match format "date-time"',
  }));
  done(Object.assign(new Error(`body has ${refused.size} refused observed_at`), { validation, validationContext: 'body' }));
}
