import type { ValidationIssue } from './schemas/errors.js';

/**
 * What pydantic v2 in its default, lax mode makes of a value sent for an `int`, `float` or `bool`
 * field, as FastAPI validates a JSON body (parsed by `json.loads`, then validated in Python mode):
 * the value it accepts, or the error it gives. Ported from pydantic-core's validators
 * (`src/input/input_python.rs`, `src/input/shared.rs`: `str_as_int`, `str_as_float`,
 * `str_as_bool`, `float_as_int`; `src/validators/{int,float}.rs` for the bounds) and checked
 * against the cases of its tests (`tests/validators/test_{int,float,bool}.py`), quirks included.
 * Nothing here knows HTTP.
 */

/** A pydantic error as FastAPI lists it, without the location and the input. */
export type PydanticError = Pick<ValidationIssue, 'type' | 'msg' | 'ctx'>;

export type LaxOutcome<T> = { ok: true; value: T } | { ok: false; error: PydanticError };

/**
 * How a JSON number was written, where JSON.parse cannot keep that apart: `integer` for an integer
 * literal (an exact Python int of any size), `float` for one with a fraction or an exponent.
 */
export type NumberLiteral = 'integer' | 'float';

/** An `int` or `float` field with pydantic's `ge` and `le`. */
export interface NumberFieldRule {
  kind: 'int' | 'float';
  minimum: number;
  maximum: number;
}

const INT_TYPE: PydanticError = { type: 'int_type', msg: 'Input should be a valid integer' };
const INT_PARSING: PydanticError = { type: 'int_parsing', msg: 'Input should be a valid integer, unable to parse string as an integer' };
const INT_PARSING_SIZE: PydanticError = { type: 'int_parsing_size', msg: 'Unable to parse input string as an integer, exceeded maximum size' };
const INT_FROM_FLOAT: PydanticError = { type: 'int_from_float', msg: 'Input should be a valid integer, got a number with a fractional part' };
const FINITE_NUMBER: PydanticError = { type: 'finite_number', msg: 'Input should be a finite number' };
const FLOAT_TYPE: PydanticError = { type: 'float_type', msg: 'Input should be a valid number' };
const FLOAT_PARSING: PydanticError = { type: 'float_parsing', msg: 'Input should be a valid number, unable to parse string as a number' };
const BOOL_TYPE: PydanticError = { type: 'bool_type', msg: 'Input should be a valid boolean' };
const BOOL_PARSING: PydanticError = { type: 'bool_parsing', msg: 'Input should be a valid boolean, unable to interpret input' };

const ok = <T>(value: T): LaxOutcome<T> => ({ ok: true, value });
const fail = <T>(error: PydanticError): LaxOutcome<T> => ({ ok: false, error });

