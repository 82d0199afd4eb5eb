import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** Resolved from this file so `npm start` serves the bundled model from any working directory. */
const BUNDLED_MODEL_PATH = fileURLToPath(new URL('../models/churn_model.onnx', import.meta.url));

const Probability = (description: string, defaultValue: number) =>
  Type.Number({ minimum: 0, maximum: 1, default: defaultValue, description });

/**
 * Every environment variable the service reads. This file is the only one that touches
 * `process.env`; the rest of the code receives a validated `Config`.
 */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8000, description: 'TCP port to listen on.' }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Address to bind.' }),
  MODEL_PATH: Type.String({
    minLength: 1,
    default: BUNDLED_MODEL_PATH,
    description: 'ONNX model file; its version is read from model_version.txt beside it.',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info', description: 'pino log level.' },
  ),
  PREDICTION_THRESHOLD: Probability('churn_prediction is true when the probability is at least this.', 0.5),
  HIGH_RISK_THRESHOLD: Probability('risk_tier is HIGH when the probability is at least this.', 0.7),
  MEDIUM_RISK_THRESHOLD: Probability('risk_tier is MEDIUM when the probability is at least this (and below HIGH).', 0.4),
  BATCH_MAX_SIZE: Type.Integer({ minimum: 1, maximum: 10_000, default: 100, description: 'Most customers in one /predict/batch request.' }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 100 * 1024 * 1024, default: 1024 * 1024, description: 'Largest request body accepted; larger ones get 413.' }),
  CORS_ORIGINS: Type.String({ minLength: 1, default: '*', description: 'Allowed CORS origins: "*" or a comma-separated list.' }),
  INTRA_OP_THREADS: Type.Integer({ minimum: 1, maximum: 64, default: 1, description: 'onnxruntime intra-op threads per process.' }),
  MICRO_BATCHING: Type.Boolean({ default: true, description: 'Coalesce concurrent /predict calls into one model run.' }),
  MICRO_BATCH_MAX_ROWS: Type.Integer({ minimum: 1, maximum: 100_000, default: 256, description: 'Most rows in one coalesced model run; bounds how long one run blocks the event loop.' }),
  MICRO_BATCH_MAX_DELAY_MS: Type.Number({ minimum: 0, maximum: 1000, default: 0, description: 'Extra wait for more /predict calls before a run, in ms; 0 runs at the next turn of the event loop.' }),
  MICRO_BATCH_MULTI_ROW: Type.Boolean({ default: false, description: 'Send /predict/batch rows through the shared micro-batch queue too, instead of one model run per request.' }),
  WORKERS: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 64 })], { default: 1, description: 'Worker processes sharing the port: a number, or "auto" for one per core.' }),
});
export type Config = Static<typeof ConfigSchema>;
export type ConfigName = keyof Config;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Old names that still work, each with a one-line deprecation warning. */
const RENAMED: Partial<Record<string, ConfigName>> = { BATCH_MAX_DELAY_MS: 'MICRO_BATCH_MAX_DELAY_MS' };

interface PickedEnv {
  values: Record<string, string>;
  /** The variable each value came from, when it was set under an old name. */
  setAs: Record<string, string>;
  warnings: string[];
}

/** Empty variables count as unset, so `PORT=` in a compose file means the default. */
function pickDefined(env: NodeJS.ProcessEnv): PickedEnv {
  const defined = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const picked: PickedEnv = { values: {}, setAs: {}, warnings: [] };
  for (const name of Object.keys(ConfigSchema.properties)) {
    const value = defined(name);
    if (value !== undefined) picked.values[name] = value;
  }
  for (const [oldName, newName] of Object.entries(RENAMED) as [string, ConfigName][]) {
    const value = defined(oldName);
    if (value === undefined) continue;
    if (newName in picked.values) {
      picked.warnings.push(`${oldName} is deprecated and ignored because ${newName} is set.`);
    } else {
      picked.values[newName] = value;
      picked.setAs[newName] = oldName;
      picked.warnings.push(`${oldName} is deprecated; use ${newName}.`);
    }
  }
  return picked;
}

interface RuleSchema {
  type?: string;
  const?: unknown;
  minimum?: number;
  maximum?: number;
  anyOf?: RuleSchema[];
}

const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

const BOOLEAN: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, on: true, off: false };

function accepts(schema: RuleSchema, types: string[]): boolean {
  return types.includes(schema.type ?? '') || (schema.anyOf ?? []).some((option) => types.includes(option.type ?? ''));
}

/** Strict on purpose: TypeBox's Value.Convert would truncate "1.5" to a valid integer port. */
function parseValues(raw: Record<string, string>): Record<string, string | number | boolean> {
  const parsed: Record<string, string | number | boolean> = { ...raw };
  for (const [name, value] of Object.entries(raw)) {
    const schema = ConfigSchema.properties[name as ConfigName] as RuleSchema;
    if (accepts(schema, ['number', 'integer']) && NUMERIC.test(value)) parsed[name] = Number(value);
    else if (accepts(schema, ['boolean']) && value.toLowerCase() in BOOLEAN) parsed[name] = BOOLEAN[value.toLowerCase()]!;
  }
  return parsed;
}

function describeRule(schema: RuleSchema): string {
  if (schema.anyOf) return schema.anyOf.map(describeRule).join(' or ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const kinds: Record<string, string> = { integer: 'an integer', number: 'a number', boolean: 'true or false', string: 'a non-empty string' };
  const bounds = schema.minimum !== undefined && schema.maximum !== undefined ? ` from ${schema.minimum} to ${schema.maximum}` : '';
  return `${kinds[schema.type ?? 'string']}${bounds}`;
}

export interface LoadedConfig {
  config: Config;
  /** One line each, for the start-up log: deprecated names in use. */
  warnings: string[];
}

/** Reads, converts and validates the environment once; throws a ConfigError naming the variable. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const { values: raw, setAs, warnings } = pickDefined(env);
  const candidate = Value.Default(ConfigSchema, parseValues(raw));
  const problems = [...Value.Errors(ConfigSchema, candidate)].map((error) => {
    const name = error.path.replace(/^\//, '').split('/')[0] as ConfigName;
    const rule = describeRule(ConfigSchema.properties[name] as RuleSchema);
    const variable = setAs[name] ? `${setAs[name]} (now ${name})` : name;
    return `${variable} must be ${rule}, got ${JSON.stringify(raw[name])}`;
  });
  const unique = [...new Set(problems)];
  if (unique.length > 0) throw new ConfigError(`Invalid environment: ${unique.join('; ')}.`);
  const config = candidate as Config;
  if (config.MEDIUM_RISK_THRESHOLD > config.HIGH_RISK_THRESHOLD) {
    throw new ConfigError(
      `Invalid environment: MEDIUM_RISK_THRESHOLD (${config.MEDIUM_RISK_THRESHOLD}) must not exceed HIGH_RISK_THRESHOLD (${config.HIGH_RISK_THRESHOLD}).`,
    );
  }
  return { config, warnings };
}

/** The validated configuration alone, for callers that log no warnings (tests, tools). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return readConfig(env).config;
}

/** Worker processes to run: "auto" means one per core. */
export function workerCount(config: Config, cores: number): number {
  return config.WORKERS === 'auto' ? cores : config.WORKERS;
}

export function corsOrigins(config: Config): string | string[] {
  const origins = config.CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean);
  return origins.length === 1 && origins[0] === '*' ? '*' : origins;
}
