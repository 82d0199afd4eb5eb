import type { RowIssue } from './errors.js';
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
/** An echoed string input is cut to this many characters (then "…"). */
export const MAX_INPUT_CHARS = 64;

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

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

/**
 * What an issue may echo of an offending value: scalars only, strings cut short. Objects and arrays
 * are never echoed, so an error body stays small (and serialisable) whatever was sent; nor is a
 * number that overflowed to ±Infinity, which JSON cannot hold.
 */
function echoed(value: unknown): Pick<ValidationIssue, 'input'> {
  if (typeof value === 'string') return { input: value.length > MAX_INPUT_CHARS ? `${value.slice(0, MAX_INPUT_CHARS)}…` : value };
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean' || value === null) return { input: value };
  return {};
}

/** pydantic's way of listing allowed values: 'a', 'b' or 'c'. */
function expectedValues(values: readonly unknown[]): string {
  const quoted = values.map((value) => (typeof value === 'string' ? `'${value}'` : JSON.stringify(value)));
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : (quoted[0] ?? '');
}

/** Ajv's keywords in the words, type names, `input` and `ctx` of pydantic v2. */
function toIssue(violation: SchemaViolation, context: string, root: unknown): ValidationIssue {
  const loc = locationOf(violation, context);
  const limit = violation.params.limit as number;
  const input = valueAt(root, loc);
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
          return issue('type_error', `Input should be of type ${String(violation.params.type)}`);
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

/** The listed issues with the count of the rest, and all of it in sentences. */
function issueList(issues: ValidationIssue[], total: number): IssueList {
  const moreProblems = total - issues.length;
  const sentences = issues.map(sentence).join(' ');
  return {
    issues,
    moreProblems,
    message: moreProblems > 0 ? `${sentences} …and ${plural(moreProblems, 'more problem')}.` : sentences,
  };
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
  return issueList(
    violations.slice(0, MAX_DETAIL_ENTRIES).map((violation) => {
      const refusal = refused?.get(violation.instancePath);
      return refusal ? refusedIssue(refusal, locationOf(violation, context)) : toIssue(violation, context, root);
    }),
    violations.length,
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
