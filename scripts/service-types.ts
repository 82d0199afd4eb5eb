/**
 * Generates packages/service-types, the publishable `churn-service-types` package: the HTTP API's
 * request and response types as plain TypeScript declarations, with no runtime code and no
 * dependencies, so any project can install it. They are generated from the TypeBox schemas that
 * validate and serialise those bodies (TypeBox schemas are JSON Schema), so nothing is written
 * twice; test/package/service-types.test.ts fails when the committed files are stale.
 *
 *   npm run build:types
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TSchema } from '@sinclair/typebox';
import { compile, type JSONSchema } from 'json-schema-to-typescript';
import { ConfigSchema } from '../src/config.js';
import { batchRequestSchema } from '../src/schemas/batch.js';
import { WorkerReload } from '../src/schemas/admin.js';
import { ChallengerInfo, RolloutEvent, WorkerRollout } from '../src/schemas/challenger.js';
import { DriftFeatureReport } from '../src/schemas/drift.js';
import { EstimatedPerformance, ModelPerformance, PerformanceCalibrationBin, PerformanceThreshold } from '../src/schemas/performance.js';
import { ModelComparison } from '../src/schemas/comparison.js';
import { ValidationIssue } from '../src/schemas/errors.js';
import { OutcomeItem } from '../src/schemas/outcomes.js';
import { Datatype, MetadataTensor, RequestInput, ResponseOutput } from '../src/schemas/open-inference.js';
import { RiskTier } from '../src/schemas/prediction.js';
import { SHARED_SCHEMAS } from '../src/schemas/shared-schemas.js';

export const SERVICE_TYPES_PACKAGE_NAME = 'churn-service-types';
export const SERVICE_TYPES_DIRECTORY = fileURLToPath(new URL('../packages/service-types/', import.meta.url));
const ROOT_PACKAGE = fileURLToPath(new URL('../package.json', import.meta.url));

export interface NamedSchema {
  /** The exported type's name. */
  name: string;
  schema: TSchema;
}

/** The shared schemas by their $id, which is also their name in the OpenAPI document. */
const shared = Object.fromEntries(SHARED_SCHEMAS.map((schema) => [schema.$id, schema]));
const sharedByName = (...ids: string[]): NamedSchema[] =>
  ids.map((id) => {
    const schema = shared[id];
    if (!schema) throw new Error(`service-types: no shared schema has the $id ${id}`);
    return { name: id, schema };
  });

/**
 * The exported types, in the order the file declares them. Every shared schema must be here (the
 * generator refuses to run otherwise), so a new response body cannot be left out; the others are
 * parts a client names on their own.
 */
export const SERVICE_TYPES: readonly NamedSchema[] = [
  ...sharedByName('CustomerFeatures'),
  // Generated with the default BATCH_MAX_SIZE; a deployment may set another limit.
  { name: 'BatchPredictionRequest', schema: batchRequestSchema(ConfigSchema.properties.BATCH_MAX_SIZE.default as number) },
  ...sharedByName('PredictionResponse'),
  { name: 'RiskTier', schema: RiskTier },
  ...sharedByName('Explanation', 'BatchPredictionResponse', 'ErrorResponse', 'ValidationErrorResponse'),
  { name: 'ValidationIssue', schema: ValidationIssue },
  ...sharedByName('HealthResponse', 'LiveResponse', 'ReadyResponse', 'ModelResponse', 'ModelCard', 'DriftReport'),
  { name: 'DriftFeatureReport', schema: DriftFeatureReport },
  ...sharedByName('OutcomesRequest'),
  { name: 'OutcomeItem', schema: OutcomeItem },
  ...sharedByName('OutcomesResponse'),
  ...sharedByName('PerformanceReport'),
  { name: 'ModelPerformance', schema: ModelPerformance },
  { name: 'PerformanceThreshold', schema: PerformanceThreshold },
  { name: 'PerformanceCalibrationBin', schema: PerformanceCalibrationBin },
  { name: 'EstimatedPerformance', schema: EstimatedPerformance },
  ...sharedByName('ComparisonReport'),
  { name: 'ModelComparison', schema: ModelComparison },
  ...sharedByName('ReloadResponse'),
  { name: 'WorkerReload', schema: WorkerReload },
  ...sharedByName('ChallengerRequest', 'RolloutResponse'),
  { name: 'ChallengerInfo', schema: ChallengerInfo },
  { name: 'RolloutEvent', schema: RolloutEvent },
  { name: 'WorkerRollout', schema: WorkerRollout },
  ...sharedByName('OipServerMetadataResponse', 'OipServerLiveResponse', 'OipServerReadyResponse', 'OipModelReadyResponse', 'OipModelMetadataResponse'),
  { name: 'OipMetadataTensor', schema: MetadataTensor },
  ...sharedByName('OipInferenceRequest'),
  { name: 'OipRequestInput', schema: RequestInput },
  ...sharedByName('OipInferenceResponse'),
  { name: 'OipResponseOutput', schema: ResponseOutput },
  ...sharedByName('OipErrorResponse'),
  { name: 'OipDatatype', schema: Datatype },
];

