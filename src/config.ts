import { isIP, isIPv4 } from 'node:net';
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
  HOST: Type.String({
    minLength: 1,
    default: '0.0.0.0',
    description:
      'Address to bind: `0.0.0.0` listens on every IPv4 interface, `127.0.0.1` on this machine only. Without `API_KEYS`, an address beyond loopback logs a warning at start.',
  }),
  MODEL_PATH: Type.String({
    minLength: 1,
    default: BUNDLED_MODEL_PATH,
    description: 'The ONNX model file, with the `model_card.json` written with it beside it; its version is read from the file\'s own ONNX metadata. The default is resolved from the code\'s location, so it works from any working directory.',
  }),
  ALLOW_MODEL_WITHOUT_CARD: Type.Boolean({
    default: false,
    description: 'Serve a model that has no `model_card.json` beside it, with a warning (start-up log and `GET /model`): no hold-out metrics, no drift monitoring, nothing checks the file against what training released.',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info', description: 'pino log level. `info` has one line per request (every 4xx with its reason; every 5xx at `error` with its cause); `debug` adds the configuration (secrets redacted), model load details and a line per model run naming the requests it served.' },
  ),
  LOG_FORMAT: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')], {
    default: 'auto',
    description: '`json`: one JSON object per line; `pretty`: readable, coloured lines, each request on one line with its worker pid (as uvicorn prints it); `auto`: pretty when standard output is a terminal, else json.',
  }),
  PREDICTION_THRESHOLD: Probability('`churn_prediction` is true when the probability is at least this.', 0.5),
  HIGH_RISK_THRESHOLD: Probability('`risk_tier` is `HIGH` when the probability is at least this.', 0.7),
  MEDIUM_RISK_THRESHOLD: Probability('`risk_tier` is `MEDIUM` when the probability is at least this (and below `HIGH_RISK_THRESHOLD`).', 0.4),
  BATCH_MAX_SIZE: Type.Integer({ minimum: 1, maximum: 10_000, default: 100, description: 'Most customers in one `/predict/batch` request, and most rows in one Open Inference Protocol infer call; more get `422` (`400` from the Open Inference Protocol).' }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 100 * 1024 * 1024, default: 1024 * 1024, description: 'Largest request body accepted, in bytes (1 MiB by default); larger ones get `413`.' }),
  STRICT_TYPES: Type.Boolean({
    default: false,
    description:
      '`false`: the churn API converts values as FastAPI (pydantic v2 lax mode) does: `"2"` and `"70.7"` are numbers, `true` and `false` are 1 and 0, and `explain=1`, `yes` or `on` is true. `true`: only JSON numbers are numbers, and `explain` must be exactly `true` or `false`.',
  }),
  CORS_ORIGINS: Type.String({ minLength: 1, default: '*', description: 'Origins browsers may call the API from: `*` for any, or a comma-separated list.' }),
  CORS_MAX_AGE_SECONDS: Type.Integer({ minimum: 0, maximum: 86_400, default: 600, description: 'How long browsers may reuse a CORS preflight answer (`Access-Control-Max-Age`), so calls are not each preceded by one. 0 sends none.' }),
  INTRA_OP_THREADS: Type.Integer({ minimum: 1, maximum: 64, default: 1, description: 'onnxruntime intra-op threads per process.' }),
  MICRO_BATCHING: Type.Boolean({ default: true, description: 'Coalesce concurrent /predict calls into one model run.' }),
  MICRO_BATCH_MAX_ROWS: Type.Integer({ minimum: 1, maximum: 100_000, default: 256, description: 'Most rows in one coalesced model run; bounds how long one run blocks the event loop.' }),
  MICRO_BATCH_MAX_DELAY_MS: Type.Number({ minimum: 0, maximum: 1000, default: 0, description: 'Extra wait for more `/predict` calls before a run, in ms; 0 runs at the next turn of the event loop.' }),
  MICRO_BATCH_MULTI_ROW: Type.Boolean({ default: false, description: 'Send `/predict/batch` rows through the shared micro-batch queue too, instead of one model run per request (measured no faster, with a higher p99).' }),
  WORKERS: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 64 })], { default: 1, description: 'Worker processes sharing the port: a number, or `auto` for one per core. Signals go to the primary process, which forwards them.' }),
  MODEL_SNAPSHOT_DIR: Type.Optional(Type.String({ minLength: 1, description: 'Set by the cluster primary for its workers (leave it unset): the private directory where each model loaded from `MODEL_PATH` is copied, so a replacement worker loads what the others serve.' })),
  MODEL_SNAPSHOT_PATH: Type.Optional(Type.String({ minLength: 1, description: 'Set by the cluster primary for a worker it starts while others serve (leave it unset): the snapshot of their model, loaded at start instead of `MODEL_PATH`.' })),
  CHALLENGER_MODEL_PATH: Type.Optional(Type.String({ minLength: 1, description: 'A challenger model loaded beside the champion at start, with the same checks (card, hash, signature); it must differ from the champion in file and version. Change it at run time with `PUT`/`DELETE /admin/challenger` (see docs/rollout.md).' })),
  CHALLENGER_MODE: Type.Union([Type.Literal('shadow'), Type.Literal('canary')], {
    default: 'shadow',
    description: '`shadow`: the champion answers every caller and the challenger scores its share of the rows after the answer, for the prediction log only. `canary`: the challenger answers its share of the customers (sticky by `customer_id`) and the champion scores those rows after the answer.',
  }),
  CHALLENGER_SHARE: Type.Number({ minimum: 0, maximum: 1, default: 1, description: 'The challenger\'s share of the rows, by customer: a customer id whose sha256 falls below it goes to the challenger (a fresh draw per request without an id).' }),
  SHADOW_QUEUE_MAX_ROWS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Most rows waiting to be scored in shadow (by the challenger in shadow mode, by the champion in a canary); more are dropped and counted in `churn_shadow_rows_dropped_total`, and no answer waits for them.' }),
  MODEL_NAME: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', default: 'churn', expected: 'a name of 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit', description: 'Name the model is served and reported under: the metrics\' `model_name` label and the Open Inference Protocol\'s `/v2/models/<name>`.' }),
  DRAIN_DELAY_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 0, description: 'After `SIGTERM`, keep serving this long (readiness already `503`) while load balancers remove the instance.' }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600_000, default: 10_000, description: 'Once the listener has closed, open requests must finish within this, or the process exits 1.' }),
  HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000, description: 'A request whose headers have not all arrived after this gets `408`, and its connection is closed.' }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000, description: 'A request whose headers and body have not all arrived after this gets `408`, and its connection is closed.' }),
  KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 72_000, description: 'An idle keep-alive connection is closed after this (the default is above the 60 s idle timeout of common load balancers).' }),
  DRIFT_MONITORING: Type.Boolean({ default: true, description: 'Count every scored row against the training data, and check every row served for plausibility, for `GET /monitoring/drift`, the drift and plausibility metrics and their warnings.' }),
  DRIFT_WINDOW_ROWS: Type.Integer({ minimum: 100, maximum: 10_000_000, default: 10_000, description: 'Drift compares the last this many scored rows with the training data.' }),
  DRIFT_MIN_ROWS: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 1_000, description: 'No drift status, and no live bin shares in `GET /monitoring/drift`, until the window holds this many rows.' }),
  DRIFT_MODERATE_PSI: Type.Number({ minimum: 0, maximum: 10, default: 0.1, description: 'A feature whose PSI reaches this has drifted: `moderate`.' }),
  DRIFT_SIGNIFICANT_PSI: Type.Number({ minimum: 0, maximum: 10, default: 0.25, description: 'A feature whose PSI exceeds this has drifted: `significant`.' }),
  DRIFT_CHECK_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 10_000, description: 'How often drift statuses and plausibility alerts are checked, to log a warning when one changes.' }),
  PLAUSIBILITY_WINDOW_ROWS: Type.Integer({ minimum: 100, maximum: 1_000_000, default: 1_000, description: 'The plausibility checks (charges no billing history can add up to) are judged over the last this many rows served; needs `DRIFT_MONITORING`.' }),
  PLAUSIBILITY_ALERT_SHARE: Type.Number({ minimum: 0, maximum: 1, default: 0.01, description: 'A plausibility check alerts (a warning in the log, `alerting` in `GET /monitoring/drift`) when at least this share of its window fails it, and at least 10 rows.' }),
  IDLE_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 120_000, description: 'A connection on which nothing moves either way for this long (a client that stopped reading its answer, say) is closed.' }),
  API_KEYS: Type.Optional(
    Type.String({
      minLength: 16,
      secret: true,
      expected: 'a comma-separated list of keys of at least 16 characters each',
      description:
        'Keys callers must send (`Authorization: Bearer <key>` or `X-API-Key: <key>`) on every route but the probes, the docs and `/metrics`. Unset leaves every route open; a value of only commas or spaces stops the start rather than run open. List an old and a new key together to rotate them.',
    }),
  ),
  PROTECT_OPS: Type.Boolean({ default: false, description: 'Require an API key for `/metrics` too, as for every route but the probes and the docs.' }),
  RATE_LIMIT_PER_MINUTE: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'Requests per minute per API key, or per client address without a valid key, over every worker (and every replica with `RATE_LIMIT_REDIS_URL`). Unset turns rate limiting off.' })),
  RATE_LIMIT_REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://.+',
      secret: true,
      expected: 'a redis:// or rediss:// URL',
      description:
        'Redis that keeps the rate-limit counts, so every replica shares one limit. Unset keeps them in this server (the cluster primary with `WORKERS` > 1). When Redis does not answer, requests are served without a limit (fail open).',
    }),
  ),
  RATE_LIMIT_REDIS_PREFIX: Type.String({ minLength: 1, maxLength: 128, default: 'churn-service:rate-limit:', description: 'Prefix of the rate-limit keys in Redis: deployments that share one Redis need different prefixes.' }),
  TRUST_PROXY: Type.Optional(
    Type.String({
      minLength: 1,
      expected: '"true", "false", a hop count, or comma-separated IP addresses and CIDR ranges',
      description:
        'Which proxies may set `X-Forwarded-For` (the client address for rate limits and logs): `true` for any, `false` for none, a hop count, or comma-separated addresses and CIDR ranges (and `loopback`, `linklocal`, `uniquelocal`). Unset trusts none.',
    }),
  ),
  PREDICTION_LOG: Type.Boolean({
    default: true,
    description:
      'Record every prediction served (any protocol) in the prediction log: `DATABASE_URL` when set, else a SQLite file in `DATA_DIR`. Predictions never wait on it: a store that is down or unreachable (PostgreSQL) delays the records, not the answers. `false` records nothing and opens no database.',
  }),
  DATA_DIR: Type.String({
    minLength: 1,
    default: './data',
    description:
      'Directory for the embedded prediction log (`prediction-log.sqlite`), created at start; it must be writable, or the service does not start (the container image declares it a volume at `/app/data`). Unused when `DATABASE_URL` is set.',
  }),
  DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://.+',
      secret: true,
      expected: 'a postgres:// or postgresql:// URL',
      description:
        'PostgreSQL for the prediction log, shared by every replica (one log); unset keeps it in a SQLite file in `DATA_DIR`. The schema is created and migrated at start; when PostgreSQL cannot be reached, the service starts anyway and migrates in the background with back-off, records waiting in the buffer. A schema newer than this release knows stops the start when the database is reached then.',
    }),
  ),
  PREDICTION_LOG_MAX_BUFFERED: Type.Integer({
    minimum: 100,
    maximum: 1_000_000,
    default: 10_000,
    description:
      'Records the prediction log holds in memory, at most, while the store is slow, down or not connected yet (about 0.4 KB each, per worker); further records are dropped and counted in `churn_prediction_log_dropped_total`.',
  }),
  PREDICTION_LOG_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 36_500, default: 400, description: 'Predictions older than this many days are deleted from the prediction log, and the outcomes observed before the same cutoff (nothing left for them to label); checked every hour and when the store connects (at start, or later if PostgreSQL was unreachable then).' }),
  OUTCOME_HORIZON_DAYS: Type.Integer({
    minimum: 1,
    maximum: 3650,
    default: 90,
    description:
      'An outcome posted to `POST /outcomes` labels the latest prediction for its customer made before `observed_at`, only if that prediction was made at most this many days before it (an older one is too stale to be judged by what happened); the horizon of `GET /monitoring/performance` and `GET /monitoring/comparison`.',
  }),
  PERFORMANCE_THRESHOLDS: Type.Optional(
    Type.String({
      minLength: 1,
      expected: 'a comma-separated list of at most 20 probabilities between 0 and 1 (both excluded)',
      description:
        'Thresholds at which `GET /monitoring/performance` and the performance metrics report precision, recall and the share flagged (flagged: probability at least the threshold), and `GET /monitoring/comparison` the customers each model flags. Unset: `PREDICTION_THRESHOLD` and 0.8.',
    }),
  ),
  PERFORMANCE_REFRESH_INTERVAL_MS: Type.Integer({
    minimum: 0,
    maximum: 86_400_000,
    default: 300_000,
    description: 'How often the performance metrics are recomputed over the last 30 days of predictions and outcomes (one query of the prediction log each time); 0 sets them only when `GET /monitoring/performance` is asked for that window.',
  }),
  OTEL_SDK_DISABLED: Type.Boolean({ default: false, description: 'OpenTelemetry\'s switch: `true` turns tracing off whatever else is set.' }),
  OTEL_TRACES_EXPORTER: Type.Union([Type.Literal('otlp'), Type.Literal('none')], { default: 'otlp', description: 'How spans leave the process: `otlp` (over HTTP) or `none` (tracing off).' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(
    Type.String({ pattern: '^https?://', expected: 'an http:// or https:// URL', description: 'Base URL of the OTLP/HTTP receiver (a collector); spans go to `<URL>/v1/traces`. Tracing is off unless this or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (see docs/operations.md).' }),
  ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Type.Optional(
    Type.String({ pattern: '^https?://', expected: 'an http:// or https:// URL', description: 'Full URL spans are posted to, used as given; wins over `OTEL_EXPORTER_OTLP_ENDPOINT`.' }),
  ),
  OTEL_EXPORTER_OTLP_PROTOCOL: Type.Union([Type.Literal('http/protobuf'), Type.Literal('http/json')], { default: 'http/protobuf', description: 'OTLP encoding: `http/protobuf` or `http/json` (gRPC is not supported).' }),
  OTEL_EXPORTER_OTLP_HEADERS: Type.Optional(
    Type.String({ pattern: '^\\s*[^=,\\s]+\\s*=[^,]*(,\\s*[^=,\\s]+\\s*=[^,]*)*$', secret: true, expected: 'comma-separated key=value pairs', description: 'Headers sent with every export, as `key=value,key2=value2` (an API key of the receiver, say).' }),
  ),
  OTEL_SERVICE_NAME: Type.String({ minLength: 1, default: 'churn-service', description: 'The `service.name` of every span.' }),
  OTEL_TRACES_SAMPLER: Type.Union(
    ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'].map((sampler) => Type.Literal(sampler)),
    { default: 'parentbased_always_on', description: 'Which traces are recorded: a `parentbased_*` sampler follows the caller\'s `traceparent` decision and applies the rest to traces that start here; `traceidratio` keeps `OTEL_TRACES_SAMPLER_ARG` of them.' },
  ),
  OTEL_TRACES_SAMPLER_ARG: Probability('The share of traces kept by the `traceidratio` samplers (0.01 keeps 1 %).', 1),
  OTEL_BSP_SCHEDULE_DELAY: Type.Integer({ minimum: 1, maximum: 600_000, default: 5_000, description: 'Finished spans are exported at least this often, in ms.' }),
  OTEL_BSP_MAX_QUEUE_SIZE: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 2_048, description: 'Most finished spans waiting for export; more are dropped and counted in `churn_trace_spans_dropped_total`.' }),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 512, description: 'Most spans in one export; must not exceed `OTEL_BSP_MAX_QUEUE_SIZE`.' }),
  OTEL_BSP_EXPORT_TIMEOUT: Type.Integer({ minimum: 1, maximum: 600_000, default: 30_000, description: 'An export that has not finished after this many ms is abandoned, its spans counted as dropped.' }),
  ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 16, secret: true, expected: 'a string of at least 16 characters', description: 'Bearer token for `POST /admin/reload`, `PUT`/`DELETE /admin/challenger` and `POST /admin/challenger/promote`; the `/admin` routes do not exist when it is unset.' })),
});
export type Config = Static<typeof ConfigSchema>;
export type ConfigName = keyof Config;

