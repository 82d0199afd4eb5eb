import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The prediction log is on by default and writes DATA_DIR (default ./data): a test that builds the
 * app or starts the server must give it a data directory of its own or switch the log off, or it
 * writes ./data in the repository. test/helpers.ts (buildTestApp) and test/e2e/server-process.ts
 * (startServer) do that for every test that goes through them; this finds the ones that do not.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HELPERS = new Set(['test/helpers.ts', 'test/e2e/server-process.ts', 'test/structure/test-data-dirs.test.ts']);

function testSources(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return testSources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Statements that build the app or spawn a server with an explicit environment, without saying where its log goes. */
export function unplacedLogs(file: string, source: string): string[] {
  // A call up to the end of its statement.
  const calls = [...source.matchAll(/buildApp\(\{[^;]*|spawn\([^;]*/g)].map((match) => match[0]).filter((call) => call.startsWith('buildApp') || call.includes('PORT'));
  return calls.filter((call) => !/PREDICTION_LOG|DATA_DIR/.test(call)).map((call) => `${file}: ${call.replace(/\s+/g, ' ').slice(0, 100)}`);
}

describe('tests never write ./data in the repository', () => {
  it('every app a test builds, and every server it spawns, gets a DATA_DIR or PREDICTION_LOG=false', () => {
    const problems = testSources(join(ROOT, 'test'))
      .map((path) => relative(ROOT, path))
      .filter((file) => !HELPERS.has(file))
      .flatMap((file) => unplacedLogs(file, readFileSync(join(ROOT, file), 'utf8')));
    expect(problems).toEqual([]);
  });

  it('catches an app built with the default DATA_DIR (negative case)', () => {
    expect(unplacedLogs('x.test.ts', "app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent' }) });")).toHaveLength(1);
    expect(unplacedLogs('x.test.ts', "spawn(command, args, { env: { PORT: String(port) } });")).toHaveLength(1);
    expect(unplacedLogs('x.test.ts', "buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', PREDICTION_LOG: 'false' }) });")).toEqual([]);
  });
});
