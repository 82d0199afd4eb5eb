import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { apiKeys, ConfigError, ConfigSchema, corsOrigins, describeVariables, loadConfig, performanceThresholds, readConfig, trustProxy, workerCount } from '../../src/config.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 8000,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      PREDICTION_THRESHOLD: 0.5,
      HIGH_RISK_THRESHOLD: 0.7,
      MEDIUM_RISK_THRESHOLD: 0.4,
      BATCH_MAX_SIZE: 100,
      BODY_LIMIT_BYTES: 1048576,
      CORS_ORIGINS: '*',
      INTRA_OP_THREADS: 1,
      MICRO_BATCHING: true,
      MICRO_BATCH_MAX_ROWS: 256,
      MICRO_BATCH_MAX_DELAY_MS: 0,
      MICRO_BATCH_MULTI_ROW: false,
      WORKERS: 1,
      MODEL_NAME: 'churn',
      DRAIN_DELAY_MS: 0,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      HEADERS_TIMEOUT_MS: 5_000,
      REQUEST_TIMEOUT_MS: 5_000,
      KEEP_ALIVE_TIMEOUT_MS: 72_000,
    });
    expect(config.ADMIN_TOKEN).toBeUndefined();
    expect(config.MODEL_PATH).toMatch(/models\/churn_model\.onnx$/);
  });

  it('converts values as FastAPI does unless STRICT_TYPES is set', () => {
    expect(loadConfig({}).STRICT_TYPES).toBe(false);
    expect(loadConfig({ STRICT_TYPES: 'true' }).STRICT_TYPES).toBe(true);
    expect(loadConfig({ STRICT_TYPES: 'off' }).STRICT_TYPES).toBe(false);
    expect(() => loadConfig({ STRICT_TYPES: 'strict' })).toThrowError(new ConfigError('Invalid environment: STRICT_TYPES must be true or false, got "strict".'));
  });

  it('converts numbers and treats empty variables as unset', () => {
    const config = loadConfig({ PORT: '9000', HIGH_RISK_THRESHOLD: '0.8', BATCH_MAX_SIZE: '', LOG_LEVEL: 'debug' });
    expect(config.PORT).toBe(9000);
    expect(config.HIGH_RISK_THRESHOLD).toBe(0.8);
    expect(config.BATCH_MAX_SIZE).toBe(100);
    expect(config.LOG_LEVEL).toBe('debug');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '1.5'],
    ['PORT', '70000'],
    ['PORT', '8000abc'],
    ['PORT', '1e3'],
    ['PORT', '8000.0'],
    ['PORT', '+80'],
    ['PORT', '0x1F'],
    ['PORT', '80 80'],
    ['PREDICTION_THRESHOLD', '5e-1'],
    ['PREDICTION_THRESHOLD', '.5'],
    ['PREDICTION_THRESHOLD', '0.5.1'],
    ['DRAIN_DELAY_MS', '-1'],
    ['DRAIN_DELAY_MS', '1.5'],
    ['SHUTDOWN_TIMEOUT_MS', '999'],
    ['HEADERS_TIMEOUT_MS', '99'],
    ['REQUEST_TIMEOUT_MS', 'soon'],
    ['KEEP_ALIVE_TIMEOUT_MS', '600001'],
    ['LOG_LEVEL', 'loud'],
    ['PREDICTION_THRESHOLD', '2'],
    ['HIGH_RISK_THRESHOLD', '-0.1'],
    ['BATCH_MAX_SIZE', '0'],
    ['BODY_LIMIT_BYTES', 'lots'],
    ['INTRA_OP_THREADS', '0'],
    ['MICRO_BATCHING', 'maybe'],
    ['MICRO_BATCH_MAX_ROWS', '0'],
    ['MICRO_BATCH_MAX_DELAY_MS', '-1'],
    ['MICRO_BATCH_MULTI_ROW', 'sometimes'],
    ['WORKERS', '0'],
    ['WORKERS', 'many'],
  ])('rejects %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrowError(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrowError(`${name} must be `);
    expect(() => loadConfig({ [name]: value })).toThrowError(`, got "${value}"`);
  });

  it('reads booleans and worker counts', () => {
    expect(loadConfig({ MICRO_BATCHING: 'false' }).MICRO_BATCHING).toBe(false);
    expect(loadConfig({ MICRO_BATCHING: 'off' }).MICRO_BATCHING).toBe(false);
    expect(workerCount(loadConfig({ WORKERS: 'auto' }), 2)).toBe(2);
    expect(workerCount(loadConfig({ WORKERS: '3' }), 2)).toBe(3);
    expect(() => loadConfig({ WORKERS: 'many' })).toThrowError('WORKERS must be "auto" or an integer from 1 to 64, got "many"');
  });

  it('rejects a medium-risk threshold above the high-risk one', () => {
    expect(() => loadConfig({ MEDIUM_RISK_THRESHOLD: '0.9' })).toThrowError(/MEDIUM_RISK_THRESHOLD \(0.9\) must not exceed HIGH_RISK_THRESHOLD \(0.7\)/);
  });

  it('splits CORS origins into a list unless it is the wildcard', () => {
    expect(corsOrigins(loadConfig({}))).toBe('*');
    expect(corsOrigins(loadConfig({ CORS_ORIGINS: 'https://a.example, https://b.example' }))).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
  });

  it('takes the old name BATCH_MAX_DELAY_MS with a one-line deprecation warning', () => {
    expect(readConfig({ BATCH_MAX_DELAY_MS: '5' })).toEqual({
      config: expect.objectContaining({ MICRO_BATCH_MAX_DELAY_MS: 5 }),
      warnings: ['BATCH_MAX_DELAY_MS is deprecated; use MICRO_BATCH_MAX_DELAY_MS.'],
    });
    expect(readConfig({ MICRO_BATCH_MAX_DELAY_MS: '2' }).warnings).toEqual([]);
  });

  it('prefers the new name when both are set, and says the old one is ignored', () => {
    expect(readConfig({ BATCH_MAX_DELAY_MS: '5', MICRO_BATCH_MAX_DELAY_MS: '2' })).toEqual({
      config: expect.objectContaining({ MICRO_BATCH_MAX_DELAY_MS: 2 }),
      warnings: ['BATCH_MAX_DELAY_MS is deprecated and ignored because MICRO_BATCH_MAX_DELAY_MS is set.'],
    });
  });

  it('names the old variable when its value is invalid', () => {
    expect(() => loadConfig({ BATCH_MAX_DELAY_MS: '-1' })).toThrowError(
      'Invalid environment: BATCH_MAX_DELAY_MS (now MICRO_BATCH_MAX_DELAY_MS) must be a number from 0 to 1000, got "-1".',
    );
  });

  it('reads plain decimals and negative numbers, so a negative value gets a range message', () => {
    expect(loadConfig({ PREDICTION_THRESHOLD: '0.25', MICRO_BATCH_MAX_DELAY_MS: '2.5', PORT: '0' })).toMatchObject({ PREDICTION_THRESHOLD: 0.25, MICRO_BATCH_MAX_DELAY_MS: 2.5, PORT: 0 });
    expect(() => loadConfig({ PORT: '-1' })).toThrowError('PORT must be an integer from 0 to 65535, got "-1"');
  });

  it('checks the model name', () => {
    expect(loadConfig({ MODEL_NAME: 'churn-v2.1_eu' }).MODEL_NAME).toBe('churn-v2.1_eu');
    expect(() => loadConfig({ MODEL_NAME: '../etc' })).toThrowError(
      'MODEL_NAME must be a name of 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit, got "../etc"',
    );
  });

  it('never echoes a bad ADMIN_TOKEN', () => {
    expect(loadConfig({ ADMIN_TOKEN: 'a'.repeat(16) }).ADMIN_TOKEN).toBe('a'.repeat(16));
    const attempt = () => loadConfig({ ADMIN_TOKEN: 'hunter2' });
    expect(attempt).toThrowError('Invalid environment: ADMIN_TOKEN must be a string of at least 16 characters, got a value of 7 characters.');
    expect(attempt).not.toThrowError(/hunter2/);
  });

  it.each([
    [{ HEADERS_TIMEOUT_MS: '6000' }, 'HEADERS_TIMEOUT_MS (6000) must not exceed REQUEST_TIMEOUT_MS (5000)'],
    [{ REQUEST_TIMEOUT_MS: '10000', SHUTDOWN_TIMEOUT_MS: '10000' }, 'REQUEST_TIMEOUT_MS (10000) must be less than SHUTDOWN_TIMEOUT_MS (10000)'],
  ])('checks the timeouts against each other: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrowError(`Invalid environment: ${message}.`);
  });

  it('reports every broken rule between variables at once', () => {
    expect(() => loadConfig({ MEDIUM_RISK_THRESHOLD: '0.9', HEADERS_TIMEOUT_MS: '6000' })).toThrowError(
      'Invalid environment: MEDIUM_RISK_THRESHOLD (0.9) must not exceed HIGH_RISK_THRESHOLD (0.7); HEADERS_TIMEOUT_MS (6000) must not exceed REQUEST_TIMEOUT_MS (5000).',
    );
  });

  it('trims values, so padding around a number or a boolean is no error, and blanks count as unset', () => {
    expect(loadConfig({ PORT: ' 9000 ', MICRO_BATCHING: ' off\n', BATCH_MAX_SIZE: '   ' })).toMatchObject({ PORT: 9000, MICRO_BATCHING: false, BATCH_MAX_SIZE: 100 });
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['on', true],
    ['On', true],
    ['false', false],
    ['False', false],
    ['0', false],
    ['off', false],
    ['OFF', false],
  ])('reads the boolean %s as %s', (value, expected) => {
    expect(loadConfig({ MICRO_BATCH_MULTI_ROW: value, PROTECT_OPS: value, DRIFT_MONITORING: value })).toMatchObject({
      MICRO_BATCH_MULTI_ROW: expected,
      PROTECT_OPS: expected,
      DRIFT_MONITORING: expected,
    });
  });

  it.each([
    ['MICRO_BATCHING', 'yes', 'MICRO_BATCHING must be true or false, got "yes"'],
    ['MICRO_BATCHING', '2', 'MICRO_BATCHING must be true or false, got "2"'],
    ['INTRA_OP_THREADS', '65', 'INTRA_OP_THREADS must be an integer from 1 to 64, got "65"'],
    ['HIGH_RISK_THRESHOLD', 'high', 'HIGH_RISK_THRESHOLD must be a number from 0 to 1, got "high"'],
    ['LOG_FORMAT', 'xml', 'LOG_FORMAT must be "auto" or "json" or "pretty", got "xml"'],
    ['WORKERS', 'many', 'WORKERS must be "auto" or an integer from 1 to 64, got "many"'],
    ['API_KEYS', 'short', 'API_KEYS must be a comma-separated list of keys of at least 16 characters each, got a value of 5 characters'],
  ])('says once, in words, what %s=%s should be', (name, value, problem) => {
    expect(() => loadConfig({ [name]: value })).toThrowError(new ConfigError(`Invalid environment: ${problem}.`));
  });

  it('names every invalid variable in one message', () => {
    expect(() => loadConfig({ PORT: 'x', MICRO_BATCHING: 'maybe' })).toThrowError(
      new ConfigError('Invalid environment: PORT must be an integer from 0 to 65535, got "x"; MICRO_BATCHING must be true or false, got "maybe".'),
    );
  });

  it.each([
    ['seventeen commas', ','.repeat(17)],
    ['sixteen spaces', ' '.repeat(16)],
    ['commas and spaces', ' ,'.repeat(10)],
  ])('refuses API_KEYS that holds no key (%s) instead of leaving every route open', (_what, value) => {
    expect(() => loadConfig({ API_KEYS: value })).toThrowError(
      new ConfigError(
        'Invalid environment: API_KEYS holds no key, only commas or spaces: set at least one key of 16 characters or more, or unset API_KEYS to run without keys.',
      ),
    );
  });

  it('still reads an empty API_KEYS as unset, like every other variable', () => {
    expect(loadConfig({ API_KEYS: '' }).API_KEYS).toBeUndefined();
  });

  it('measures performance at PREDICTION_THRESHOLD and 0.8 unless PERFORMANCE_THRESHOLDS says otherwise, ascending, once each', () => {
    expect(performanceThresholds(loadConfig({}))).toEqual([0.5, 0.8]);
    expect(performanceThresholds(loadConfig({ PREDICTION_THRESHOLD: '0.8' }))).toEqual([0.8]);
    expect(performanceThresholds(loadConfig({ PREDICTION_THRESHOLD: '0.9' }))).toEqual([0.8, 0.9]);
    expect(performanceThresholds(loadConfig({ PERFORMANCE_THRESHOLDS: '0.7, .25,0.7' }))).toEqual([0.25, 0.7]);
  });

  const PERFORMANCE_RULE = 'PERFORMANCE_THRESHOLDS must be a comma-separated list of at most 20 probabilities between 0 and 1 (both excluded)';
  it.each([
    ['0.5, 1', 'not a probability strictly between 0 and 1: "1"'],
    ['0, 0.5', 'not a probability strictly between 0 and 1: "0"'],
    ['0.5,,0.8', 'not a probability strictly between 0 and 1: ""'],
    ['0.5, 8e-1, high', 'not a probability strictly between 0 and 1: "8e-1", "high"'],
    [Array.from({ length: 21 }, (_, index) => ((index + 1) / 100).toFixed(2)).join(','), '21 thresholds'],
  ])('refuses PERFORMANCE_THRESHOLDS=%s, saying which entry', (value, wrong) => {
    expect(() => loadConfig({ PERFORMANCE_THRESHOLDS: value })).toThrowError(new ConfigError(`Invalid environment: ${PERFORMANCE_RULE}, got ${JSON.stringify(value)} (${wrong}).`));
  });

  const TRUST_PROXY_RULE = 'TRUST_PROXY must be "true", "false", a hop count, or comma-separated IP addresses and CIDR ranges';
  it.each([
    ['maybe', '"maybe"'],
    ['10.0.0.0/33', '"10.0.0.0/33"'],
    ['10.0.0.0/0', '"10.0.0.0/0"'],
    ['::1/129', '"::1/129"'],
    ['10.0.0.0/255.0.255.0', '"10.0.0.0/255.0.255.0"'],
    ['10.0.0.0/', '"10.0.0.0/"'],
    ['2x', '"2x"'],
    ['true, 10.0.0.1', '"true"'],
    ['10.0.0.1,, 10.0.0.2', '""'],
    ['10.0.0.1, proxy.internal, 300.0.0.1', '"proxy.internal", "300.0.0.1"'],
  ])('refuses TRUST_PROXY=%s with a message that names it, not a stack trace from proxy-addr', (value, wrong) => {
    expect(() => loadConfig({ TRUST_PROXY: value })).toThrowError(
      new ConfigError(`Invalid environment: ${TRUST_PROXY_RULE}, got ${JSON.stringify(value)} (not an address or a range: ${wrong}).`),
    );
  });

  it.each(['true', 'TRUE', 'false', 'False', '0', '2', '10.0.0.1', '10.0.0.0/8, 127.0.0.1', '10.0.0.0/255.0.0.0', '::1/128', 'fe80::1%eth0/64', '::ffff:10.0.0.1', 'loopback, uniquelocal', '192.168.0.0/32'])(
    'accepts TRUST_PROXY=%s, and Fastify builds with it',
    (value) => {
      const config = loadConfig({ TRUST_PROXY: value });
      expect(() => Fastify({ trustProxy: trustProxy(config) })).not.toThrow();
    },
  );

  it.each([
    [{ MEDIUM_RISK_THRESHOLD: '0.7', HIGH_RISK_THRESHOLD: '0.7' }],
    [{ HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '5000' }],
    [{ DRIFT_MIN_ROWS: '500', DRIFT_WINDOW_ROWS: '500' }],
    [{ KEEP_ALIVE_TIMEOUT_MS: '4999', IDLE_TIMEOUT_MS: '5000' }],
    [{ DRIFT_MODERATE_PSI: '0.2', DRIFT_SIGNIFICANT_PSI: '0.21' }],
    [{ REQUEST_TIMEOUT_MS: '9999', SHUTDOWN_TIMEOUT_MS: '10000' }],
    [{ API_KEYS: `${'a'.repeat(16)}, ${'b'.repeat(16)}` }],
  ])('allows the rules between variables at their edge: %j', (env) => {
    expect(() => loadConfig(env)).not.toThrow();
  });

  it.each([
    [{ KEEP_ALIVE_TIMEOUT_MS: '5000', IDLE_TIMEOUT_MS: '5000' }, 'KEEP_ALIVE_TIMEOUT_MS (5000) must be less than IDLE_TIMEOUT_MS (5000)'],
    [{ DRIFT_MIN_ROWS: '501', DRIFT_WINDOW_ROWS: '500' }, 'DRIFT_MIN_ROWS (501) must not exceed DRIFT_WINDOW_ROWS (500)'],
    [{ DRIFT_MODERATE_PSI: '0.25', DRIFT_SIGNIFICANT_PSI: '0.25' }, 'DRIFT_MODERATE_PSI (0.25) must be less than DRIFT_SIGNIFICANT_PSI (0.25)'],
    [{ API_KEYS: `${'a'.repeat(16)},${'b'.repeat(15)}` }, 'every key in API_KEYS must be at least 16 characters'],
  ])('refuses a broken rule between variables: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrowError(new ConfigError(`Invalid environment: ${message}.`));
  });
});

