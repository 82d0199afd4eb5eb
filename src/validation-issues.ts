import { cutEcho } from './echo.js';
import type { RowIssue, ValueIssue } from './errors.js';
import type { ValidationIssue } from './schemas/errors.js';

/**
 * Invalid input in the words of FastAPI (pydantic v2), which clients already parse: one issue per
 * problem (`type`, `loc`, `msg`, `input`, `ctx`), and the same issues as one line of sentences for
 * protocols whose errors are a single string. Nothing here knows a protocol's bodies or statuses.
 */

type Location = (string | number)[];

/** One problem a JSON Schema validator found, in Ajv's error format (as Fastify passes it on). */
export interface SchemaViolation {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
  /** Where in the schema the rule sits; ties a union's failed members to the union (`…/anyOf/0/type` to `…/anyOf`). */
  schemaPath?: string;
}

/** Problems in a form every protocol can render. */
export interface IssueList {
  /** The first MAX_DETAIL_ENTRIES problems. */
  issues: ValidationIssue[];
  /** How many problems were found beyond those listed. */
  moreProblems: number;
  /** One sentence per listed problem, then the count of the rest: "tenure_months is required. …and 3 more problems." */
  message: string;
}

/** At most this many problems are listed; the rest are only counted. */
export const MAX_DETAIL_ENTRIES = 20;
/**
 * The listed issues (as JSON) and their sentences together take at most this many bytes, so that an
 * error body stays under 4 KB whatever was sent; the problems that do not fit are only counted.
 * The first problem is always listed (every echo in it is cut short, so it is small).
 */
export const MAX_ISSUE_BYTES = 3 * 1024;

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** Where the violation is, with the keys exactly as sent (to read the offending value there). */
function locationOf(violation: SchemaViolation, context: string): Location {
  const segments = violation.instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
  const missing = violation.keyword === 'required' ? [String(violation.params.missingProperty)] : [];
  return [context, ...segments, ...missing];
}

function valueAt(root: unknown, location: Location): unknown {
  return location.slice(1).reduce<unknown>((value, key) => (value as Record<string | number, unknown> | null)?.[key], root);
}

/** A location as an issue shows it: a key the caller made up may be of any length, so it is cut short. */
const shownLocation = (location: Location): Location => location.map((segment) => (typeof segment === 'string' ? cutEcho(segment) : segment));

/**
 * What an issue may echo of an offending value: scalars only, strings cut short. Objects and arrays
 * are never echoed, so an error body stays small (and serialisable) whatever was sent; nor is a
 * number that overflowed to ±Infinity, which JSON cannot hold.
 */
function echoed(value: unknown): Pick<ValidationIssue, 'input'> {
  if (typeof value === 'string') return { input: cutEcho(value) };
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean' || value === null) return { input: value };
  return {};
}

