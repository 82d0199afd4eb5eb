import { describe, expect, it } from 'vitest';
import { timeOrderedUuid, timeOrderedUuids } from '../../src/data-plane/time-ordered-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The 48-bit millisecond timestamp a version 7 UUID starts with. */
const millisecondsOf = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('prediction ids', () => {
  it('are RFC 9562 version 7 UUIDs carrying the time of the prediction', () => {
    const now = Date.UTC(2026, 11, 2, 8, 0, 0) + 1_000_000;
    const id = timeOrderedUuid(now);
    expect(id).toMatch(UUID_V7);
    expect(millisecondsOf(id)).toBeGreaterThanOrEqual(now);
  });

  it('only grow, within one millisecond, past 4096 ids in one millisecond and when the clock steps back, and never repeat', () => {
    const start = Date.UTC(2027, 0, 1);
    const ids = [
      ...Array.from({ length: 5_000 }, () => timeOrderedUuid(start)),
      ...Array.from({ length: 10 }, () => timeOrderedUuid(start - 60_000)),
      ...Array.from({ length: 10 }, (_, index) => timeOrderedUuid(start + 10 + index)),
    ];
    for (const id of ids) expect(id).toMatch(UUID_V7);
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // 4096 fit in the millisecond's counter; the rest borrow the next millisecond rather than wrap.
    expect(millisecondsOf(ids[4_095]!)).toBe(start);
    expect(millisecondsOf(ids[4_096]!)).toBe(start + 1);
    expect(millisecondsOf(ids.at(-1)!)).toBe(start + 19);
  });

  it('come in batches that follow the same rules, carry every hex digit and interleave with single ids', () => {
    const start = Date.UTC(2027, 5, 1, 12, 34, 56, 789);
    const ids = [...timeOrderedUuids(3, start), timeOrderedUuid(start), ...timeOrderedUuids(4_200, start), ...timeOrderedUuids(2, start + 5)];
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(millisecondsOf(ids[0]!)).toBe(start);
    // The counter of the first millisecond runs out at 4,096 ids; the batch goes on in the next one.
    expect(millisecondsOf(ids[4_095]!)).toBe(start);
    expect(millisecondsOf(ids[4_096]!)).toBe(start + 1);
    expect(millisecondsOf(ids.at(-1)!)).toBe(start + 5);
    // Every digit and every variant occur: no position is stuck at one value.
    const digits = new Set(ids.flatMap((id) => id.replace(/-/g, '').split('')));
    expect([...digits].sort().join('')).toBe('0123456789abcdef');
    expect(new Set(ids.map((id) => id[19])).size).toBe(4);
    expect(timeOrderedUuids(0)).toEqual([]);
  });
});
