import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { ConfigError, describeVariables, readConfig } from './config.js';
import { readModelVersion } from './data-plane/model-card-file.js';
import { runServer } from './server.js';

const { version: SERVICE_VERSION } = createRequire(import.meta.url)('../package.json') as { version: string };
/** The command's one name, in its help, its version line and its usage errors. */
const COMMAND = 'churn-serve';

/** Each flag sets one environment variable; a flag wins over the variable. */
const FLAGS = {
  port: { variable: 'PORT', value: 'number', help: 'TCP port to listen on' },
  host: { variable: 'HOST', value: 'address', help: 'address to bind' },
  model: { variable: 'MODEL_PATH', value: 'path', help: 'the ONNX model file (its model_card.json beside it)' },
  workers: { variable: 'WORKERS', value: 'n|auto', help: 'worker processes sharing the port' },
  'log-level': { variable: 'LOG_LEVEL', value: 'level', help: 'fatal, error, warn, info, debug, trace or silent' },
  'log-format': { variable: 'LOG_FORMAT', value: 'format', help: 'json, pretty, or auto (pretty on a terminal)' },
} as const;
type Flag = keyof typeof FLAGS;

function usage(): string {
  const variables = describeVariables();
  const defaultOf = (name: string) => variables.find((variable) => variable.name === name)?.default ?? 'unset';
  const option = (name: string, help: string) => `  --${name.padEnd(24)} ${help}`;
  const flagLines = (Object.entries(FLAGS) as [Flag, (typeof FLAGS)[Flag]][]).map(([flag, { variable, value, help }]) =>
    option(`${flag} <${value}>`, `${help} (${variable}, default ${defaultOf(variable)})`),
  );
  const width = Math.max(...variables.map((variable) => variable.name.length));
  // The descriptions are Markdown for docs/configuration.md; a terminal shows their code spans plain.
  const plain = (markdown: string) => markdown.replaceAll('`', '');
  const variableLines = variables.map((variable) => `  ${variable.name.padEnd(width)}  default ${variable.default}\n  ${' '.repeat(width)}  ${plain(variable.description)}`);
  return [
    `${COMMAND} ${SERVICE_VERSION}: serves the churn model over HTTP (see README.md).`,
    '',
    `Usage: ${COMMAND} [options]      (npm start -- [options] builds first, then runs it)`,
    '',
    'Options (each sets the environment variable in brackets, and wins over it):',
    ...flagLines,
    option('version', 'print the service and model versions, then exit'),
    option('help', 'print this help, then exit'),
    '',
    'Environment variables:',
    ...variableLines,
    '',
    'Stop the server with Ctrl-C or SIGTERM: it drains and exits 0. SIGHUP reloads the model.',
  ].join('\n');
}

let parsed: ReturnType<typeof parseArgs<{ options: Record<Flag | 'help' | 'version', { type: 'string' | 'boolean' }> }>>;
try {
  parsed = parseArgs({
    options: {
      ...(Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' }])) as Record<Flag, { type: 'string' }>),
      help: { type: 'boolean' },
      version: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
} catch (error) {
  usageError((error as Error).message);
}

/** A command-line mistake: one line naming it, and exit code 2, as command-line tools do. */
function usageError(message: string): never {
  process.stderr.write(`${COMMAND}: ${message}\nRun ${COMMAND} --help for the options.\n`);
  process.exit(2);
}

const overrides: Record<string, string> = {};
for (const [flag, { variable }] of Object.entries(FLAGS)) {
  const value = parsed.values[flag as Flag];
  if (typeof value !== 'string') continue;
  // Each flag is checked by its variable's own rule, alone, so the error names the flag.
  try {
    readConfig({}, { [variable]: value });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    usageError(`--${flag} ${JSON.stringify(value)} is not valid: ${error.message.replace(/^Invalid environment: /, '').replace(/\.$/, '')}.`);
  }
  overrides[variable] = value;
}

if (parsed.values.help) {
  process.stdout.write(`${usage()}\n`);
} else if (parsed.values.version) {
  let modelLine: string;
  try {
    const { MODEL_PATH } = readConfig(undefined, overrides).config;
    modelLine = existsSync(MODEL_PATH) ? `model ${await readModelVersion(MODEL_PATH)} (${MODEL_PATH})` : `model not found at ${MODEL_PATH}`;
  } catch (error) {
    modelLine = `model unknown: ${(error as Error).message}`;
  }
  process.stdout.write(`${COMMAND} ${SERVICE_VERSION}\n${modelLine}\n`);
} else {
  await runServer(overrides);
}
