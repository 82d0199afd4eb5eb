import { beforeEach, describe, expect, it, vi } from 'vitest';

/** Every comparison the credentials make, by the lengths of what was compared. */
const comparisons: [number, number][] = [];
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>();
  return {
    ...crypto,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      comparisons.push([a.byteLength, b.byteLength]);
      return crypto.timingSafeEqual(a, b);
    },
  };
});

const { Credentials, bearerToken, presentedKey } = await import('../../src/auth/credentials.js');

beforeEach(() => (comparisons.length = 0));

describe('Credentials', () => {
  const keys = new Credentials(['first-key-0123456789', 'second-key-that-is-much-longer-0123456789', 'k3']);

  it.each([
    ['the first key', 'first-key-0123456789', 0],
    ['the last key', 'k3', 2],
    ['a prefix of a key', 'first-key', -1],
    ['an empty string', '', -1],
    ['a very long wrong key', 'x'.repeat(10_000), -1],
  ])('compares %s with every key, in constant time over equal-length digests', (_name, presented, index) => {
    expect(keys.match(presented)).toBe(index);
    // No early exit on a match, no length short-cut: one 32-byte digest comparison per key, always.
    expect(comparisons).toEqual([
      [32, 32],
      [32, 32],
      [32, 32],
    ]);
  });

  it('accepts only a listed key, and nothing when none is presented', () => {
    expect(keys.accepts('second-key-that-is-much-longer-0123456789')).toBe(true);
    expect(keys.accepts('second-key-that-is-much-longer-012345678')).toBe(false);
    expect(keys.accepts(undefined)).toBe(false);
    expect(keys.size).toBe(3);
  });
});

describe('the presented key', () => {
  it('comes from a Bearer authorization, else from X-API-Key', () => {
    expect(presentedKey({ authorization: 'Bearer abc', 'x-api-key': 'def' })).toBe('abc');
    expect(presentedKey({ authorization: 'Basic abc', 'x-api-key': ' def ' })).toBe('def');
    expect(presentedKey({ 'x-api-key': ['a', 'b'] })).toBeUndefined();
    expect(presentedKey({ 'x-api-key': '  ' })).toBeUndefined();
    expect(bearerToken('bearer\ttoken ')).toBe('token');
    expect(bearerToken('Bearer two words')).toBeUndefined();
  });
});