/** Every variable with its default (or "unset") and description, for --help and the docs. */
export function describeVariables(): { name: ConfigName; default: string; description: string }[] {
  return (Object.entries(ConfigSchema.properties) as [ConfigName, { default?: unknown; description?: string }][]).map(([name, schema]) => ({
    name,
    default: schema.default === undefined ? 'unset' : name === 'MODEL_PATH' ? 'models/churn_model.onnx (bundled)' : String(schema.default),
    description: schema.description ?? '',
  }));
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Old names that still work, each with a one-line deprecation warning. */
export const RENAMED: Partial<Record<string, ConfigName>> = { BATCH_MAX_DELAY_MS: 'MICRO_BATCH_MAX_DELAY_MS' };

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

export interface RuleSchema {
  type?: string;
  /** How the rule reads in an error message, where the schema alone would say it badly. */
  expected?: string;
  /** Never echo the value: it is a credential. */
  secret?: boolean;
  const?: unknown;
  minimum?: number;
  maximum?: number;
  anyOf?: RuleSchema[];
}

/** Plain digits only: `1e3`, `8000.0`, `0x1F` and `+1` are typos more often than intent. */
const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

const BOOLEAN: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, on: true, off: false };

function accepts(schema: RuleSchema, types: string[]): boolean {
  return types.includes(schema.type ?? '') || (schema.anyOf ?? []).some((option) => types.includes(option.type ?? ''));
}