/** "a, b or c". */
function alternatives(words: readonly string[]): string {
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words.at(-1)}` : (words[0] ?? '');
}

/** pydantic's way of listing allowed values: 'a', 'b' or 'c'. */
function expectedValues(values: readonly unknown[]): string {
  return alternatives(values.map((value) => (typeof value === 'string' ? `'${value}'` : JSON.stringify(value))));
}

/** Ajv's keywords in the words, type names, `input` and `ctx` of pydantic v2. */
function toIssue(violation: SchemaViolation, context: string, root: unknown): ValidationIssue {
  const location = locationOf(violation, context);
  const loc = shownLocation(location);
  const limit = violation.params.limit as number;
  const input = valueAt(root, location);
  const issue = (type: string, msg: string, ctx?: ValidationIssue['ctx']): ValidationIssue =>
    ctx ? { type, loc, msg, ...echoed(input), ctx } : { type, loc, msg, ...echoed(input) };
  // pydantic echoes the object a missing field is missing from; objects are never echoed here.
  const missing = (): ValidationIssue => ({ type: 'missing', loc, msg: 'Field required' });
  const listLength = Array.isArray(input) ? input.length : 0;
  switch (violation.keyword) {
    case 'required':
      return missing();
    case 'type':
      switch (violation.params.type) {
        case 'integer':
          return typeof input === 'number' && Number.isFinite(input)
            ? issue('int_from_float', 'Input should be a valid integer, got a number with a fractional part')
            : issue('int_type', 'Input should be a valid integer');
        case 'number':
          return issue('float_type', 'Input should be a valid number');
        case 'string':
          return issue('string_type', 'Input should be a valid string');
        case 'array':
          return issue('list_type', 'Input should be a valid list');
        case 'object':
          return input === undefined
            ? missing()
            : issue('model_attributes_type', 'Input should be a valid dictionary or object to extract fields from');
        default:
          // A union of types (a `type` list, or merged union members) arrives as "string,number,boolean".
          return issue('type_error', `Input should be of type ${alternatives(String(violation.params.type).split(','))}`);
      }
    case 'enum': {
      const expected = expectedValues(violation.params.allowedValues as unknown[]);
      return issue('literal_error', `Input should be ${expected}`, { expected });
    }
    case 'minimum':
      return issue('greater_than_equal', `Input should be greater than or equal to ${limit}`, { ge: limit });
    case 'maximum':
      return issue('less_than_equal', `Input should be less than or equal to ${limit}`, { le: limit });
    case 'exclusiveMinimum':
      return issue('greater_than', `Input should be greater than ${limit}`, { gt: limit });
    case 'exclusiveMaximum':
      return issue('less_than', `Input should be less than ${limit}`, { lt: limit });
    case 'minLength':
      return issue('string_too_short', `String should have at least ${plural(limit, 'character')}`, { min_length: limit });
    case 'maxLength':
      return issue('string_too_long', `String should have at most ${plural(limit, 'character')}`, { max_length: limit });
    case 'minItems':
      return issue('too_short', `List should have at least ${plural(limit, 'item')} after validation, not ${listLength}`, {
        field_type: 'List',
        min_length: limit,
        actual_length: listLength,
      });
    case 'maxItems':
      return issue('too_long', `List should have at most ${plural(limit, 'item')} after validation, not ${listLength}`, {
        field_type: 'List',
        max_length: limit,
        actual_length: listLength,
      });
    default:
      return issue(violation.keyword, violation.message ?? 'Invalid value');
  }
}

/** "customers[0].tenure_months", or "body" for the body as a whole. */
function fieldName(loc: Location): string {
  const path = loc.slice(1).reduce<string>(
    (name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${key}` : key),
    '',
  );
  return path || String(loc[0]);
}

