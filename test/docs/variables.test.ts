import { readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, RENAMED } from '../../src/config.js';
import { ROOT, sourceConstants, userDocs, variableNames } from './markdown-checks.js';

/**
 * Environment variables the docs may name that the service itself does not read: Node's own,
 * OpenTelemetry's (the few the service does not read, named to say so), reproducible builds', and the Dockerfile's
 * build argument.
 */
const NOT_CONFIG = new Set(['NODE_ENV', 'NODE_COMPILE_CACHE', 'SOURCE_DATE_EPOCH', 'NODE_IMAGE', 'NODE_OPTIONS']);
// OTEL_: the OpenTelemetry SDK's own; BENCH_: the benchmark's (bench/README.md), never the service's.
const NOT_CONFIG_PREFIXES = ['OTEL_', 'BENCH_'];

const CONFIG_NAMES = new Set([...Object.keys(ConfigSchema.properties), ...Object.keys(RENAMED)]);
const isKnown = (name: string) => CONFIG_NAMES.has(name) || NOT_CONFIG.has(name) || NOT_CONFIG_PREFIXES.some((prefix) => name.startsWith(prefix));

/** The names a page writes as variables that are none: design notes may also name the code's constants. */
function unknownVariables(file: string, markdown: string, constants: ReadonlySet<string>): string[] {
  const isDesignNote = file.startsWith(`docs${sep}design${sep}`);
  return variableNames(markdown)
    .filter((name) => !isKnown(name) && !(isDesignNote && constants.has(name)))
    .map((name) => `${file}: ${name}`);
}

describe('environment variables in the documentation', () => {
  const constants = sourceConstants();

  it.each(userDocs())('%s names only variables the service reads (or a few known others)', (file) => {
    expect(unknownVariables(file, readFileSync(join(ROOT, file), 'utf8'), constants)).toEqual([]);
  });

  it('docs/configuration.md names every variable of the config schema', () => {
    const page = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
    expect(Object.keys(ConfigSchema.properties).filter((name) => !page.includes(`\`${name}\``))).toEqual([]);
  });
});

describe('the variable check itself', () => {
  const page = [
    'Set `PORT=8080` or `WORKERS=auto`, `DRIFT_WINDOW_ROWS`, `BATCH_MAX_DELAY_MS`, `OTEL_EXPORTER_OTLP_ENDPOINT`.',
    'A typo: `DRIFT_WINDOW_SIZE`; `cluster.SCHED_NONE` is a property; `MAX_TABLE_SPLITS` a constant.',
    '```sh',
    'PROT=1 npm start',
    'curl -H "authorization: Bearer $ADMIN_TOKN"',
    '```',
    'Outside code DRIFT_NOTHING is prose, and `GET` or `SIGTERM` are no variables.',
  ].join('\n');

  it('finds names in code spans and code blocks, assigned or expanded, and not properties or prose', () => {
    expect(variableNames(page).sort()).toEqual(
      ['ADMIN_TOKN', 'BATCH_MAX_DELAY_MS', 'DRIFT_WINDOW_ROWS', 'DRIFT_WINDOW_SIZE', 'MAX_TABLE_SPLITS', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'PORT', 'PROT', 'WORKERS'].sort(),
    );
  });

  it('reports what is no variable, and lets design notes name the code\'s constants', () => {
    const constants = new Set(['MAX_TABLE_SPLITS']);
    expect(unknownVariables(join('docs', 'api.md'), page, constants)).toEqual(['docs/api.md: DRIFT_WINDOW_SIZE', 'docs/api.md: MAX_TABLE_SPLITS', 'docs/api.md: ADMIN_TOKN', 'docs/api.md: PROT']);
    expect(unknownVariables(join('docs', 'design', 'x.md'), page, constants)).toEqual(['docs/design/x.md: DRIFT_WINDOW_SIZE', 'docs/design/x.md: ADMIN_TOKN', 'docs/design/x.md: PROT']);
  });
});