/** Strict on purpose: TypeBox's Value.Convert would truncate "1.5" to a valid integer port. */
function parseValues(raw: Record<string, string>): Record<string, string | number | boolean> {
  const parsed: Record<string, string | number | boolean> = { ...raw };
  for (const [name, value] of Object.entries(raw)) {
    const schema = ConfigSchema.properties[name as ConfigName] as RuleSchema;
    const numeric = accepts(schema, ['integer']) ? INTEGER.test(value) : accepts(schema, ['number']) && DECIMAL.test(value);
    if (numeric) parsed[name] = Number(value);
    else if (accepts(schema, ['boolean']) && value.toLowerCase() in BOOLEAN) parsed[name] = BOOLEAN[value.toLowerCase()]!;
  }
  return parsed;
}

/** A variable's rule in words, as the error messages and the configuration docs say it. */
export function describeRule(schema: RuleSchema): string {
  if (schema.expected) return schema.expected;
  if (schema.anyOf) return schema.anyOf.map(describeRule).join(' or ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const kinds: Record<string, string> = { integer: 'an integer', number: 'a number', boolean: 'true or false', string: 'a non-empty string' };
  const bounds = schema.minimum !== undefined && schema.maximum !== undefined ? ` from ${schema.minimum} to ${schema.maximum}` : '';
  return `${kinds[schema.type ?? 'string']}${bounds}`;
}

/** The names proxy-addr (Fastify's trustProxy) expands to address ranges. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An IPv4 netmask such as 255.255.0.0 as its prefix length; undefined when its ones are not contiguous. */
function netmaskPrefix(mask: string): number | undefined {
  const bits = mask.split('.').map((octet) => Number(octet).toString(2).padStart(8, '0')).join('');
  return /^1*0*$/.test(bits) ? bits.replace(/0+$/, '').length : undefined;
}

/**
 * Whether proxy-addr, which Fastify hands TRUST_PROXY's entries to, takes `entry`: it throws on
 * anything else when the app is built, and a stack trace names no variable.
 */
function isProxyEntry(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const slash = entry.lastIndexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash === -1) return true;
  const range = entry.slice(slash + 1);
  const longest = family === 4 ? 32 : 128;
  const prefix = /^\d+$/.test(range) ? Number(range) : family === 4 && isIPv4(range) ? netmaskPrefix(range) : undefined;
  return prefix !== undefined && prefix >= 1 && prefix <= longest;
}

