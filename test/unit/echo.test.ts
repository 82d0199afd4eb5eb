import { describe, expect, it } from 'vitest';
import { cutEcho, MAX_ECHO_CHARS } from '../../src/echo.js';

describe('cutEcho', () => {
  it('keeps text up to MAX_ECHO_CHARS as it is', () => {
    expect(cutEcho('')).toBe('');
    expect(cutEcho('x'.repeat(MAX_ECHO_CHARS))).toBe('x'.repeat(MAX_ECHO_CHARS));
  });

  it('cuts longer text to its first MAX_ECHO_CHARS characters and marks the cut with …', () => {
    expect(cutEcho('x'.repeat(MAX_ECHO_CHARS + 1))).toBe(`${'x'.repeat(MAX_ECHO_CHARS)}…`);
    expect(cutEcho('y'.repeat(1_000_000))).toBe(`${'y'.repeat(MAX_ECHO_CHARS)}…`);
  });

  it('takes another length when asked', () => {
    expect(cutEcho('abcdef', 3)).toBe('abc…');
    expect(cutEcho('abc', 3)).toBe('abc');
  });

  it('never ends on half of a surrogate pair', () => {
    // 'a' then emoji: the cut at 2 would fall between the emoji's two halves.
    expect(cutEcho('a😀😀', 2)).toBe('a…');
    expect(cutEcho('😀😀😀', 4)).toBe('😀😀…');
  });
});