describe('describeVariables', () => {
  it('lists every variable with its default, "unset" for optional ones, and the bundled model by name', () => {
    const variables = describeVariables();
    const byName = Object.fromEntries(variables.map((variable) => [variable.name, variable]));
    expect(variables.map((variable) => variable.name)).toEqual(Object.keys(ConfigSchema.properties));
    expect(byName.PORT).toEqual({ name: 'PORT', default: '8000', description: 'TCP port to listen on.' });
    expect(byName.MICRO_BATCHING).toEqual({ name: 'MICRO_BATCHING', default: 'true', description: 'Coalesce concurrent /predict calls into one model run.' });
    expect(byName.MODEL_PATH!.default).toBe('models/churn_model.onnx (bundled)');
    expect(byName.API_KEYS!.default).toBe('unset');
    expect(byName.ADMIN_TOKEN!.default).toBe('unset');
    expect(variables.every((variable) => variable.description.length > 0)).toBe(true);
  });
});

describe('derived settings', () => {
  it('trustProxy: no proxy when unset or "false", any for "true", a hop count for digits, else the addresses as given', () => {
    expect(trustProxy(loadConfig({}))).toBe(false);
    expect(trustProxy(loadConfig({ TRUST_PROXY: 'false' }))).toBe(false);
    expect(trustProxy(loadConfig({ TRUST_PROXY: 'FALSE' }))).toBe(false);
    expect(trustProxy(loadConfig({ TRUST_PROXY: 'true' }))).toBe(true);
    expect(trustProxy(loadConfig({ TRUST_PROXY: 'TRUE' }))).toBe(true);
    expect(trustProxy(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }))).toBe('10.0.0.0/8, 127.0.0.1');
    const hops = trustProxy(loadConfig({ TRUST_PROXY: '2' })) as (address: string, hop: number) => boolean;
    expect([0, 1, 2, 3].map((hop) => hops('10.0.0.1', hop))).toEqual([true, true, false, false]);
  });

  it('apiKeys: none when unset; trimmed, without empty entries, when set', () => {
    expect(apiKeys(loadConfig({}))).toEqual([]);
    const [a, b] = ['a'.repeat(16), 'b'.repeat(20)];
    expect(apiKeys(loadConfig({ API_KEYS: ` ${a} ,, ${b},` }))).toEqual([a, b]);
  });

  it('corsOrigins: the wildcard alone is "*"; anything else is a trimmed list without empty entries', () => {
    expect(corsOrigins(loadConfig({ CORS_ORIGINS: ' * ' }))).toBe('*');
    expect(corsOrigins(loadConfig({ CORS_ORIGINS: '*,' }))).toBe('*');
    expect(corsOrigins(loadConfig({ CORS_ORIGINS: 'https://a.example,' }))).toEqual(['https://a.example']);
    expect(corsOrigins(loadConfig({ CORS_ORIGINS: '*, https://a.example' }))).toEqual(['*', 'https://a.example']);
  });
});
