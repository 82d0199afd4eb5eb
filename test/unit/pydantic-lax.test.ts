import { describe, expect, it } from 'vitest';
import { laxBool, laxFloat, laxInt, laxNumberField, type LaxOutcome, type NumberLiteral } from '../../src/pydantic-lax.js';

/**
 * The cases of pydantic-core's own tests (tests/validators/test_int.py, test_float.py, test_bool.py;
 * the ones run in Python mode, as FastAPI validates a parsed body), with the outcome pydantic
 * gives: the value it accepts, or the error type. Cases marked "from the code" follow
 * src/input/shared.rs where the tests have no case.
 */

/** The accepted value, or the error type. */
const outcome = (result: LaxOutcome<unknown>) => (result.ok ? result.value : result.error.type);

const INT_CASES: [input: unknown, expected: unknown][] = [
  [false, 0],
  [true, 1],
  [0, 0],
  ['0', 0],
  ['00', 0],
  ['000', 0],
  ['0_000', 0],
  ['+0', 0],
  ['+00', 0],
  ['+000', 0],
  ['+0_000', 0],
  [1, 1],
  ['  1  ', 1],
  ['-1', -1],
  ['-1.0', -1],
  [42, 42],
  ['42', 42],
  [42.0, 42],
  ['0.0', 0],
  ['00.0', 0],
  ['00.00', 0],
  ['42.0', 42],
  ['42.00', 42],
  ['123.000', 123],
  ['042', 42],
  ['01', 1],
  ['09', 9],
  ['00_', 'int_parsing'],
  ['0:', 'int_parsing'],
  ['+4_2', 42],
  ['+0_42', 42],
  ['+4_2.0', 42],
  ['+04_2.0', 42],
  ['++4_2', 'int_parsing'],
  ['-+1', 'int_parsing'],
  ['+-1', 'int_parsing'],
  ['--0001', 'int_parsing'],
  ['-+0001', 'int_parsing'],
  ['-0-001', 'int_parsing'],
  ['-0+001', 'int_parsing'],
  ['-00001', -1],
  ['-00042_000', -42000],
  ['4_2', 42],
  ['0_42', 42],
  ['4_2.0', 42],
  ['04_2.0', 42],
  ['  04_2.0 ', 42],
  ['  0_42.0 ', 42],
  ['  _042.0 ', 'int_parsing'],
  ['42_', 'int_parsing'],
  ['42_.0', 'int_parsing'],
  ['000001', 1],
  ['123456789.0', 123_456_789],
  [' ', 'int_parsing'],
  ['', 'int_parsing'],
  ['1.', 'int_parsing'],
  ['42.', 'int_parsing'],
  ['123456789123456.00001', 'int_parsing'],
  ['1_000_000', 1_000_000],
  ['_1', 'int_parsing'],
  ['1__0', 'int_parsing'],
  ['1_0_', 'int_parsing'],
  ['1_0__0', 'int_parsing'],
  [12.5, 'int_from_float'],
  [1.00000000001, 'int_from_float'],
  ['wrong', 'int_parsing'],
  ['nan', 'int_parsing'],
  [null, 'int_type'],
  [[1, 2], 'int_type'],
  [{}, 'int_type'],
  // An integer string of any length up to 4300 characters is an exact int, beyond JavaScript's range here.
  ['1'.repeat(4300), Infinity],
  [`-${'1'.repeat(400)}`, -Infinity],
  ['1'.repeat(4301), 'int_parsing_size'],
  // From the code: a float is an int only strictly inside the i64 range, and only when finite.
  [1e19, 'int_parsing_size'],
  [-(2 ** 63), 'int_parsing_size'],
  [2 ** 62, 2 ** 62],
  [Infinity, 'finite_number'],
  [-Infinity, 'finite_number'],
  // From the code: a number or a string that is not finite is not a whole number either.
  ['2.5', 'int_parsing'],
  ['1e3', 'int_parsing'],
  ['0x1F', 'int_parsing'],
  ['inf', 'int_parsing'],
  // From the code: Rust's whitespace is trimmed (U+00A0, U+3000, U+0085), but not U+FEFF, which JavaScript's trim() would strip.
  ['\u00a042\u3000', 42],
  ['\u008542', 42],
  ['\ufeff42', 'int_parsing'],
  // From the code, a quirk of strip_leading_zeros: the zeros before a minus sign are dropped.
  ['0-1', -1],
  // A Python int has no negative zero.
  ['-0', 0],
  [-0, 0],
];

