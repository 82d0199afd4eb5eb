import { describe, expect, it } from 'vitest';
import { WindowCounts } from '../../src/rate-limit/window-counts.js';

const clock = (start = 1_000_000) => {
  const time = { now: start };
  return { time, now: () => time.now };
};

describe('WindowCounts', () => {
  it('counts a key\'s requests in the window its first request opened, each key apart', () => {
    const { time, now } = clock();
    const counts = new WindowCounts({ now });
    expect(counts.hit('a', 60_000)).toEqual({ current: 1, ttl: 60_000 });
    time.now += 59_999;
    expect(counts.hit('a', 60_000)).toEqual({ current: 2, ttl: 1 });
    expect(counts.hit('b', 60_000)).toEqual({ current: 1, ttl: 60_000 });
    // The window has ended: the next request opens a new one.
    time.now += 1;
    expect(counts.hit('a', 60_000)).toEqual({ current: 1, ttl: 60_000 });
  });

  it('forgets ended windows, at most once per window', () => {
    const { time, now } = clock();
    const counts = new WindowCounts({ now });
    for (const key of ['a', 'b', 'c']) counts.hit(key, 1_000);
    expect(counts.size).toBe(3);
    time.now += 1_000;
    counts.hit('d', 1_000);
    expect(counts.size).toBe(1);
  });

  it('drops the oldest window past maxKeys', () => {
    const { time, now } = clock();
    const counts = new WindowCounts({ maxKeys: 2, now });
    counts.hit('a', 60_000);
    time.now += 1;
    counts.hit('b', 60_000);
    counts.hit('a', 60_000);
    counts.hit('c', 60_000);
    expect(counts.size).toBe(2);
    // 'a' opened first, so it went; 'b' kept its count.
    expect(counts.hit('b', 60_000).current).toBe(2);
    expect(counts.hit('a', 60_000).current).toBe(1);
  });
});