/** TRUST_PROXY's value as a list of proxies, or undefined when it is a keyword or a hop count. */
function proxyList(value: string): string[] | undefined {
  if (/^(true|false)$/i.test(value) || /^\d+$/.test(value)) return undefined;
  return value.split(',').map((entry) => entry.trim());
}

/** At most this many performance thresholds: each is a label value of several metrics. */
const MAX_PERFORMANCE_THRESHOLDS = 20;
const THRESHOLD = /^(0?\.\d+|0)$/;

function thresholdEntries(value: string): string[] {
  return value.split(',').map((entry) => entry.trim());
}

/** What is wrong with a PERFORMANCE_THRESHOLDS value, or undefined when nothing is. */
function thresholdProblem(value: string): string | undefined {
  const entries = thresholdEntries(value);
  const wrong = entries.filter((entry) => !THRESHOLD.test(entry) || !(Number(entry) > 0 && Number(entry) < 1));
  if (wrong.length > 0) return `not a probability strictly between 0 and 1: ${wrong.map((entry) => JSON.stringify(entry)).join(', ')}`;
  if (entries.length > MAX_PERFORMANCE_THRESHOLDS) return `${entries.length} thresholds`;
  return undefined;
}

/**
 * Rules on one variable that its schema cannot say, each a problem in the schema's words or
 * undefined. `raw` is the environment as given, before empty values count as unset.
 */