const FLOAT_CASES: [input: unknown, expected: unknown][] = [
  [0, 0],
  [1, 1],
  [42, 42],
  ['42', 42],
  ['  42.1  ', 42.1],
  ['42.123', 42.123],
  ['123.456', 123.456],
  [42.0, 42],
  [42.5, 42.5],
  [1e10, 1e10],
  [true, 1],
  [false, 0],
  ['wrong', 'float_parsing'],
  ['pika', 'float_parsing'],
  ['0.7', 0.7],
  [[1, 2], 'float_type'],
  [null, 'float_type'],
  [{}, 'float_type'],
  ['1'.repeat(800), Infinity],
  [`-${'1'.repeat(800)}`, -Infinity],
  ['nan', Number.NaN],
  ['NaN', Number.NaN],
  ['inf', Infinity],
  ['+inf', Infinity],
  ['+infinity', Infinity],
  ['Infinity', Infinity],
  ['-inf', -Infinity],
  ['-infinity', -Infinity],
  ['-Infinity', -Infinity],
  ['1_000_000.0', 1_000_000],
  ['_1', 'float_parsing'],
  ['_1.0', 'float_parsing'],
  ['1__0', 'float_parsing'],
  ['1.1__1', 'float_parsing'],
  ['1_0.0_', 'float_parsing'],
  ['1._', 'float_parsing'],
  ['1_0__0.0', 'float_parsing'],
  ['1.0e12', 1e12],
  ['1e12', 1e12],
  ['12e1', 120],
  ['1.0E12', 1e12],
  ['1E12', 1e12],
  ['12E1', 120],
  // From the code (Rust's f64 grammar): a bare dot on either side, a sign, no hexadecimal, no comma.
  ['.5', 0.5],
  ['5.', 5],
  ['-.5', -0.5],
  ['+7', 7],
  ['', 'float_parsing'],
  ['.', 'float_parsing'],
  ['1e', 'float_parsing'],
  ['0x10', 'float_parsing'],
  ['1,5', 'float_parsing'],
  ['infinit', 'float_parsing'],
  // From the code: underscores are stripped from the string as sent, which is then not trimmed.
  [' 1_000', 'float_parsing'],
  ['1e1_0', 1e10],
  [Infinity, Infinity],
  [-Infinity, -Infinity],
];

describe('laxInt: pydantic v2 lax int', () => {
  it.each(INT_CASES)('%j -> %j', (input, expected) => {
    expect(outcome(laxInt(input))).toEqual(expected);
  });

  it.each([
    // An integer literal is an exact Python int: beyond ±2^63 it is still an int, and bounds judge it.
    [1e19, 'integer', 1e19],
    [Infinity, 'integer', Infinity],
    [-Infinity, 'integer', -Infinity],
    // A float literal is a Python float.
    [1e19, 'float', 'int_parsing_size'],
    [Infinity, 'float', 'finite_number'],
  ] as [number, NumberLiteral, unknown][])('a number %d written as an %s literal -> %j', (input, literal, expected) => {
    expect(outcome(laxInt(input, literal))).toEqual(expected);
  });

  it('words each error as pydantic does', () => {
    expect(laxInt('x')).toEqual({ ok: false, error: { type: 'int_parsing', msg: 'Input should be a valid integer, unable to parse string as an integer' } });
    expect(laxInt(1.5)).toEqual({ ok: false, error: { type: 'int_from_float', msg: 'Input should be a valid integer, got a number with a fractional part' } });
    expect(laxInt(null)).toEqual({ ok: false, error: { type: 'int_type', msg: 'Input should be a valid integer' } });
    expect(laxInt(Infinity)).toEqual({ ok: false, error: { type: 'finite_number', msg: 'Input should be a finite number' } });
    expect(laxInt('1'.repeat(4301))).toEqual({ ok: false, error: { type: 'int_parsing_size', msg: 'Unable to parse input string as an integer, exceeded maximum size' } });
  });
});