function sentence(issue: ValidationIssue): string {
  const field = fieldName(issue.loc);
  if (issue.type === 'missing') return `${field} is required.`;
  // The rule alone: without pydantic's "Input should" or "String/List should", or Ajv's own "must".
  const should = /^(?:(?:Input|String|List) should|must) /.exec(issue.msg);
  // A message that is no rule ("Unable to parse input string as an integer, …") is quoted whole.
  return should ? `${field} must ${issue.msg.slice(should[0].length)}.` : `${field}: ${issue.msg}.`;
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** The issues that fit in MAX_ISSUE_BYTES with the count of the rest, and all of it in sentences. */
function issueList(candidates: readonly ValidationIssue[], total: number): IssueList {
  const issues: ValidationIssue[] = [];
  const sentences: string[] = [];
  let bytes = 0;
  for (const issue of candidates) {
    const said = sentence(issue);
    bytes += jsonBytes(issue) + jsonBytes(said);
    if (issues.length > 0 && bytes > MAX_ISSUE_BYTES) break;
    issues.push(issue);
    sentences.push(said);
  }
  const moreProblems = total - issues.length;
  const message = sentences.join(' ');
  return {
    issues,
    moreProblems,
    message: moreProblems > 0 ? `${message} …and ${plural(moreProblems, 'more problem')}.` : message,
  };
}

/** A violation found inside `union`'s members: under its schema path. */
const isMemberOf = (violation: SchemaViolation, union: SchemaViolation): boolean => violation.schemaPath?.startsWith(`${union.schemaPath}/`) === true;

/**
 * A union (`anyOf`) that no member matches is one problem, not one per member plus one for the
 * union: each would repeat the location, and a made-up key as long as the body would come back many
 * times over. Members that are all type rules become one type rule ("string,number,boolean"); any
 * other union is reported by its `anyOf` violation alone. The validator lists a union's members
 * right before the union itself (each value of a record or list has its own), so one pass finds them.
 */
function withUnionsMerged(violations: readonly SchemaViolation[]): SchemaViolation[] {
  const merged: SchemaViolation[] = [];
  for (const violation of violations) {
    if (violation.keyword !== 'anyOf' || violation.schemaPath === undefined) {
      merged.push(violation);
      continue;
    }
    const members: SchemaViolation[] = [];
    while (merged.length > 0 && isMemberOf(merged.at(-1)!, violation)) members.push(merged.pop()!);
    members.reverse();
    const typesOnly = members.length > 0 && members.every((member) => member.keyword === 'type' && member.instancePath === violation.instancePath);
    merged.push(typesOnly ? { ...violation, keyword: 'type', params: { type: members.map((member) => String(member.params.type)).join(',') } } : violation);
  }
  return merged;
}

/**
 * A value a hook refused before validation (a conversion pydantic would not make), with pydantic's
 * error for it and the value as sent. The hook leaves the value as it was, so the schema refuses
 * it too, with one violation (a scalar breaks one rule: its type, or a bound); the refusal's error
 * replaces that violation's.
 */
export type RefusedValue = Pick<ValidationIssue, 'type' | 'msg' | 'ctx'> & { input: unknown };

/** Refused values of one part of the request, by their JSON pointer (`/customers/0/tenure_months`), as Ajv's `instancePath` names them. */
export type RefusedValues = ReadonlyMap<string, RefusedValue>;

function refusedIssue({ type, msg, ctx, input }: RefusedValue, loc: Location): ValidationIssue {
  return ctx ? { type, loc, msg, ...echoed(input), ctx } : { type, loc, msg, ...echoed(input) };
}

/**
 * A schema validator's findings. `context` names the part of the request validated (`body`,
 * `querystring`, `params`, `headers`) and `root` is that part, where offending values are read;
 * `refused` are the values of that part a hook refused before validation.
 */
export function schemaIssues(violations: readonly SchemaViolation[], context: string, root: unknown, refused?: RefusedValues): IssueList {
  const problems = withUnionsMerged(violations);
  return issueList(
    problems.slice(0, MAX_DETAIL_ENTRIES).map((violation) => {
      const refusal = refused?.get(violation.instancePath);
      return refusal ? refusedIssue(refusal, locationOf(violation, context)) : toIssue(violation, context, root);
    }),
    problems.length,
  );
}

const ROW_ISSUE_TYPES: Record<RowIssue['problem'], (issue: RowIssue) => Pick<ValidationIssue, 'type' | 'msg' | 'ctx'>> = {
  not_a_number: () => ({ type: 'float_type', msg: 'Input should be a valid number' }),
  not_an_integer: () => ({ type: 'int_from_float', msg: 'Input should be a valid integer, got a number with a fractional part' }),
  below_minimum: ({ limit }) => ({ type: 'greater_than_equal', msg: `Input should be greater than or equal to ${limit}`, ctx: { ge: limit! } }),
  above_maximum: ({ limit }) => ({ type: 'less_than_equal', msg: `Input should be less than or equal to ${limit}`, ctx: { le: limit! } }),
};

/**
 * Rows the data plane refused, as issues in the body. `rowsAt` names the body property that holds
 * the rows (`customers`), or nothing when the body is the one row.
 */
export function rowIssues(problems: readonly RowIssue[], rowsAt: string | undefined): IssueList {
  const issues = problems.slice(0, MAX_DETAIL_ENTRIES).map((rowIssue): ValidationIssue => {
    const loc: Location = rowsAt ? ['body', rowsAt, rowIssue.row, rowIssue.feature] : ['body', rowIssue.feature];
    const { type, msg, ctx } = ROW_ISSUE_TYPES[rowIssue.problem](rowIssue);
    return ctx ? { type, loc, msg, ...echoed(rowIssue.value), ctx } : { type, loc, msg, ...echoed(rowIssue.value) };
  });
  return issueList(issues, problems.length);
}

/** Values a route refused by a rule of its own (InvalidValuesError), as issues where they were sent. */
export function valueIssues(problems: readonly ValueIssue[]): IssueList {
  const issues = problems.slice(0, MAX_DETAIL_ENTRIES).map(({ type, loc, msg, input }): ValidationIssue => ({ type, loc: shownLocation(loc), msg, ...echoed(input) }));
  return issueList(issues, problems.length);
}