const VALUE_CHECKS: ((config: Config, raw: Record<string, string | undefined>) => string | undefined)[] = [
  (config) => {
    const wrong = config.PERFORMANCE_THRESHOLDS === undefined ? undefined : thresholdProblem(config.PERFORMANCE_THRESHOLDS);
    if (wrong === undefined) return undefined;
    const rule = describeRule(ConfigSchema.properties.PERFORMANCE_THRESHOLDS as RuleSchema);
    return `PERFORMANCE_THRESHOLDS must be ${rule}, got ${JSON.stringify(config.PERFORMANCE_THRESHOLDS)} (${wrong})`;
  },
  // Commas and spaces alone would pass as "set" while leaving every route open.
  (config, raw) =>
    raw.API_KEYS !== undefined && raw.API_KEYS !== '' && apiKeys(config).length === 0
      ? 'API_KEYS holds no key, only commas or spaces: set at least one key of 16 characters or more, or unset API_KEYS to run without keys'
      : undefined,
  (config) => {
    const proxies = config.TRUST_PROXY === undefined ? undefined : proxyList(config.TRUST_PROXY);
    const wrong = proxies?.filter((entry) => !isProxyEntry(entry));
    if (!wrong?.length) return undefined;
    const rule = describeRule(ConfigSchema.properties.TRUST_PROXY as RuleSchema);
    return `TRUST_PROXY must be ${rule}, got ${JSON.stringify(config.TRUST_PROXY)} (not an address or a range: ${wrong.map((entry) => JSON.stringify(entry)).join(', ')})`;
  },
];