type JsonObject = Record<string, unknown>;

/**
 * The schema as json-schema-to-typescript should read it: a part that is another exported type
 * (embedded, or a `$ref` to a shared schema's $id) becomes a reference to that type by name, so
 * each type is declared once; a TypeBox record (`patternProperties` matching every key) becomes
 * `additionalProperties`, which gives a plain index signature.
 */
function forGenerator(schema: TSchema, types: readonly NamedSchema[]): JSONSchema {
  const nameOf = new Map(types.map(({ name, schema }) => [JSON.stringify(schema), name]));
  const nameOfId = new Map(types.filter(({ schema }) => schema.$id).map(({ name, schema }) => [schema.$id, name]));
  const rewrite = (node: unknown, isRoot: boolean): unknown => {
    if (Array.isArray(node)) return node.map((item) => rewrite(item, false));
    if (node === null || typeof node !== 'object') return node;
    const embedded = isRoot ? undefined : nameOf.get(JSON.stringify(node));
    if (embedded) return { tsType: embedded };
    const { $id: _id, $ref, patternProperties, ...rest } = node as JsonObject;
    const result: JsonObject = {};
    if (typeof $ref === 'string') {
      const referenced = nameOfId.get($ref);
      if (!referenced) throw new Error(`service-types: a schema refers to ${$ref}, which is not in SERVICE_TYPES`);
      result.tsType = referenced;
    }
    for (const [key, value] of Object.entries(rest)) result[key] = rewrite(value, false);
    if (patternProperties !== undefined) {
      const patterns = Object.entries(patternProperties as JsonObject);
      if (patterns.length === 1 && patterns[0]![0] === '^(.*)$' && rest.properties === undefined) result.additionalProperties = rewrite(patterns[0]![1], false);
      else result.patternProperties = rewrite(patternProperties, false);
    }
    return result;
  };
  return rewrite(schema, true) as JSONSchema;
}

function serviceVersion(): string {
  return (JSON.parse(readFileSync(ROOT_PACKAGE, 'utf8')) as { version: string }).version;
}

/** The generated files of packages/service-types, by file name. */
export async function renderServiceTypes(types: readonly NamedSchema[] = SERVICE_TYPES): Promise<Record<'index.d.ts' | 'package.json', string>> {
  const missing = SHARED_SCHEMAS.filter((schema) => !types.some((type) => type.schema === schema)).map((schema) => schema.$id);
  if (missing.length > 0) throw new Error(`service-types: shared schemas missing from SERVICE_TYPES: ${missing.join(', ')}`);
  const version = serviceVersion();
  const declarations = await Promise.all(
    types.map(({ name, schema }) =>
      compile({ ...forGenerator(schema, types), title: name }, name, {
        bannerComment: '',
        // TypeBox objects accept unknown properties unless they say otherwise, but a client that sends
        // or reads one by mistake is better told at compile time; an explicit index signature stays.
        additionalProperties: false,
        // Bounded arrays stay arrays (with @minItems/@maxItems comments) instead of unions of tuples.
        ignoreMinAndMaxItems: true,
        style: { singleQuote: true, printWidth: 120 },
      }),
    ),
  );
  const header = [
    '/**',
    ` * The request and response bodies of churn-service ${version}: the churn REST API, its health and admin`,
    ' * routes, and the Open Inference Protocol (V2) routes. Types only: there is no runtime code.',
    ' *',
    ' * Generated by scripts/service-types.ts from the TypeBox schemas that validate and serialise these',
    ' * bodies (src/schemas); do not edit, run `npm run build:types`.',
    ' */',
  ].join('\n');
  const packageJson = {
    name: SERVICE_TYPES_PACKAGE_NAME,
    version,
    description: "TypeScript types of churn-service's HTTP API bodies (churn REST API and Open Inference Protocol): types only, no dependencies.",
    license: 'UNLICENSED',
    types: './index.d.ts',
    exports: { '.': { types: './index.d.ts' }, './package.json': './package.json' },
    files: ['index.d.ts'],
    sideEffects: false,
  };
  return {
    'index.d.ts': `${header}\n\n${declarations.map((declaration) => declaration.trim()).join('\n\n')}\n`,
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [file, text] of Object.entries(await renderServiceTypes())) writeFileSync(`${SERVICE_TYPES_DIRECTORY}${file}`, text);
  console.log(`service-types: wrote ${SERVICE_TYPES_DIRECTORY}`);
}
