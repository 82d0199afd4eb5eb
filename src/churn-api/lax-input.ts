import type { FastifyReply, FastifyRequest } from 'fastify';
import { FEATURE_RULES } from '../data-plane/feature-rows.js';
import { laxBool, laxNumberField, type NumberFieldRule } from '../pydantic-lax.js';
import type { RefusedValue } from '../validation-issues.js';

/**
 * The churn API takes what FastAPI takes: pydantic v2 in lax mode reads "2" or true as the int 2
 * or 1, "70.7" as a float, and explain=yes as true (the rules are in pydantic-lax.ts). This hook
 * runs before validation and validates each feature value (and `explain`) as pydantic validates
 * its field: a value pydantic accepts is replaced by the number (the data plane reads float32),
 * bounds checked on the converted value; a value it refuses stays as sent, and its error waits in
 * `request.refusedInput` for the error handler. The schema then validates the whole request as
 * before: it refuses every refused value too (each is a string, boolean, null, list or object, a
 * fractional or non-finite number, or a number beyond the same bounds), and the error handler
 * reports pydantic's error in place of the schema's there, with every other problem beside it.
 *
 * Why a hook, and not Ajv's coercion, custom Ajv keywords or TypeBox transforms: Ajv's coerceTypes
 * follows JavaScript's rules ("" is 0, null is 0, "1e3" is an integer) for every route; a keyword
 * runs only after Ajv has checked `type`, and would put a non-standard keyword in the schemas the
 * OpenAPI document shows; transforms need TypeBox's compiler in place of Fastify's Ajv, whose
 * errors every 422 is built from. The hook leaves the schema true (numbers are numbers) and keeps
 * the rules in one module tested against pydantic's own cases.
 */

/** Each feature as a pydantic field: an int or a float, with its bounds, read from the one feature schema. */
const FEATURE_FIELDS: readonly (NumberFieldRule & { name: string })[] = FEATURE_RULES.map(({ name, minimum, maximum, integer }) => ({
  name,
  kind: integer ? 'int' : 'float',
  minimum,
  maximum,
}));

/** The churn API's one query parameter, a bool in the FastAPI service. */
const EXPLAIN = 'explain';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A value every mode takes as it is: a number of the field's kind within its bounds (-0 aside, which
 * an int field reads as 0). Most rows are all such values, so they cost no conversion at all.
 */
function alreadyValid(field: NumberFieldRule, input: unknown): boolean {
  return typeof input === 'number' && input >= field.minimum && input <= field.maximum && (field.kind === 'float' || (Number.isInteger(input) && !Object.is(input, -0)));
}

/** Converts the features of one row in place: the body itself, or row `index` of the list at `rowsAt`. */
function convertRow(request: FastifyRequest, row: unknown, rowsAt: string | undefined, index: number, refused: Map<string, RefusedValue>): void {
  if (!isRecord(row)) return;
  for (const field of FEATURE_FIELDS) {
    if (!Object.hasOwn(row, field.name)) continue;
    const input = row[field.name];
    if (alreadyValid(field, input)) continue;
    const outcome = laxNumberField(field, input, request.bigNumberLiterals?.literalOf(row, field.name));
    if (outcome.ok) row[field.name] = outcome.value;
    else refused.set(`${rowsAt === undefined ? '' : `/${rowsAt}/${index}`}/${field.name}`, { ...outcome.error, input });
  }
}

/** Reads `explain` as pydantic reads a bool; of repeated values FastAPI takes the last. */
function convertExplain(query: Record<string, unknown>, refused: Map<string, RefusedValue>): void {
  if (!Object.hasOwn(query, EXPLAIN)) return;
  const sent = query[EXPLAIN];
  const input: unknown = Array.isArray(sent) ? sent.at(-1) : sent;
  const outcome = laxBool(input);
  if (outcome.ok) query[EXPLAIN] = outcome.value;
  else refused.set(`/${EXPLAIN}`, { ...outcome.error, input });
}

/** The preValidation hook of the churn API's prediction routes when STRICT_TYPES is off. */
export function convertLaxInput(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  const body = new Map<string, RefusedValue>();
  const querystring = new Map<string, RefusedValue>();
  const rowsAt = request.routeOptions.config.rowsAt;
  if (rowsAt === undefined) convertRow(request, request.body, undefined, 0, body);
  else if (isRecord(request.body) && Array.isArray(request.body[rowsAt])) {
    const rows = request.body[rowsAt] as unknown[];
    for (let index = 0; index < rows.length; index += 1) convertRow(request, rows[index], rowsAt, index, body);
  }
  convertExplain(request.query as Record<string, unknown>, querystring);
  if (body.size > 0 || querystring.size > 0) request.refusedInput = { body, querystring };
  done();
}