/** Rules between variables, each with the message that names both. */
export const CROSS_CHECKS: [describe: (config: Config) => string, holds: (config: Config) => boolean][] = [
  [
    (c) => `MEDIUM_RISK_THRESHOLD (${c.MEDIUM_RISK_THRESHOLD}) must not exceed HIGH_RISK_THRESHOLD (${c.HIGH_RISK_THRESHOLD})`,
    (c) => c.MEDIUM_RISK_THRESHOLD <= c.HIGH_RISK_THRESHOLD,
  ],
  // Node times out a slow body only when the headers' limit is no longer than the request's.
  [
    (c) => `HEADERS_TIMEOUT_MS (${c.HEADERS_TIMEOUT_MS}) must not exceed REQUEST_TIMEOUT_MS (${c.REQUEST_TIMEOUT_MS})`,
    (c) => c.HEADERS_TIMEOUT_MS <= c.REQUEST_TIMEOUT_MS,
  ],
  [
    (c) => `KEEP_ALIVE_TIMEOUT_MS (${c.KEEP_ALIVE_TIMEOUT_MS}) must be less than IDLE_TIMEOUT_MS (${c.IDLE_TIMEOUT_MS})`,
    (c) => c.KEEP_ALIVE_TIMEOUT_MS < c.IDLE_TIMEOUT_MS,
  ],
  [
    (c) => `DRIFT_MIN_ROWS (${c.DRIFT_MIN_ROWS}) must not exceed DRIFT_WINDOW_ROWS (${c.DRIFT_WINDOW_ROWS})`,
    (c) => c.DRIFT_MIN_ROWS <= c.DRIFT_WINDOW_ROWS,
  ],
  [
    (c) => `DRIFT_MODERATE_PSI (${c.DRIFT_MODERATE_PSI}) must be less than DRIFT_SIGNIFICANT_PSI (${c.DRIFT_SIGNIFICANT_PSI})`,
    (c) => c.DRIFT_MODERATE_PSI < c.DRIFT_SIGNIFICANT_PSI,
  ],
  [() => 'every key in API_KEYS must be at least 16 characters', (c) => apiKeys(c).every((key) => key.length >= 16)],
  // A slow client is cut off before the drain deadline, so it can never hold a shutdown.
  [
    (c) => `REQUEST_TIMEOUT_MS (${c.REQUEST_TIMEOUT_MS}) must be less than SHUTDOWN_TIMEOUT_MS (${c.SHUTDOWN_TIMEOUT_MS})`,
    (c) => c.REQUEST_TIMEOUT_MS < c.SHUTDOWN_TIMEOUT_MS,
  ],
  [
    (c) => `OTEL_BSP_MAX_EXPORT_BATCH_SIZE (${c.OTEL_BSP_MAX_EXPORT_BATCH_SIZE}) must not exceed OTEL_BSP_MAX_QUEUE_SIZE (${c.OTEL_BSP_MAX_QUEUE_SIZE})`,
    (c) => c.OTEL_BSP_MAX_EXPORT_BATCH_SIZE <= c.OTEL_BSP_MAX_QUEUE_SIZE,
  ],
];