/** The longest integer string pydantic parses (CPython's limit), its sign included. */
const MAX_INT_STRING_LENGTH = 4300;
/** A Python float becomes an int only strictly inside the i64 range. */
const I64_BOUND = 2 ** 63;
/** jiter's `NumberInt`: a JSON integer and nothing else, leading zeros refused. */
const JSON_INTEGER = /^-?(?:0|[1-9]\d*)$/;
const LEADING_INTEGER_RUN = /^-?[1-9]\d*/;
/** Rust's `f64::from_str`, case-insensitive; written so no input makes it backtrack more than linearly. */
const RUST_FLOAT = /^[+-]?(?:inf|infinity|nan|(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)$/i;

/** Rust's `char::is_whitespace` (Unicode White_Space), which `str::trim` strips; JavaScript's trim differs (U+FEFF, U+0085). */
function isRustWhitespace(code: number): boolean {
  return (
    (code >= 0x09 && code <= 0x0d) ||
    code === 0x20 ||
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

function rustTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isRustWhitespace(text.charCodeAt(start))) start += 1;
  while (end > start && isRustWhitespace(text.charCodeAt(end - 1))) end -= 1;
  return text.slice(start, end);
}

/** `1_000` is 1000; a leading, trailing or doubled underscore is not a number (as in Python). */
function stripUnderscores(text: string): string | undefined {
  if (text.startsWith('_') || text.endsWith('_') || !text.includes('_') || text.includes('__')) return undefined;
  return text.replaceAll('_', '');
}

const isDigit1to9 = (char: string | undefined) => char !== undefined && char >= '1' && char <= '9';

/** pydantic-core's `strip_leading_zeros`, quirks included: `0-1` leaves `-1`. */
function stripLeadingZeros(text: string): string | undefined {
  const first = text[0];
  if (first !== '0') return isDigit1to9(first) || first === '-' ? text : undefined;
  for (let index = 1; index < text.length; index += 1) {
    const char = text[index]!;
    if (char === '0' || char === '_') continue;
    if (isDigit1to9(char) || char === '-') return text.slice(index);
    if (char === '.') return text.slice(index - 1);
    return undefined;
  }
  return text.slice(-1);
}

/** pydantic-core's `clean_int_str`: what a string that is not a plain JSON integer may still be. */
function cleanIntString(original: string): string | undefined {
  let text = rustTrim(original);
  if (text.startsWith('+')) {
    if (text.startsWith('+-')) return undefined;
    text = text.slice(1);
  }
  let negative = false;
  if (text.startsWith('-')) {
    if (text.startsWith('--') || text.startsWith('-+')) return undefined;
    negative = true;
    text = text.slice(1);
  }
  const stripped = stripLeadingZeros(text);
  if (stripped === undefined) return undefined;
  text = stripped;
  const dot = text.indexOf('.');
  if (dot !== -1 && /^0+$/.test(text.slice(dot + 1))) text = text.slice(0, dot);
  const sign = negative ? '-' : '';
  const withoutUnderscores = stripUnderscores(text);
  if (withoutUnderscores !== undefined) return sign + withoutUnderscores;
  return original.length === text.length ? undefined : sign + text;
}

/** A string as pydantic reads an int from it. An integer beyond JavaScript's range is ±Infinity: beyond every bound. */
function intFromString(text: string): LaxOutcome<number> {
  const run = LEADING_INTEGER_RUN.exec(text)?.[0];
  if (run !== undefined && run.length > MAX_INT_STRING_LENGTH) return fail(INT_PARSING_SIZE);
  if (JSON_INTEGER.test(text)) return ok(Number(text));
  const cleaned = cleanIntString(text);
  return cleaned !== undefined && JSON_INTEGER.test(cleaned) && cleaned.length <= MAX_INT_STRING_LENGTH ? ok(Number(cleaned)) : fail(INT_PARSING);
}

/** A Python float as pydantic makes an int of it. */
function intFromFloat(value: number): LaxOutcome<number> {
  if (!Number.isFinite(value)) return fail(FINITE_NUMBER);
  if (!Number.isInteger(value)) return fail(INT_FROM_FLOAT);
  return -I64_BOUND < value && value < I64_BOUND ? ok(value) : fail(INT_PARSING_SIZE);
}

function parseRustFloat(text: string): number | undefined {
  if (!RUST_FLOAT.test(text)) return undefined;
  const unsigned = text.replace(/^[+-]/, '').toLowerCase();
  if (unsigned === 'nan') return Number.NaN;
  if (unsigned === 'inf' || unsigned === 'infinity') return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

/** A string as pydantic reads a float from it: trimmed, then (untrimmed) without its underscores. */
function floatFromString(text: string): LaxOutcome<number> {
  const parsed = parseRustFloat(rustTrim(text)) ?? parseRustFloat(stripUnderscores(text) ?? '');
  return parsed === undefined ? fail(FLOAT_PARSING) : ok(parsed);
}

/**
 * pydantic's `int` in lax mode: booleans are 0 and 1, a float only without a fractional part, a
 * string as Python writes an int (`' 42 '`, `'+4_2'`, `'42.0'`; not `'4.2'` or `'1e3'`).
 * `literal` says how a number beyond ±2^63 was written; without it a number is read as a float.
 */
export function laxInt(input: unknown, literal?: NumberLiteral): LaxOutcome<number> {
  const int = intFrom(input, literal);
  // A Python int has no negative zero: "-0" and -0.0 are 0.
  return int.ok && int.value === 0 ? ok(0) : int;
}

function intFrom(input: unknown, literal?: NumberLiteral): LaxOutcome<number> {
  if (typeof input === 'boolean') return ok(input ? 1 : 0);
  if (typeof input === 'number') return literal === 'integer' ? ok(input) : intFromFloat(input);
  if (typeof input === 'string') return intFromString(input);
  return fail(INT_TYPE);
}

/**
 * pydantic's `float` in lax mode: booleans are 0 and 1, a string as Rust parses a float (`'1e3'`,
 * `'inf'`, `'nan'`, `'1_000.5'`). An integer literal too large for a float is no number at all.
 */
export function laxFloat(input: unknown, literal?: NumberLiteral): LaxOutcome<number> {
  if (typeof input === 'boolean') return ok(input ? 1 : 0);
  if (typeof input === 'number') return literal === 'integer' && !Number.isFinite(input) ? fail(FLOAT_TYPE) : ok(input);
  if (typeof input === 'string') return floatFromString(input);
  return fail(FLOAT_TYPE);
}

const FALSE_WORDS = new Set(['f', 'n', 'no', 'off', 'false']);
const TRUE_WORDS = new Set(['t', 'y', 'on', 'yes', 'true']);

/** pydantic's `bool` in lax mode: 0 and 1, and the words of `str_as_bool` in any case (not trimmed). */
export function laxBool(input: unknown): LaxOutcome<boolean> {
  if (typeof input === 'boolean') return ok(input);
  if (typeof input === 'string') {
    const word = input.toLowerCase();
    if (input === '0' || FALSE_WORDS.has(word)) return ok(false);
    if (input === '1' || TRUE_WORDS.has(word)) return ok(true);
    return fail(BOOL_PARSING);
  }
  if (typeof input === 'number') {
    if (input === 0 || input === 1) return ok(input === 1);
    // A whole number other than 0 or 1 cannot be read as a boolean; anything else is no boolean at all.
    return intFromFloat(input).ok ? fail(BOOL_PARSING) : fail(BOOL_TYPE);
  }
  return fail(BOOL_TYPE);
}

/** pydantic's bounds, in its order (`le` before `ge`): NaN and +Infinity break `le`, -Infinity `ge`. */
export function boundsError(value: number, { minimum, maximum }: NumberFieldRule): PydanticError | undefined {
  if (!(value <= maximum)) return { type: 'less_than_equal', msg: `Input should be less than or equal to ${maximum}`, ctx: { le: maximum } };
  if (!(value >= minimum)) return { type: 'greater_than_equal', msg: `Input should be greater than or equal to ${minimum}`, ctx: { ge: minimum } };
  return undefined;
}

/** A bounded `int` or `float` field as pydantic validates it: the conversion, then the bounds on the converted value. */
export function laxNumberField(rule: NumberFieldRule, input: unknown, literal?: NumberLiteral): LaxOutcome<number> {
  const converted = rule.kind === 'int' ? laxInt(input, literal) : laxFloat(input, literal);
  if (!converted.ok) return converted;
  const outOfBounds = boundsError(converted.value, rule);
  return outOfBounds ? fail(outOfBounds) : converted;
}