describe('laxFloat: pydantic v2 lax float', () => {
  it.each(FLOAT_CASES)('%j -> %j', (input, expected) => {
    expect(outcome(laxFloat(input))).toEqual(expected);
  });

  it('refuses an integer literal too large for a float, as Python cannot convert it', () => {
    expect(laxFloat(Infinity, 'integer')).toEqual({ ok: false, error: { type: 'float_type', msg: 'Input should be a valid number' } });
    expect(outcome(laxFloat(1e300, 'integer'))).toBe(1e300);
    expect(outcome(laxFloat(Infinity, 'float'))).toBe(Infinity);
  });

  it('words a string it cannot read as pydantic does', () => {
    expect(laxFloat('x')).toEqual({ ok: false, error: { type: 'float_parsing', msg: 'Input should be a valid number, unable to parse string as a number' } });
  });
});

describe('laxBool: pydantic v2 lax bool', () => {
  it.each([
    [false, false],
    [true, true],
    [0, false],
    [0.0, false],
    [1, true],
    [1.0, true],
    ['yes', true],
    ['no', false],
    ['true', true],
    ['false', false],
    ['cheese', 'bool_parsing'],
    [2, 'bool_parsing'],
    [2.0, 'bool_parsing'],
    [[], 'bool_type'],
    [1.1, 'bool_type'],
    [null, 'bool_type'],
    // From the code: str_as_bool's words in any case, 0 and 1, nothing trimmed.
    ['0', false],
    ['1', true],
    ['f', false],
    ['N', false],
    ['Off', false],
    ['FALSE', false],
    ['T', true],
    ['y', true],
    ['ON', true],
    ['Yes', true],
    ['tRuE', true],
    ['', 'bool_parsing'],
    [' true', 'bool_parsing'],
    ['2', 'bool_parsing'],
    ['oui', 'bool_parsing'],
    [Infinity, 'bool_type'],
  ])('%j -> %j', (input, expected) => {
    expect(outcome(laxBool(input))).toEqual(expected);
  });

  it('words each error as pydantic does', () => {
    expect(laxBool('maybe')).toEqual({ ok: false, error: { type: 'bool_parsing', msg: 'Input should be a valid boolean, unable to interpret input' } });
    expect(laxBool([])).toEqual({ ok: false, error: { type: 'bool_type', msg: 'Input should be a valid boolean' } });
  });
});

describe('laxNumberField: the conversion, then the bounds, in pydantic\'s order', () => {
  const int = { kind: 'int', minimum: 0, maximum: 120 } as const;
  const float = { kind: 'float', minimum: 0, maximum: 500 } as const;

  it.each([
    [int, '120', 120],
    [int, '121', { type: 'less_than_equal', msg: 'Input should be less than or equal to 120', ctx: { le: 120 } }],
    [int, '-1', { type: 'greater_than_equal', msg: 'Input should be greater than or equal to 0', ctx: { ge: 0 } }],
    [int, '1'.repeat(400), { type: 'less_than_equal', msg: 'Input should be less than or equal to 120', ctx: { le: 120 } }],
    [int, true, 1],
    [int, 'x', { type: 'int_parsing', msg: 'Input should be a valid integer, unable to parse string as an integer' }],
    [float, '500', 500],
    [float, 'nan', { type: 'less_than_equal', msg: 'Input should be less than or equal to 500', ctx: { le: 500 } }],
    [float, 'inf', { type: 'less_than_equal', msg: 'Input should be less than or equal to 500', ctx: { le: 500 } }],
    [float, '-inf', { type: 'greater_than_equal', msg: 'Input should be greater than or equal to 0', ctx: { ge: 0 } }],
    [float, -0.01, { type: 'greater_than_equal', msg: 'Input should be greater than or equal to 0', ctx: { ge: 0 } }],
  ] as const)('%j: %j -> %j', (rule, input, expected) => {
    const result = laxNumberField(rule, input);
    expect(result.ok ? result.value : result.error).toEqual(expected);
  });
});