export interface LoadedConfig {
  config: Config;
  /** One line each, for the start-up log: deprecated names in use. */
  warnings: string[];
}

/**
 * Reads, converts and validates the environment once; throws a ConfigError naming the variable.
 * `overrides` (the command line's flags, by variable name) win over the environment.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env, overrides: Record<string, string> = {}): LoadedConfig {
  const given = { ...env, ...overrides };
  const { values: raw, setAs, warnings } = pickDefined(given);
  const candidate = Value.Default(ConfigSchema, parseValues(raw));
  const problems = [...Value.Errors(ConfigSchema, candidate)].map((error) => {
    const name = error.path.replace(/^\//, '').split('/')[0] as ConfigName;
    const rule = describeRule(ConfigSchema.properties[name] as RuleSchema);
    const variable = setAs[name] ? `${setAs[name]} (now ${name})` : name;
    const value = (ConfigSchema.properties[name] as RuleSchema).secret ? `a value of ${raw[name]?.length} characters` : JSON.stringify(raw[name]);
    return `${variable} must be ${rule}, got ${value}`;
  });
  const unique = [...new Set(problems)];
  if (unique.length > 0) throw new ConfigError(`Invalid environment: ${unique.join('; ')}.`);
  const config = candidate as Config;
  const wrong = VALUE_CHECKS.map((check) => check(config, given)).filter((problem) => problem !== undefined);
  if (wrong.length > 0) throw new ConfigError(`Invalid environment: ${wrong.join('; ')}.`);
  const broken = CROSS_CHECKS.filter(([, holds]) => !holds(config)).map(([describe]) => describe(config));
  if (broken.length > 0) throw new ConfigError(`Invalid environment: ${broken.join('; ')}.`);
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

/** Fastify's trustProxy from TRUST_PROXY: unset or "false" trusts no proxy; a number trusts that many hops. */
export function trustProxy(config: Config): boolean | string | ((address: string, hop: number) => boolean) {
  const value = config.TRUST_PROXY;
  if (value === undefined || value.toLowerCase() === 'false') return false;
  if (value.toLowerCase() === 'true') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return value;
}

/** The keys in API_KEYS; none when it is unset. Listing old and new keys together rotates them. */
export function apiKeys(config: Config): string[] {
  return (config.API_KEYS ?? '').split(',').map((key) => key.trim()).filter(Boolean);
}

/**
 * The thresholds the performance report measures at, ascending and without repeats: PERFORMANCE_THRESHOLDS,
 * or the churn API's own (PREDICTION_THRESHOLD) and 0.8 when it is unset.
 */
export function performanceThresholds(config: Config): number[] {
  const given = config.PERFORMANCE_THRESHOLDS === undefined ? [config.PREDICTION_THRESHOLD, 0.8] : thresholdEntries(config.PERFORMANCE_THRESHOLDS).map(Number);
  return [...new Set(given)].sort((a, b) => a - b);
}

export function corsOrigins(config: Config): string | string[] {
  const origins = config.CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean);
  return origins.length === 1 && origins[0] === '*' ? '*' : origins;
}

/**
 * Where spans are posted, or undefined when tracing is off. Off unless an OTLP endpoint is set
 * (the specification's default of localhost:4318 would have every instance export to nothing), and
 * off with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, as the specification says.
 */
export function otlpTracesUrl(config: Config): string | undefined {
  if (config.OTEL_SDK_DISABLED || config.OTEL_TRACES_EXPORTER === 'none') return undefined;
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT === undefined) return undefined;
  return `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
}

/** OTEL_EXPORTER_OTLP_HEADERS as a header object; values may be percent-encoded, as the specification allows. */
export function otlpHeaders(config: Config): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (config.OTEL_EXPORTER_OTLP_HEADERS ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const value = pair.slice(at + 1).trim();
    try {
      headers[pair.slice(0, at).trim()] = decodeURIComponent(value);
    } catch {
      headers[pair.slice(0, at).trim()] = value; // a lone "%" is meant literally
    }
  }
  return headers;
}
